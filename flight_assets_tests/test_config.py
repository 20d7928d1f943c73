from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from flight_assets.config import S3_BUCKET_RULE, ConfigError, load_settings, partitions_start


def test_defaults() -> None:
    settings = load_settings({})
    assert settings.lake == ".lake" and settings.tier == "anonymous" and settings.bbox is None
    assert settings.api_url == "https://opensky-network.org/api" and settings.spool_dir == ".spool"


def test_credentials_imply_standard_tier_and_stay_out_of_repr() -> None:
    settings = load_settings({"OPENSKY_CLIENT_ID": "me", "OPENSKY_CLIENT_SECRET": "s3cr3t-value"})
    assert settings.tier == "standard" and settings.has_credentials
    assert "s3cr3t-value" not in repr(settings)


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"OPENSKY_TIER": "gold"}, "OPENSKY_TIER"),
        ({"OPENSKY_TIER": "standard"}, "OPENSKY_TIER"),
        ({"OPENSKY_BBOX": "1,2,3"}, "OPENSKY_BBOX"),
        ({"OPENSKY_CLIENT_ID": "me"}, "OPENSKY_CLIENT_SECRET"),
        ({"OPENSKY_API_URL": "ftp://x"}, "OPENSKY_API_URL"),
        ({"FLIGHT_LAKE": "gs://bucket"}, "FLIGHT_LAKE"),
        ({"AWS_ENDPOINT_URL": "localhost:5000"}, "AWS_ENDPOINT_URL"),
        ({"FLIGHT_PARTITIONS_START": "yesterday"}, "FLIGHT_PARTITIONS_START"),
        ({"FLIGHT_SPOOL_DIR": "s3://bucket/spool"}, "FLIGHT_SPOOL_DIR"),
    ],
)
def test_invalid_values_name_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        load_settings(env)
        partitions_start(env)


def test_cli_rejects_bad_config_without_traceback(tmp_path: object) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "flight_assets.cli", "ingest", "--once"],
        env={"PATH": "/usr/bin:/bin", "OPENSKY_TIER": "gold", "FLIGHT_LAKE": str(tmp_path)},
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert "OPENSKY_TIER='gold' is not one of anonymous, standard, feeder, licensed" in result.stderr
    assert "Traceback" not in result.stderr


def test_partitions_start_defaults_to_a_week_ago_not_thousands_of_hours() -> None:
    from datetime import UTC, datetime

    assert partitions_start({}, now=datetime(2026, 12, 4, 13, 5, tzinfo=UTC)) == "2026-11-27-00:00"
    assert partitions_start({"FLIGHT_PARTITIONS_START": "2025-08-30"}) == "2025-08-30-00:00"

def test_a_lake_folder_that_cannot_be_created_names_flight_lake(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Root can write anywhere, so an unwritable parent folder is simulated where the check asks the OS.
    from flight_assets import config

    monkeypatch.setattr(config.os, "access", lambda path, mode: Path(path) != tmp_path)
    with pytest.raises(ConfigError) as caught:
        load_settings({"FLIGHT_LAKE": str(tmp_path / "new" / "lake")})
    assert str(caught.value) == (
        f"FLIGHT_LAKE='{tmp_path / 'new' / 'lake'}' does not exist and cannot be created: {tmp_path} is not writable"
    )
    assert load_settings({"FLIGHT_LAKE": str(tmp_path)}).lake == str(tmp_path)  # exists: read-only use is fine


@pytest.mark.parametrize(
    ("lake", "bucket"),
    [("s3://bucket with space", "bucket with space"), ("s3://Bad_Bucket/lake", "Bad_Bucket"), ("s3://ab", "ab"),
     ("s3://a..b", "a..b"), ("s3://10.0.0.1/x", "10.0.0.1"), ("s3://-bucket", "-bucket"),
     ("s3://" + "b" * 64, "b" * 64), ("s3://xn--bucket", "xn--bucket"), ("s3://my-s3alias", "my-s3alias")],
)
def test_s3_lake_bucket_names_follow_s3s_rule(lake: str, bucket: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"FLIGHT_LAKE": lake})
    assert str(caught.value) == f"FLIGHT_LAKE={lake!r}: {bucket!r} is not a valid S3 bucket name ({S3_BUCKET_RULE})"
    with pytest.raises(ConfigError, match=r"^FLIGHT_LAKE='s3:///prefix' names no bucket"):
        load_settings({"FLIGHT_LAKE": "s3:///prefix"})
    for good in ("s3://my.lake-2025", "s3://lake-0123456789ab/a prefix/with space", "s3://" + "b" * 63):
        assert load_settings({"FLIGHT_LAKE": good}).lake == good


def test_operations_settings_are_read_and_checked_here() -> None:
    from flight_assets.config import alerts_topic_arn, aws_region, poll_sensor_enabled, ui_url

    assert poll_sensor_enabled({}) and not poll_sensor_enabled({"FLIGHT_LAKE": "s3://bucket/lake"})
    assert poll_sensor_enabled({"FLIGHT_LAKE": "s3://b/l", "FLIGHT_POLL_SENSOR": "on"})
    assert not poll_sensor_enabled({"FLIGHT_POLL_SENSOR": "off"})
    with pytest.raises(ConfigError, match="FLIGHT_POLL_SENSOR='maybe': use on or off"):
        poll_sensor_enabled({"FLIGHT_POLL_SENSOR": "maybe"})
    assert ui_url({}) == "http://127.0.0.1:3000" and ui_url({"FLIGHT_UI_URL": "https://ui.example/"}) == "https://ui.example"
    with pytest.raises(ConfigError, match="FLIGHT_UI_URL"):
        ui_url({"FLIGHT_UI_URL": "ui.example"})
    assert alerts_topic_arn({}) is None
    with pytest.raises(ConfigError, match="FLIGHT_ALERTS_TOPIC_ARN='alerts' is not an SNS topic ARN"):
        alerts_topic_arn({"FLIGHT_ALERTS_TOPIC_ARN": "alerts"})
    assert aws_region({"AWS_DEFAULT_REGION": "eu-west-1"}) == "eu-west-1"
    assert aws_region({"AWS_REGION": "eu-central-1", "AWS_DEFAULT_REGION": "eu-west-1"}) == "eu-central-1"
