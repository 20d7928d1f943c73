"""Settings from the environment, checked once at start with messages that name the variable at fault."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from flight_assets.credits import TIERS, BBox, parse_bbox

DEFAULT_API_URL = "https://opensky-network.org/api"
DEFAULT_TOKEN_URL = "https://auth.opensky-network.org/auth/realms/opensky-network/protocol/openid-connect/token"
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


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read and check every setting; raise ConfigError naming the variable on the first bad one."""
    env = os.environ if env is None else env
    lake = env.get("FLIGHT_LAKE", "").strip() or DEFAULT_LAKE
    if lake.startswith("s3://") and len(lake) <= len("s3://"):
        raise ConfigError("FLIGHT_LAKE='s3://' names no bucket; use s3://bucket or s3://bucket/prefix")
    if "://" in lake and not lake.startswith("s3://"):
        raise ConfigError(f"FLIGHT_LAKE={lake!r}: use a local folder or s3://bucket/prefix")

    client_id = env.get("OPENSKY_CLIENT_ID", "").strip() or None
    client_secret = env.get("OPENSKY_CLIENT_SECRET", "").strip() or None
    if bool(client_id) != bool(client_secret):
        missing = "OPENSKY_CLIENT_SECRET" if client_id else "OPENSKY_CLIENT_ID"
        raise ConfigError(f"{missing} is not set: OAuth2 needs both OPENSKY_CLIENT_ID and OPENSKY_CLIENT_SECRET")

    tier = env.get("OPENSKY_TIER", "").strip().lower() or ("standard" if client_id else "anonymous")
    if tier not in TIERS:
        raise ConfigError(f"OPENSKY_TIER={tier!r} is not one of {', '.join(TIERS)}")
    if tier != "anonymous" and not client_id:
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


DEFAULT_PARTITIONS_START = "2025-01-01"


def partitions_start(env: Mapping[str, str] | None = None) -> str:
    """First hourly partition, `FLIGHT_PARTITIONS_START` (YYYY-MM-DD or YYYY-MM-DD-HH:MM), as Dagster's key format."""
    env = os.environ if env is None else env
    start = env.get("FLIGHT_PARTITIONS_START", "").strip() or DEFAULT_PARTITIONS_START
    start = f"{start}-00:00" if len(start) == len("YYYY-MM-DD") else start
    try:
        datetime.strptime(start, "%Y-%m-%d-%H:%M")
    except ValueError:
        raise ConfigError(f"FLIGHT_PARTITIONS_START={start!r}: use YYYY-MM-DD or YYYY-MM-DD-HH:MM") from None
    return start


def partitions_start_time(env: Mapping[str, str] | None = None) -> int:
    """The first partition's start as a Unix time."""
    return int(datetime.strptime(partitions_start(env), "%Y-%m-%d-%H:%M").replace(tzinfo=UTC).timestamp())
