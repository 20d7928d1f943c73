"""Data-quality checks of one hour, as plain functions over Arrow tables and numbers (no Dagster).

Each returns a CheckOutcome whose metadata holds the numbers behind the verdict, so the Dagster UI's check report
tells an operator what is wrong and where. The Dagster layer only maps outcomes onto asset checks.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.compute as pc

from flight_assets.states.validation import VALUE_DOMAINS

ERROR = "ERROR"
WARN = "WARN"

QUALITY_ERROR_BELOW = 0.90
QUALITY_WARN_BELOW = 0.98
COMPLETENESS_WARN_BELOW = 0.90
# Row counts swing with the time of day (a night hour over the Pacific has half the traffic of a European morning),
# so only a halving or doubling against the trailing day's median is worth a warning.
ANOMALY_LOW, ANOMALY_HIGH = 0.5, 2.0
ANOMALY_MIN_HISTORY = 3


@dataclass(frozen=True)
class CheckOutcome:
    passed: bool
    severity: str  # what a failure means: ERROR (blocking where declared) or WARN
    description: str
    metadata: dict[str, object] = field(default_factory=dict)


def schema_contract(actual: pa.Schema, expected: pa.Schema) -> CheckOutcome:
    """The written file has exactly the contracted columns and types (downstream SQL and Athena rely on it)."""
    want = {f.name: f.type for f in expected}
    have = {f.name: f.type for f in actual}
    missing = sorted(set(want) - set(have))
    extra = sorted(set(have) - set(want))
    wrong = sorted(f"{n}: {have[n]} (expected {want[n]})" for n in set(want) & set(have)
                   if not _same_type(have[n], want[n]))
    passed = not (missing or extra or wrong)
    problems = "; ".join(
        part for part in (
            f"missing {', '.join(missing)}" if missing else "",
            f"unexpected {', '.join(extra)}" if extra else "",
            f"wrong type {', '.join(wrong)}" if wrong else "",
        ) if part
    )
    return CheckOutcome(
        passed, ERROR,
        "schema matches the contract" if passed else f"schema differs from the contract: {problems}",
        {"columns": len(have), "missing": ", ".join(missing), "unexpected": ", ".join(extra),
         "wrong_types": "; ".join(wrong)},
    )


def _same_type(a: pa.DataType, b: pa.DataType) -> bool:
    # A dictionary-encoded string column is the same logical column as a plain string one.
    unwrap = (lambda t: t.value_type if pa.types.is_dictionary(t) else t)  # noqa: E731
    return unwrap(a) == unwrap(b)


def quality_score(valid: int, total: int, quarantined_by_reason: Mapping[str, int],
                  objects_quarantined: Mapping[str, int] | None = None) -> CheckOutcome:
    """valid / total rows of the hour: ERROR below 90 % and for an hour without rows, WARN below 98 % or when a
    raw object had to be quarantined whole (its rows are unknown, so the score alone would hide it)."""
    score = valid / total if total else 0.0
    reasons = {k: v for k, v in sorted(quarantined_by_reason.items(), key=lambda kv: -kv[1]) if v}
    objects = {k: v for k, v in sorted((objects_quarantined or {}).items()) if v}
    top = ", ".join(f"{k} {v:,}" for k, v in list(reasons.items())[:3]) or "none"
    object_note = "; raw objects quarantined whole: " + ", ".join(f"{k} {v:,}" for k, v in objects.items())
    metadata: dict[str, object] = {"quality_score": round(score, 6), "valid_rows": valid, "total_rows": total,
                                   "quarantined_rows": total - valid, **{f"quarantined_{k}": v for k, v in reasons.items()},
                                   **{f"objects_{k}": v for k, v in objects.items()}}
    if not total:
        return CheckOutcome(False, ERROR, "no rows to score: the hour's snapshots hold no states"
                            + (object_note if objects else ""), metadata)
    if score < QUALITY_ERROR_BELOW:
        return CheckOutcome(False, ERROR, f"quality {score:.1%} is below {QUALITY_ERROR_BELOW:.0%}; "
                                          f"top quarantine reasons: {top}" + (object_note if objects else ""), metadata)
    if score < QUALITY_WARN_BELOW:
        return CheckOutcome(False, WARN, f"quality {score:.1%} is below {QUALITY_WARN_BELOW:.0%}; "
                                         f"top quarantine reasons: {top}" + (object_note if objects else ""), metadata)
    if objects:
        return CheckOutcome(False, WARN, f"quality {score:.2%} ({valid:,} of {total:,} rows valid)" + object_note,
                            metadata)
    return CheckOutcome(True, ERROR, f"quality {score:.2%} ({valid:,} of {total:,} rows valid)", metadata)


def no_duplicate_states(table: pa.Table) -> CheckOutcome:
    """At most one row per (snapshot_time, icao24): a second one would be counted twice by every aggregate."""
    rows = table.num_rows
    counts = table.group_by(["snapshot_time", "icao24"]).aggregate([([], "count_all")])
    duplicates = rows - counts.num_rows
    examples = ""
    if duplicates:
        dup = counts.filter(pc.greater(counts["count_all"], 1)).slice(0, 5).to_pylist()
        examples = "; ".join(f"{d['icao24']} at {d['snapshot_time']:%H:%M:%S}" for d in dup)
    return CheckOutcome(
        duplicates == 0, ERROR,
        "no duplicate (snapshot_time, icao24)" if not duplicates
        else f"{duplicates:,} duplicate (snapshot_time, icao24) rows, e.g. {examples}",
        {"rows": rows, "duplicates": duplicates, "examples": examples},
    )


def value_ranges(table: pa.Table) -> CheckOutcome:
    """Coordinates, track, position_source and category within their domains (nulls allowed)."""
    violations: dict[str, int] = {}
    for column, (low, high, inclusive) in VALUE_DOMAINS.items():
        if column not in table.column_names:
            continue
        values = table[column]
        above = pc.greater(values, high) if inclusive else pc.greater_equal(values, high)
        bad = pc.or_(pc.less(values, low), above)
        count = pc.sum(pc.cast(pc.fill_null(bad, False), pa.int64())).as_py() or 0
        violations[column] = count
    total = sum(violations.values())
    where = ", ".join(f"{k} {v:,}" for k, v in violations.items() if v)
    return CheckOutcome(
        total == 0, ERROR,
        "all values within their ranges" if not total else f"{total:,} out-of-range values: {where}",
        {f"out_of_range_{k}": v for k, v in violations.items()} | {"rows": table.num_rows},
    )


def completeness(snapshot_times: Sequence[int], hour_start: datetime, interval_s: int) -> CheckOutcome:
    """Snapshots in the hour against the cadence the credit governor planned: WARN below 90 %, missing slots listed."""
    start = int(hour_start.astimezone(UTC).timestamp())
    expected = math.ceil(3600 / interval_s)
    filled = {(t - start) // interval_s for t in snapshot_times if start <= t < start + 3600}
    got = len(set(snapshot_times))
    ratio = min(1.0, got / expected)
    missing = [k for k in range(expected) if k not in filled]
    shown = [datetime.fromtimestamp(start + k * interval_s, tz=UTC).strftime("%H:%M:%S") for k in missing[:20]]
    listing = ", ".join(shown) + (f" … (+{len(missing) - 20} more)" if len(missing) > 20 else "")
    metadata: dict[str, object] = {"snapshots": got, "expected_snapshots": expected, "cadence_s": interval_s,
                                   "completeness": round(ratio, 4), "missing_slots": len(missing),
                                   "missing_slot_starts": listing}
    if ratio < COMPLETENESS_WARN_BELOW:
        return CheckOutcome(False, WARN, f"{got} of {expected} planned snapshots ({ratio:.0%}); "
                                         f"slots with no snapshot start at {listing or '–'}", metadata)
    return CheckOutcome(True, WARN, f"{got} of {expected} planned snapshots ({ratio:.0%})"
                        + (f"; empty slots at {listing}" if missing else ""), metadata)


def row_count_anomaly(rows: int, trailing_rows: Sequence[int]) -> CheckOutcome:
    """Rows against the median of the trailing 24 hours: WARN below half or above double."""
    history = [r for r in trailing_rows if r > 0]
    if len(history) < ANOMALY_MIN_HISTORY:
        return CheckOutcome(True, WARN, f"{len(history)} earlier hours with rows: too few to compare",
                            {"rows": rows, "hours_compared": len(history)})
    median = statistics.median(history)
    ratio = rows / median
    metadata: dict[str, object] = {"rows": rows, "trailing_median_rows": median, "ratio": round(ratio, 3),
                                   "hours_compared": len(history)}
    if ratio < ANOMALY_LOW or ratio > ANOMALY_HIGH:
        return CheckOutcome(False, WARN, f"{rows:,} rows is {ratio:.2f}× the trailing 24-hour median "
                                         f"({median:,.0f})", metadata)
    return CheckOutcome(True, WARN, f"{rows:,} rows, {ratio:.2f}× the trailing median", metadata)


def reconciliation(aggregates: pa.Table, validated_rows: int) -> CheckOutcome:
    """sum(states) over countries equals the hour's validated rows: no row lost or counted twice."""
    summed = pc.sum(aggregates["states"]).as_py() or 0
    difference = summed - validated_rows
    return CheckOutcome(
        difference == 0, ERROR,
        f"sum(states) = {summed:,} equals the validated rows" if not difference
        else f"sum(states) = {summed:,} but the hour has {validated_rows:,} validated rows ({difference:+,})",
        {"sum_states": summed, "validated_rows": validated_rows, "difference": difference},
    )


def has_countries(aggregates: pa.Table) -> CheckOutcome:
    countries = aggregates.num_rows
    return CheckOutcome(
        countries > 0, ERROR,
        f"{countries} countries" if countries else "no country has any state this hour",
        {"countries": countries},
    )
