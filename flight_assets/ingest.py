"""One poll of OpenSky into the raw lake: the single ingest path used by the Lambda, Dagster and the CLI.

No Dagster and no pyarrow here (the Lambda imports this). Steps: claim the poll from the credit governor, fetch,
check the body, gzip it, land it once under the key of its own `time`.
"""

from __future__ import annotations

import contextlib
import gzip
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from flight_assets.config import Settings
from flight_assets.credit_budget import CreditGovernor
from flight_assets.lake import Lake, LakeError, open_lake
from flight_assets.layout import partition_key_for_time, raw_key
from flight_assets.opensky import FetchedSnapshot, OpenSkyClient, OpenSkyError, RateLimited
from flight_assets.recorded import iter_recorded_bodies
from flight_assets.snapshot import ParsedSnapshot, SnapshotError, parse_snapshot

# gzip level 5: within 3 % of level 6's size at 60 % of its time on a 1.5 MB global body (25 ms vs 42 ms).
RAW_GZIP_LEVEL = 5


@dataclass(frozen=True)
class LandResult:
    key: str
    created: bool  # False: the identical body was already in the lake (idempotent landing)
    snapshot_time: int
    partition_key: str
    states: int
    body_bytes: int
    stored_bytes: int
    compress_s: float
    put_s: float


@dataclass
class IngestResult:
    status: str  # landed | duplicate | skipped | rate_limited | error
    message: str
    key: str | None = None
    partition_key: str | None = None
    snapshot_time: int | None = None
    states: int | None = None
    stored_bytes: int | None = None
    credits_remaining: int | None = None
    skip_reason: str | None = None
    timings_s: dict[str, float] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.status == "error"

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def compress_body(body: bytes) -> bytes:
    # mtime=0: the same body always compresses to the same bytes, so re-landing is byte-identical.
    return gzip.compress(body, compresslevel=RAW_GZIP_LEVEL, mtime=0)


def land_snapshot(lake: Lake, body: bytes, parsed: ParsedSnapshot, metadata: dict[str, str]) -> LandResult:
    """Land a checked body once under `raw/…/<time>_<sha8>.json.gz` (the same body twice is one object)."""
    started = time.perf_counter()
    data = compress_body(body)
    compressed = time.perf_counter()
    key = raw_key(parsed.time, parsed.sha8)
    meta = {
        "snapshot-time": str(parsed.time),
        "states": str(parsed.states),
        "time-source": parsed.time_source,
        "body-bytes": str(len(body)),
        **metadata,
    }
    created = lake.put_if_absent(key, data, meta)
    return LandResult(
        key=key,
        created=created,
        snapshot_time=parsed.time,
        partition_key=partition_key_for_time(parsed.time),
        states=parsed.states,
        body_bytes=len(body),
        stored_bytes=len(data),
        compress_s=compressed - started,
        put_s=time.perf_counter() - compressed,
    )


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat(timespec="milliseconds")


def fetched_metadata(fetched: FetchedSnapshot, writer: str) -> dict[str, str]:
    """The object metadata of a snapshot fetched from OpenSky (never a secret: credentials travel in a header)."""
    metadata = {
        "fetched-at": _iso(fetched.fetched_at),
        "http-status": str(fetched.status),
        "source-url": fetched.url,
        "writer": writer,
    }
    if fetched.credits_remaining is not None:
        metadata["credits-remaining"] = str(fetched.credits_remaining)
    return metadata


class Ingester:
    """Settings, lake, client and governor built once, so a warm Lambda or a polling loop reuses connections."""

    def __init__(
        self, settings: Settings, *, lake: Lake | None = None, client: OpenSkyClient | None = None, writer: str = "cli"
    ) -> None:
        self.settings = settings
        self.lake = lake or open_lake(settings.lake, settings.aws_endpoint_url)
        self.client = client or OpenSkyClient.from_settings(settings)
        self.governor = CreditGovernor(self.lake, settings.tier, settings.bbox)
        self.writer = writer

    def poll(self, now: float | None = None) -> IngestResult:
        """One governed poll. Never raises for expected failures: the result says what happened."""
        started = time.perf_counter()
        try:
            decision = self.governor.claim(now)
        except LakeError as exc:
            return IngestResult("error", f"could not read the credit budget from the lake: {exc}")
        claimed = time.perf_counter()
        if not decision.allowed:
            return IngestResult(
                "rate_limited" if decision.reason == "rate_limited" else "skipped",
                decision.message,
                skip_reason=decision.reason,
                credits_remaining=decision.estimated_remaining,
                timings_s={"governor": claimed - started},
            )
        try:
            fetched = self.client.fetch_states(self.settings.bbox, self.settings.extended)
        except RateLimited as exc:
            self.governor.record_rate_limited(exc.resume_at, exc.remaining)
            return IngestResult(
                "rate_limited", str(exc), skip_reason="rate_limited", credits_remaining=exc.remaining,
                timings_s={"governor": claimed - started, "fetch": time.perf_counter() - claimed},
            )
        except OpenSkyError as exc:
            self._record(self.client.last_credits_remaining, getattr(exc, "status", None))
            return IngestResult("error", str(exc), timings_s={"fetch": time.perf_counter() - claimed})
        return self._land_fetched(fetched, claimed - started)

    def _record(self, credits_remaining: int | None, status: int | None) -> None:
        # The balance is refreshed by the next response; losing one update costs nothing.
        with contextlib.suppress(LakeError):
            self.governor.record_response(credits_remaining, status)

    def _land_fetched(self, fetched: FetchedSnapshot, governor_s: float) -> IngestResult:
        metadata = fetched_metadata(fetched, self.writer)
        timings = {"governor": governor_s, "fetch": fetched.fetch_s, "parse": fetched.parse_s}
        try:
            landed = land_snapshot(self.lake, fetched.body, fetched.parsed, metadata)
        except LakeError as exc:
            self._record(fetched.credits_remaining, fetched.status)
            return IngestResult(
                "error",
                f"fetched a snapshot of {fetched.parsed.states:,} states but could not land it (nothing was "
                f"written; the next poll retries): {exc}",
                snapshot_time=fetched.parsed.time,
                states=fetched.parsed.states,
                credits_remaining=fetched.credits_remaining,
                timings_s=timings,
            )
        self._record(fetched.credits_remaining, fetched.status)
        timings.update(compress=landed.compress_s, put=landed.put_s)
        return IngestResult(
            "landed" if landed.created else "duplicate",
            f"{'landed' if landed.created else 'already had'} {landed.states:,} states at {landed.key}",
            key=landed.key,
            partition_key=landed.partition_key,
            snapshot_time=landed.snapshot_time,
            states=landed.states,
            stored_bytes=landed.stored_bytes,
            credits_remaining=fetched.credits_remaining,
            timings_s=timings,
        )


@dataclass
class LandedFile:
    name: str
    result: LandResult | None
    error: str | None = None


def land_recorded(lake: Lake, paths: list[str | Path]) -> Iterator[LandedFile]:
    """Land recorded responses (files, folders, zips) through the same landing code as live polls.

    A file that is not a usable response is reported with the reason and skipped; the others still land.
    Bare arrays of rows are dated by max(last_contact), as the API dates its own bodies.
    """
    for name, body in iter_recorded_bodies(paths):
        try:
            parsed = parse_snapshot(body, allow_bare_array=True)
        except SnapshotError as exc:
            yield LandedFile(name, None, str(exc))
            continue
        metadata = {"source-file": name.encode("ascii", "replace").decode(), "writer": "land",
                    "fetched-at": _iso(time.time())}
        yield LandedFile(name, land_snapshot(lake, body, parsed, metadata))
