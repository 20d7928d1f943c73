"""One poll of OpenSky into the raw lake: the single ingest path used by the Lambda, Dagster and the CLI.

No Dagster and no pyarrow here (the Lambda imports this). Steps: claim the poll from the credit governor, fetch,
check the body, gzip it, land it once under the key of its own `time`.
"""

from __future__ import annotations

import contextlib
import gzip
import logging
import time
import zlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from flight_assets.config import Settings
from flight_assets.ingestion.spool import Spool, SpoolError
from flight_assets.lake.layout import partition_key_for_time, raw_key
from flight_assets.lake.store import Lake, LakeError, open_lake, storage_deadline
from flight_assets.opensky.client import (
    FetchedSnapshot,
    OpenSkyBlocked,
    OpenSkyClient,
    OpenSkyError,
    RateLimited,
)
from flight_assets.opensky.governor import CreditGovernor
from flight_assets.opensky.recorded import iter_recorded_bodies
from flight_assets.opensky.snapshot import ParsedSnapshot, SnapshotError, parse_snapshot
from flight_assets.redact import redact

# Raw objects are gzip (Athena's JSON SerDe and the byte-exact contract read them as such), deflated by ISA-L at
# level 2, chosen with bench/ingest.py's table on the 1.57 MB global body: 3 ms against zlib level 5's 25-31 ms, for
# 497 KB instead of 441 KB (+13 %, some 60 GB more in a year of 30-s polls). ISA-L levels 0 and 1 take as long and are
# larger (585 and 507 KB); level 3 takes 60 % longer to save another 3 %. Where no ISA-L build can be imported (the
# arm64 Lambda package unpacked on an x86 test machine), zlib level 3 gives the same size class (482 KB) in ~20 ms.
try:
    from isal import isal_zlib as _deflate

    RAW_GZIP_LEVEL = 2
    RAW_GZIP = f"isal {RAW_GZIP_LEVEL}"  # what compress_body uses, as bench/ingest.py names its gzip candidates
except ImportError:  # pragma: no cover - isal is a dependency; only a foreign-platform package lacks it
    _deflate = zlib  # type: ignore[assignment]
    RAW_GZIP_LEVEL = 3
    RAW_GZIP = f"zlib {RAW_GZIP_LEVEL}"

# One poll's whole budget, storage included: the client's 25-s fetch deadline plus landing, inside the 30-s cadence;
# the Lambda (59-s timeout) fits two. Every storage call in a poll is bounded by what is left of it.
POLL_BUDGET_S = 27.0
LAND_RESERVE_S = 2.0  # kept back from the fetch for the PUT (6 ms when S3 is well; the retries when it is not)
MIN_FETCH_S = 1.0  # a fetch given less than this cannot get a global snapshot; better not to pay for one
SPOOL_SHARE = 1 / 3  # of the budget at most for landing spooled bodies first, so a long backlog never starves a poll
# Recomputed from the body by `land_snapshot`; a spooled copy's values are not trusted over the body's own.
_DERIVED_METADATA = frozenset({"snapshot-time", "states", "time-source", "body-bytes"})

