"""Settings from the environment, checked once at start with messages that name the variable at fault."""

from __future__ import annotations

import ipaddress
import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flight_assets.opensky.credits import MIN_INTERVAL_S, TIERS, BBox, parse_bbox

DEFAULT_API_URL = "https://opensky-network.org/api"
# OpenSky's Keycloak token path; fake-opensky serves the same path, so a base URL is all a test needs to change.
TOKEN_PATH = "/auth/realms/opensky-network/protocol/openid-connect/token"
DEFAULT_TOKEN_URL = f"https://auth.opensky-network.org{TOKEN_PATH}"
DEFAULT_LAKE = ".lake"
# Where a poll keeps a paid-for body that storage would not take, until a later poll lands it: a local folder, as
# `.lake` is by default (the Lambda uses /tmp, the only place it may write).
DEFAULT_SPOOL_DIR = ".spool"


class ConfigError(ValueError):
    """A setting is invalid; the message names the environment variable and what it accepts."""


@dataclass(frozen=True)
class Settings:
    lake: str = DEFAULT_LAKE
    api_url: str = DEFAULT_API_URL
    token_url: str = DEFAULT_TOKEN_URL
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)  # never printed
    tier: str = "anonymous"
    bbox: BBox | None = None
    extended: bool = False
    aws_endpoint_url: str | None = None
    spool_dir: str = DEFAULT_SPOOL_DIR

    @property
    def has_credentials(self) -> bool:
        return bool(self.client_id and self.client_secret)


def _url(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name, "").strip() or default
    if not value.startswith(("http://", "https://")):
        raise ConfigError(f"{name}={value!r} is not an http(s) URL")
    return value.rstrip("/")


# S3's rule for general purpose bucket names
# (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html), checked here so that a typo fails
# at start with the rule instead of as botocore's regex (or a 404) on the first request.
S3_BUCKET_RULE = (
    "3 to 63 characters: lowercase letters, digits, dots and hyphens, beginning and ending with a letter or digit, "
    "no two adjacent dots, not an IP address, no reserved prefix (xn--, sthree-) or suffix (-s3alias, --ol-s3)"
)
_S3_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_S3_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_S3_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def _is_ip_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _check_s3_lake(lake: str) -> None:
    bucket = lake[len("s3://") :].split("/", 1)[0]
    if not bucket:
        raise ConfigError(f"FLIGHT_LAKE={lake!r} names no bucket; use s3://bucket or s3://bucket/prefix")
    if (
        not _S3_BUCKET.fullmatch(bucket)
        or ".." in bucket
        or _is_ip_address(bucket)
        or bucket.startswith(_S3_RESERVED_PREFIXES)
        or bucket.endswith(_S3_RESERVED_SUFFIXES)
    ):
        raise ConfigError(f"FLIGHT_LAKE={lake!r}: {bucket!r} is not a valid S3 bucket name ({S3_BUCKET_RULE})")


