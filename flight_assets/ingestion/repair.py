"""Gap repair: fetch the planned slots that have no raw snapshot from OpenSky's last hour (`time=`) and land them.

Pure Python (no Dagster, no pyarrow), used by `flight-assets repair` and the `gap_repair_sensor`. The slot grid is
the governor's planned cadence (`interval_s`), counted from each hour's start exactly as the `completeness` check
counts it, so what repair fills is what that check finds missing; a slot has a snapshot when a raw object's own
`time` lies in it. Every repair call is claimed from
the governor's *spare* credits (what the live cadence does not need until the window renews), newest slot first,
so a repair never causes a 429, never delays a live poll, and loses the least to the one-hour horizon.
"""

from __future__ import annotations

import bisect
import contextlib
import math
import time
from dataclasses import asdict, dataclass, field
from datetime import timedelta

from flight_assets.config import Settings
from flight_assets.lake.layout import RAW_STATES_PREFIX, hour_prefix, parse_raw_key, snapshot_datetime
from flight_assets.lake.store import Lake, LakeError, open_lake
from flight_assets.opensky.client import OpenSkyClient, OpenSkyError, OpenSkyHTTPError, RateLimited
from flight_assets.opensky.credits import HISTORY_RESOLUTION_S, HISTORY_S
from flight_assets.opensky.governor import CreditGovernor

# Slots this close to the horizon are not asked for: the request could reach OpenSky after T has left the hour.
HORIZON_MARGIN_S = 60
REPAIR_WRITER = "repair"  # object metadata `writer` of snapshots landed by `flight-assets repair`


class RepairRefused(ValueError):
    """Repair cannot work with these settings; the message says why in one sentence."""


def parse_duration(text: str) -> int:
    """`90s`, `60m`, `1h` or a bare number of minutes → seconds; ValueError with a sentence otherwise."""
    value = text.strip().lower()
    unit = {"s": 1, "m": 60, "h": 3600}.get(value[-1:])
    number = value[:-1] if unit else value
    try:
        seconds = float(number) * (unit or 60)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"--since {text!r} is not a duration such as 60m, 90s or 1h")
    return int(seconds)


@dataclass(frozen=True)
class Gaps:
    window_start: int  # first slot considered
    window_end: int  # last slot considered
    interval_s: int
    slots: int  # slots in the window
    missing: tuple[int, ...]  # slot times without a snapshot, newest first
    beyond_horizon: int  # slots asked for (--since) but older than OpenSky's hour: never requested


def _raw_times(lake: Lake, start: int, end: int) -> list[int]:
    """Sorted `time` of every raw snapshot whose hour overlaps [start, end]."""
    times: list[int] = []
    hour = snapshot_datetime(start).replace(minute=0, second=0)
    while hour <= snapshot_datetime(end):
        for obj in lake.list(hour_prefix(RAW_STATES_PREFIX, hour) + "/"):
            parsed = parse_raw_key(obj.key)
            if parsed:
                times.append(parsed[0])
        hour += timedelta(hours=1)
    return sorted(times)


def planned_slots(hour_start: int, interval_s: int) -> range:
    """The slot starts of one hour, as the `completeness` check counts them: every `interval_s` from the hour's
    start (the last slot may be cut short by the hour's end)."""
    return range(hour_start, hour_start + 3600, interval_s)


