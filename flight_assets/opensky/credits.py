"""OpenSky's credit rules and the planner that turns them into a sustainable poll cadence. Pure arithmetic.

OpenSky meters `/states/*` in credits per day (licensed: per hour); a call costs 1–4 credits by the area of its
bounding box. These rules are shared by the client's governor, the `credits` command and the fake server.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MIN_INTERVAL_S = 30  # the platform polls at most every 30 s: OpenSky's own state-vector resolution for most users
DAY_S = 86_400
# Authenticated users may ask `/states/all?time=T` for T within the last hour (older: HTTP 400), at 5-s resolution
# (T rounded down to a multiple of 5); anonymous calls ignore `time`. Used by the client's repair and the fake server.
HISTORY_S = 3_600
HISTORY_RESOLUTION_S = 5

# tier -> (credits per window, window seconds)
TIER_BUDGETS: dict[str, tuple[int, int]] = {
    "anonymous": (400, DAY_S),
    "standard": (4_000, DAY_S),
    "feeder": (8_000, DAY_S),
    "licensed": (14_400, 3_600),
}
TIERS = tuple(TIER_BUDGETS)

# (max area in square degrees, credits) — a global query or any box above 400 sq° costs 4
_COST_STEPS = ((25.0, 1), (100.0, 2), (400.0, 3))
GLOBAL_COST = 4

BBox = tuple[float, float, float, float]  # lamin, lomin, lamax, lomax


def parse_bbox(text: str) -> BBox:
    """`lamin,lomin,lamax,lomax` → a checked tuple; ValueError with a sentence on anything else."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 4:
        raise ValueError(f"expected 4 comma-separated numbers lamin,lomin,lamax,lomax, got {text!r}")
    try:
        lamin, lomin, lamax, lomax = (float(p) for p in parts)
    except ValueError:
        raise ValueError(f"expected numbers in lamin,lomin,lamax,lomax, got {text!r}") from None
    if not (-90 <= lamin < lamax <= 90):
        raise ValueError(f"latitudes must satisfy -90 <= lamin < lamax <= 90, got {lamin}, {lamax}")
    if not (-180 <= lomin < lomax <= 180):
        raise ValueError(f"longitudes must satisfy -180 <= lomin < lomax <= 180, got {lomin}, {lomax}")
    return (lamin, lomin, lamax, lomax)


def bbox_area(bbox: BBox | None) -> float | None:
    if bbox is None:
        return None
    lamin, lomin, lamax, lomax = bbox
    return (lamax - lamin) * (lomax - lomin)


def call_cost(bbox: BBox | None) -> int:
    """Credits one `/states/all` call costs for this box (None = the whole globe)."""
    area = bbox_area(bbox)
    if area is None:
        return GLOBAL_COST
    for max_area, cost in _COST_STEPS:
        if area <= max_area:
            return cost
    return GLOBAL_COST


@dataclass(frozen=True)
class CadencePlan:
    tier: str
    cost_per_call: int
    budget: int
    window_s: int
    calls_per_window: int
    calls_per_day: int
    interval_s: int  # seconds between polls that the budget sustains, never below MIN_INTERVAL_S
    credits_per_day_at_30s: int
    allows_30s: bool
    max_area_for_30s: float | None  # largest box (sq°) that still allows 30 s polling; None if none does

    def describe(self) -> str:
        area = (
            "no box size allows 30 s"
            if self.max_area_for_30s is None
            else ("any box, even the globe, allows 30 s" if math.isinf(self.max_area_for_30s)
                  else f"boxes up to {self.max_area_for_30s:g} sq° allow 30 s")
        )
        return (
            f"tier {self.tier}: {self.budget:,} credits per {'hour' if self.window_s == 3600 else 'day'}; "
            f"this box costs {self.cost_per_call} credit(s) a call\n"
            f"  calls per day that fit: {self.calls_per_day:,}\n"
            f"  sustainable cadence: one poll every {self.interval_s} s"
            f"{' (30 s fits)' if self.allows_30s else ''}\n"
            f"  credits per day needed for 30 s: {self.credits_per_day_at_30s:,}\n"
            f"  {area}"
        )


def plan_cadence(tier: str, bbox: BBox | None = None) -> CadencePlan:
    """The fastest cadence the tier sustains for this box: poll at max(30 s, window / calls that fit)."""
    if tier not in TIER_BUDGETS:
        raise ValueError(f"unknown tier {tier!r}; expected one of {', '.join(TIERS)}")
    budget, window_s = TIER_BUDGETS[tier]
    cost = call_cost(bbox)
    calls_per_window = budget // cost
    interval = max(MIN_INTERVAL_S, math.ceil(window_s / calls_per_window))
    calls_per_day = DAY_S * calls_per_window // window_s
    needed = (DAY_S // MIN_INTERVAL_S) * cost
    max_area: float | None = None
    for max_step, step_cost in (*_COST_STEPS, (math.inf, GLOBAL_COST)):
        if budget // step_cost >= math.ceil(window_s / MIN_INTERVAL_S):
            max_area = max_step
    return CadencePlan(
        tier=tier,
        cost_per_call=cost,
        budget=budget,
        window_s=window_s,
        calls_per_window=calls_per_window,
        calls_per_day=calls_per_day,
        interval_s=interval,
        credits_per_day_at_30s=needed,
        allows_30s=interval <= MIN_INTERVAL_S,
        max_area_for_30s=max_area,
    )
