from __future__ import annotations

import subprocess
import sys

import pytest

from flight_assets.config import ConfigError, load_settings, partitions_start


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