log = logging.getLogger(__name__)


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
    status: str  # landed | duplicate | skipped | rate_limited | blocked | error
    message: str
    key: str | None = None
    partition_key: str | None = None
    snapshot_time: int | None = None
    states: int | None = None
    stored_bytes: int | None = None
    credits_remaining: int | None = None
    skip_reason: str | None = None
    timings_s: dict[str, float] = field(default_factory=dict)
    recovered: list[str] = field(default_factory=list)  # keys landed first from the spool of earlier polls

    @property
    def failed(self) -> bool:
        return self.status in ("error", "blocked")

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def compress_body(body: bytes) -> bytes:
    """One gzip member holding `body`, mtime 0: the same body always compresses to the same bytes."""
    return _deflate.compress(body, RAW_GZIP_LEVEL, wbits=31)


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
        self,
        settings: Settings,
        *,
        lake: Lake | None = None,
        client: OpenSkyClient | None = None,
        writer: str = "cli",
        poll_budget_s: float = POLL_BUDGET_S,
    ) -> None:
        self.settings = settings
        self.lake = lake or open_lake(settings.lake, settings.aws_endpoint_url)
        self.client = client or OpenSkyClient.from_settings(settings)
        self.governor = CreditGovernor(self.lake, settings.tier, settings.bbox)
        self.spool = Spool(settings.spool_dir, self.lake.uri)
        self.writer = writer
        self.poll_budget_s = poll_budget_s

    def poll(self, now: float | None = None, budget_s: float | None = None) -> IngestResult:
        """One governed poll. Never raises for expected failures: the result says what happened.

        Everything it does, storage calls included, fits in `budget_s` (default: the ingester's poll budget).
        The message is redacted whatever its source (OpenSky, a proxy, S3): it reaches logs, Dagster's event
        storage and CloudWatch.
        """
        budget = self.poll_budget_s if budget_s is None else min(budget_s, self.poll_budget_s)
        deadline = time.monotonic() + budget
        with storage_deadline(deadline):
            recovered, spool_note = self._land_spooled(time.monotonic() + budget * SPOOL_SHARE)
            result = self._poll(now, deadline)
        result.recovered = recovered
        if recovered:
            result.message = (f"first landed {len(recovered)} snapshot(s) kept in the spool by an earlier poll "
                              f"({', '.join(recovered)}); then {result.message}")
        if spool_note:
            result.message = f"{result.message}; {spool_note}"
        result.message = redact(result.message, (self.settings.client_secret, *self.client.secrets()))
        return result

    def _poll(self, now: float | None, deadline: float) -> IngestResult:
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
        # The fetch leaves time to land what it fetched: a body fetched with no time left to land it is paid for
        # and then only spooled.
        fetch_s = min(self.client.deadline_s, deadline - time.monotonic() - LAND_RESERVE_S)
        if fetch_s < MIN_FETCH_S:
            self._record(None, None)  # no call made: the claimed credits return
            return IngestResult(
                "error",
                f"claiming the poll from the credit budget took {claimed - started:.1f} s, leaving no time to fetch "
                f"and land within the poll's {self.poll_budget_s:g}-s budget; no call was made",
                timings_s={"governor": claimed - started},
            )
        try:
            fetched = self.client.fetch_states(self.settings.bbox, self.settings.extended, deadline_s=fetch_s)
        except RateLimited as exc:
            self.governor.record_rate_limited(exc.resume_at, exc.remaining)
            return IngestResult(
                "rate_limited", str(exc), skip_reason="rate_limited", credits_remaining=exc.remaining,
                timings_s={"governor": claimed - started, "fetch": time.perf_counter() - claimed},
            )
        except OpenSkyError as exc:
            self._record(self.client.last_credits_remaining, getattr(exc, "status", None))
            # A block (403, no HTTP answer at all) is told apart: waiting or retrying does not end it.
            return IngestResult("blocked" if isinstance(exc, OpenSkyBlocked) else "error", str(exc),
                                timings_s={"fetch": time.perf_counter() - claimed})
        return self._land_fetched(fetched, claimed - started)

    def _record(self, credits_remaining: int | None, status: int | None) -> None:
        # The balance is refreshed by the next response; losing one update costs nothing (nor does skipping it
        # when the poll's deadline has passed).
        with contextlib.suppress(LakeError):
            self.governor.record_response(credits_remaining, status)

    def _land_spooled(self, deadline: float) -> tuple[list[str], str | None]:
        """Land what earlier polls spooled, oldest first, before this poll fetches anything new.

        Returns the keys landed and a sentence about what is still waiting (None when nothing is)."""
        recovered: list[str] = []
        pending = self.spool.pending()
        with storage_deadline(deadline):
            for index, name in enumerate(pending):
                try:
                    spooled = self.spool.read(name)
                    body = gzip.decompress(spooled.data)
                    parsed = parse_snapshot(body, allow_bare_array=spooled.metadata.get("time-source") ==
                                            "max_last_contact")
                except FileNotFoundError:
                    continue  # another poller sharing this spool landed it meanwhile
                except (SpoolError, OSError, EOFError, SnapshotError) as exc:
                    with contextlib.suppress(FileNotFoundError):
                        aside = self.spool.set_aside(name)
                        log.warning("spooled snapshot %s is unreadable, set aside as %s: %s", name, aside, exc)
                    continue
                # Whoever lands the object is its writer: the landing sensor reports objects by that.
                metadata = {k: v for k, v in spooled.metadata.items() if k not in _DERIVED_METADATA}
                try:
                    landed = land_snapshot(self.lake, body, parsed, {**metadata, "writer": self.writer})
                except LakeError as exc:
                    left = len(pending) - index
                    return recovered, (f"{left} snapshot(s) still wait in the spool at {self.spool.path} for the "
                                       f"lake to accept them: {exc}")
                self.spool.remove(name)
                if landed.created:  # else it was in the lake already (a PUT that timed out had in fact succeeded)
                    recovered.append(landed.key)
        return recovered, None

    def _land_fetched(self, fetched: FetchedSnapshot, governor_s: float) -> IngestResult:
        metadata = fetched_metadata(fetched, self.writer)
        timings = {"governor": governor_s, "fetch": fetched.fetch_s, "parse": fetched.parse_s}
        try:
            # The lake retries the PUT until the poll's deadline: a short outage costs a few seconds, not the body.
            landed = land_snapshot(self.lake, fetched.body, fetched.parsed, metadata)
        except LakeError as exc:
            what = f"fetched a snapshot of {fetched.parsed.states:,} states but could not land it: {exc}"
            name = f"{fetched.parsed.time}_{fetched.parsed.sha8}"
            try:
                kept = self.spool.keep(name, compress_body(fetched.body),
                                       {**metadata, "time-source": fetched.parsed.time_source})
                outcome = f"; kept it in the spool at {kept}, and the next poll lands it first"
            except SpoolError as spool_exc:
                outcome = f"; it could not be kept either ({spool_exc}), so this snapshot is lost"
            self._record(fetched.credits_remaining, fetched.status)
            return IngestResult(
                "error",
                what + outcome,
                snapshot_time=fetched.parsed.time,
                partition_key=partition_key_for_time(fetched.parsed.time),
                states=fetched.parsed.states,
                credits_remaining=fetched.credits_remaining,
                timings_s=timings,
            )
        recorded = time.perf_counter()
        self._record(fetched.credits_remaining, fetched.status)
        timings.update(compress=landed.compress_s, put=landed.put_s, record=time.perf_counter() - recorded)
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