def _check_local_lake(lake: str) -> None:
    """The lake folder exists, or could be made: no file in the way and the nearest existing folder is writable.

    Checked at start because otherwise the first write fails deep in a mkdir, as a traceback. A lake folder that
    exists but is read-only is fine here: queries only read it (writes then fail with a sentence from lake.py).
    """
    root = Path(lake).expanduser()
    if root.exists():
        if not root.is_dir():
            raise ConfigError(f"FLIGHT_LAKE={lake!r} is a file, not a folder; point it at a folder for the lake")
        return
    ancestor = root.absolute().parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ConfigError(f"FLIGHT_LAKE={lake!r} cannot be a folder: {ancestor} is a file")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise ConfigError(f"FLIGHT_LAKE={lake!r} does not exist and cannot be created: {ancestor} is not writable")


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read and check every setting; raise ConfigError naming the variable on the first bad one."""
    env = os.environ if env is None else env
    lake = env.get("FLIGHT_LAKE", "").strip() or DEFAULT_LAKE
    if lake.startswith("s3://"):
        _check_s3_lake(lake)
    elif "://" in lake:
        raise ConfigError(f"FLIGHT_LAKE={lake!r}: use a local folder or s3://bucket/prefix")
    else:
        _check_local_lake(lake)

    client_id = env.get("OPENSKY_CLIENT_ID", "").strip() or None
    client_secret = env.get("OPENSKY_CLIENT_SECRET", "").strip() or None
    if bool(client_id) != bool(client_secret):
        missing = "OPENSKY_CLIENT_SECRET" if client_id else "OPENSKY_CLIENT_ID"
        raise ConfigError(f"{missing} is not set: OAuth2 needs both OPENSKY_CLIENT_ID and OPENSKY_CLIENT_SECRET")

    tier = env.get("OPENSKY_TIER", "").strip().lower() or ("standard" if client_id else "anonymous")
    if tier not in TIERS:
        raise ConfigError(f"OPENSKY_TIER={tier!r} is not one of {', '.join(TIERS)}")
    # With OPENSKY_SECRET_ARN the credentials are read from Secrets Manager when a poll needs them
    # (flight_assets.opensky.secret), not here: settings for the lake, cadence and sensors load without them.
    if tier != "anonymous" and not client_id and not env.get("OPENSKY_SECRET_ARN", "").strip():
        raise ConfigError(
            f"OPENSKY_TIER={tier} needs OPENSKY_CLIENT_ID and OPENSKY_CLIENT_SECRET (anonymous calls get 400 credits)"
        )

    bbox_text = env.get("OPENSKY_BBOX", "").strip()
    try:
        bbox = parse_bbox(bbox_text) if bbox_text else None
    except ValueError as exc:
        raise ConfigError(f"OPENSKY_BBOX: {exc}") from None

    extended_text = env.get("OPENSKY_EXTENDED", "").strip().lower()
    if extended_text not in ("", "0", "1", "true", "false", "yes", "no"):
        raise ConfigError(f"OPENSKY_EXTENDED={extended_text!r}: use 1 or 0")

    endpoint = env.get("AWS_ENDPOINT_URL", "").strip() or None
    if endpoint and not endpoint.startswith(("http://", "https://")):
        raise ConfigError(f"AWS_ENDPOINT_URL={endpoint!r} is not an http(s) URL")

    spool_dir = env.get("FLIGHT_SPOOL_DIR", "").strip() or DEFAULT_SPOOL_DIR
    if "://" in spool_dir:
        raise ConfigError(f"FLIGHT_SPOOL_DIR={spool_dir!r}: the spool is a local folder (it must work while the lake "
                          "does not)")

    return Settings(
        lake=lake,
        api_url=_url(env, "OPENSKY_API_URL", DEFAULT_API_URL),
        token_url=_url(env, "OPENSKY_TOKEN_URL", DEFAULT_TOKEN_URL),
        client_id=client_id,
        client_secret=client_secret,
        tier=tier,
        bbox=bbox,
        extended=extended_text in ("1", "true", "yes"),
        aws_endpoint_url=endpoint,
        spool_dir=spool_dir,
    )


def switch(env: Mapping[str, str] | None, name: str) -> bool | None:
    """An on/off setting such as FLIGHT_REPAIR_SENSOR: True, False, or None when unset (the caller's default);
    anything else is a ConfigError naming it."""
    env = os.environ if env is None else env
    choice = env.get(name, "").strip().lower()
    if choice in ("on", "1", "true", "yes"):
        return True
    if choice in ("off", "0", "false", "no"):
        return False
    if choice:
        raise ConfigError(f"{name}={choice!r}: use on or off")
    return None


# Unset, the first partition is the start of the UTC day a week ago: a fresh install shows the last 7 days (168-192
# hours), not thousands of empty ones. A deployment sets FLIGHT_PARTITIONS_START to its first day of data (the
# Terraform does, from `partitions_start`) so that history stays visible as the weeks go by.
DEFAULT_PARTITIONS_DAYS = 7


def partitions_start(env: Mapping[str, str] | None = None, now: datetime | None = None) -> str:
    """First hourly partition, `FLIGHT_PARTITIONS_START` (YYYY-MM-DD or YYYY-MM-DD-HH:MM), as Dagster's key format."""
    env = os.environ if env is None else env
    start = env.get("FLIGHT_PARTITIONS_START", "").strip()
    if not start:
        day = (now or datetime.now(UTC)) - timedelta(days=DEFAULT_PARTITIONS_DAYS)
        return f"{day:%Y-%m-%d}-00:00"
    start = f"{start}-00:00" if len(start) == len("YYYY-MM-DD") else start
    try:
        datetime.strptime(start, "%Y-%m-%d-%H:%M")
    except ValueError:
        raise ConfigError(f"FLIGHT_PARTITIONS_START={start!r}: use YYYY-MM-DD or YYYY-MM-DD-HH:MM") from None
    return start


def partitions_start_time(env: Mapping[str, str] | None = None) -> int:
    """The first partition's start as a Unix time."""
    return int(datetime.strptime(partitions_start(env), "%Y-%m-%d-%H:%M").replace(tzinfo=UTC).timestamp())


# --------------------------------------------------------------------------------------------------------------
# The ingestion Lambda: its own two settings and the OpenSky credentials it reads from Secrets Manager

DEFAULT_POLLS_PER_INVOCATION = 2
DEFAULT_POLL_SPACING_S = float(MIN_INTERVAL_S)  # EventBridge fires at most once a minute: 2 polls 30 s apart give a 30-s cadence
OPENSKY_SECRET_KEYS = ("client_id", "client_secret")


@dataclass(frozen=True)
class LambdaSettings:
    polls_per_invocation: int = DEFAULT_POLLS_PER_INVOCATION
    poll_spacing_s: float = DEFAULT_POLL_SPACING_S


def _positive_int(name: str, value: object) -> int:
    text = str(value).strip()
    if not text.lstrip("+").isdigit() or int(text) < 1:
        raise ConfigError(f"{name}={text!r} is not a whole number of at least 1")
    return int(text)


def _positive_seconds(name: str, value: object) -> float:
    text = str(value).strip()
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds <= 0:
        raise ConfigError(f"{name}={text!r} is not a number of seconds above 0")
    return seconds


def load_lambda_settings(
    env: Mapping[str, str] | None = None, overrides: Mapping[str, object] | None = None
) -> LambdaSettings:
    """POLLS_PER_INVOCATION and POLL_SPACING_S, or the invocation event's `polls_per_invocation`/`poll_spacing_s`
    (a manual test invoke); ConfigError naming the variable or event field on a bad value."""
    env = os.environ if env is None else env
    overrides = overrides or {}
    values: dict[str, tuple[str, object]] = {}
    for field_name, variable, default in (
        ("polls_per_invocation", "POLLS_PER_INVOCATION", DEFAULT_POLLS_PER_INVOCATION),
        ("poll_spacing_s", "POLL_SPACING_S", DEFAULT_POLL_SPACING_S),
    ):
        if field_name in overrides:
            values[field_name] = (f"event field {field_name}", overrides[field_name])
        else:
            values[field_name] = (variable, env.get(variable, "").strip() or default)
    return LambdaSettings(
        polls_per_invocation=_positive_int(*values["polls_per_invocation"]),
        poll_spacing_s=_positive_seconds(*values["poll_spacing_s"]),
    )


def credentials_from_secret(secret_string: str | None, arn: str) -> dict[str, str]:
    """OPENSKY_CLIENT_ID/OPENSKY_CLIENT_SECRET from the Secrets Manager secret's SecretString.

    The secret must be a JSON object with string `client_id` and `client_secret`. Errors name the secret (its ARN,
    OPENSKY_SECRET_ARN) and what is wrong with its shape, never any part of its value.
    """
    where = f"the secret OPENSKY_SECRET_ARN={arn}"
    shape = '{"client_id": "…", "client_secret": "…"}'
    if secret_string is None:
        raise ConfigError(f"{where} has no SecretString (binary secrets are not read); store {shape}")
    try:
        doc = json.loads(secret_string)
    except ValueError:
        raise ConfigError(f"{where} is not JSON; store {shape}") from None  # the decoder error carries the value
    if not isinstance(doc, dict):
        raise ConfigError(f"{where} is a JSON {type(doc).__name__}, not an object; store {shape}")
    missing = [key for key in OPENSKY_SECRET_KEYS if key not in doc]
    if missing:
        raise ConfigError(f"{where} has no {' or '.join(missing)} key; store {shape}")
    for key in OPENSKY_SECRET_KEYS:
        if not isinstance(doc[key], str) or not doc[key].strip():
            raise ConfigError(f"{where}: {key} must be a non-empty string; store {shape}")
    return {"OPENSKY_CLIENT_ID": doc["client_id"], "OPENSKY_CLIENT_SECRET": doc["client_secret"]}


# -------------------------------------------------------------------------------------------- operations settings
DEFAULT_UI_URL = "http://127.0.0.1:3000"
DEFAULT_AWS_REGION = "us-east-1"


def poll_sensor_enabled(env: Mapping[str, str] | None = None) -> bool:
    """FLIGHT_POLL_SENSOR=on|off; unset, on for a local lake and off for S3 (on AWS the Lambda polls, and a second
    poller would spend the same credits twice)."""
    env = os.environ if env is None else env
    choice = switch(env, "FLIGHT_POLL_SENSOR")
    return not env.get("FLIGHT_LAKE", "").strip().startswith("s3://") if choice is None else choice


def ui_url(env: Mapping[str, str] | None = None) -> str:
    """FLIGHT_UI_URL: where alerts link a failed run to (the Dagster UI's address as operators reach it)."""
    return _url(os.environ if env is None else env, "FLIGHT_UI_URL", DEFAULT_UI_URL)


def alerts_topic_arn(env: Mapping[str, str] | None = None) -> str | None:
    """FLIGHT_ALERTS_TOPIC_ARN: the SNS topic failed runs are published to; unset, alerts are log lines."""
    env = os.environ if env is None else env
    arn = env.get("FLIGHT_ALERTS_TOPIC_ARN", "").strip()
    if arn and not arn.startswith("arn:aws:sns:"):
        raise ConfigError(f"FLIGHT_ALERTS_TOPIC_ARN={arn!r} is not an SNS topic ARN (arn:aws:sns:…)")
    return arn or None


def aws_region(env: Mapping[str, str] | None = None) -> str:
    """AWS_REGION, else AWS_DEFAULT_REGION, else us-east-1: pyarrow's S3 filesystem needs it spelled out."""
    env = os.environ if env is None else env
    return env.get("AWS_REGION", "").strip() or env.get("AWS_DEFAULT_REGION", "").strip() or DEFAULT_AWS_REGION