def request_time(slot: int) -> int:
    """The `time=` to ask for a slot: OpenSky rounds down to 5 s, so ask for the first multiple of 5 inside the
    slot, or the answer would belong to the slot before."""
    return -(-slot // HISTORY_RESOLUTION_S) * HISTORY_RESOLUTION_S


def find_gaps(lake: Lake, interval_s: int, since_s: int, now: float) -> Gaps:
    """The planned slots of the last `since_s` seconds that no raw snapshot covers, newest first.

    Slots start every `interval_s` from each hour's start, exactly as the `completeness` check counts them, and a
    slot has a snapshot when a raw object's own `time` lies in it. A slot is only considered once it and one more
    interval have passed (the live poller's own chance to land it); slots older than OpenSky's hour (minus a
    margin) are counted in `beyond_horizon` and never requested.
    """
    earliest = now - since_s
    horizon = now - HISTORY_S + HORIZON_MARGIN_S
    latest = now - 2 * interval_s
    considered: list[int] = []
    beyond = 0
    hour = int(earliest // 3600 * 3600)
    while hour <= latest:
        for slot in planned_slots(hour, interval_s):
            if earliest <= slot <= latest:
                if slot < horizon:
                    beyond += 1
                else:
                    considered.append(slot)
        hour += 3600
    if not considered:
        return Gaps(int(max(earliest, horizon)), int(latest), interval_s, 0, (), beyond)
    times = _raw_times(lake, considered[0], considered[-1] + interval_s)
    missing = []
    for slot in reversed(considered):
        end = min(slot + interval_s, slot // 3600 * 3600 + 3600)
        i = bisect.bisect_left(times, slot)
        if not (i < len(times) and times[i] < end):
            missing.append(slot)
    return Gaps(considered[0], considered[-1], interval_s, len(considered), tuple(missing), beyond)


@dataclass
class RepairReport:
    gaps: Gaps
    spare_credits: int
    dry_run: bool = False
    fetched: int = 0
    landed: int = 0
    already_there: int = 0
    unavailable: int = 0  # slots OpenSky had no state vectors for (HTTP 404)
    not_fetched: int = 0  # missing slots left for a later repair (no spare credits, the time limit, an error)
    stop_reason: str | None = None  # why the remaining slots were not fetched
    failed: bool = False  # an error (not a governed skip) stopped the repair
    landed_keys: list[str] = field(default_factory=list)
    partitions: dict[str, int] = field(default_factory=dict)  # hourly partition -> snapshots landed
    spare_credits_calls: int = 0  # calls the spare credits paid for when the pass started

    def as_dict(self) -> dict[str, object]:
        out = asdict(self)
        out["gaps"]["missing"] = list(self.gaps.missing)
        return out

    def describe(self, with_error: bool = True) -> str:
        """What the pass found and did, one line each; the error sentence last (`with_error=False` leaves it for
        the caller to print on its own)."""
        g = self.gaps
        fmt = "%Y-%m-%d %H:%M:%S"
        lines = [
            f"window {time.strftime(fmt, time.gmtime(g.window_start))}–{time.strftime('%H:%M:%S', time.gmtime(g.window_end))}"
            f" UTC: {g.slots} slot(s) of {g.interval_s} s, {g.slots - len(g.missing)} with a snapshot, "
            f"{len(g.missing)} missing"
            + (f"; {g.beyond_horizon} older slot(s) are beyond OpenSky's one-hour history" if g.beyond_horizon else ""),
        ]
        if self.dry_run:
            lines.append(f"dry run: would fetch {min(len(g.missing), self.spare_credits_calls)} of them "
                         f"({self.spare_credits:,} spare credits); nothing fetched")
        else:
            lines.append(f"fetched {self.fetched}, landed {self.landed}, already there {self.already_there}, "
                         f"unavailable {self.unavailable}, skipped {self.not_fetched}")
        if self.stop_reason and (with_error or not self.failed):
            lines.append(("error: " if self.failed else "stopped: ") + self.stop_reason)
        return "\n".join(lines)


def repair_gaps(
    settings: Settings,
    *,
    since_s: int = HISTORY_S,
    dry_run: bool = False,
    lake: Lake | None = None,
    client: OpenSkyClient | None = None,
    writer: str = REPAIR_WRITER,
    max_calls: int | None = None,
    deadline_s: float | None = None,
    now: float | None = None,
) -> RepairReport:
    """Find the missing slots and fetch them with `time=`, newest first, while spare credits last.

    Raises RepairRefused when there are no credentials (anonymous calls ignore `time=`). `max_calls` and
    `deadline_s` bound one pass (a sensor tick); the slots left are repaired by the next pass.
    """
    from flight_assets.ingestion.poll import fetched_metadata, land_snapshot

    if not settings.has_credentials:
        raise RepairRefused(
            "repair needs OpenSky credentials (OPENSKY_CLIENT_ID and OPENSKY_CLIENT_SECRET): anonymous calls "
            "ignore time= and would only fetch the newest state again"
        )
    started = time.monotonic()
    lake = lake or open_lake(settings.lake, settings.aws_endpoint_url)
    governor = CreditGovernor(lake, settings.tier, settings.bbox)
    now = time.time() if now is None else now
    gaps = find_gaps(lake, governor.plan.interval_s, since_s, now)
    report = RepairReport(gaps, governor.spare_credits(now), dry_run=dry_run)
    report.spare_credits_calls = report.spare_credits // governor.plan.cost_per_call
    if dry_run or not gaps.missing:
        return report
    client = client or OpenSkyClient.from_settings(settings)
    pending = list(gaps.missing)
    while pending:
        if max_calls is not None and report.fetched >= max_calls:
            report.stop_reason = f"at most {max_calls} call(s) per pass; the next pass goes on"
            break
        if deadline_s is not None and time.monotonic() - started > deadline_s:
            report.stop_reason = f"time limit of {deadline_s:g} s for one pass reached; the next pass goes on"
            break
        slot = pending[0]
        call_now = now + (time.monotonic() - started)  # a long pass moves towards the horizon
        if slot < call_now - HISTORY_S + HORIZON_MARGIN_S:
            report.stop_reason = "the remaining slots have passed OpenSky's one-hour horizon"
            break
        try:
            decision = governor.claim_spare(call_now)
        except LakeError as exc:
            report.stop_reason, report.failed = f"could not read the credit budget from the lake: {exc}", True
            break
        if not decision.allowed:
            report.stop_reason = decision.message
            break
        try:
            fetched = client.fetch_states(settings.bbox, settings.extended, at=request_time(slot))
        except RateLimited as exc:
            governor.record_rate_limited(exc.resume_at, exc.remaining, now=call_now)
            report.stop_reason, report.failed = str(exc), True
            break
        except OpenSkyError as exc:
            status = exc.status if isinstance(exc, OpenSkyHTTPError) else None
            with contextlib.suppress(LakeError):
                governor.record_response(client.last_credits_remaining, status, now=call_now)
            if status == 404:  # no state vectors at that time: nothing to land there, the other slots go on
                pending.pop(0)
                report.unavailable += 1
                continue
            report.stop_reason, report.failed = f"fetching time={request_time(slot)} failed: {exc}", True
            break
        report.fetched += 1
        metadata = {**fetched_metadata(fetched, writer), "requested-time": str(request_time(slot))}
        try:
            landed = land_snapshot(lake, fetched.body, fetched.parsed, metadata)
        except LakeError as exc:  # what landed before is kept in the report, so it is still reported
            report.stop_reason, report.failed = f"could not land the snapshot of time={request_time(slot)}: {exc}", True
            break
        with contextlib.suppress(LakeError):  # the next response refreshes the balance
            governor.record_response(fetched.credits_remaining, fetched.status, now=call_now)
        if landed.created:
            report.landed += 1
            report.landed_keys.append(landed.key)
            report.partitions[landed.partition_key] = report.partitions.get(landed.partition_key, 0) + 1
        else:
            report.already_there += 1
        pending.pop(0)
    report.not_fetched = len(pending)
    return report

