"""The credit governor: one OpenSky credit budget shared by every ingester through a small JSON object in the lake.

Before each poll an ingester *claims* it: the claim is refused (a skip with a reason, not a failure) while a 429's
resume time has not come, before the planned cadence allows the next poll, or when the estimated credits left are
fewer than the call costs. The read-modify-write is atomic (file lock locally, conditional PUT on S3), so concurrent
Lambda invocations and local pollers never spend the budget twice.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from typing import Any

from flight_assets.lake.layout import GOVERNOR_STATE_KEY
from flight_assets.lake.store import Lake, LakeError
from flight_assets.opensky.credits import BBox, CadencePlan, plan_cadence

# Polls run on a grid of cadence slots aligned to multiples of the interval (Unix time), at most one per slot, so
# a tight loop makes exactly one call per interval. A claim this little before a slot starts counts for that slot:
# writers' clocks (a laptop, Lambda, ECS) disagree by a second or so, and a poller a hair early must not miss it.
CLOCK_SKEW_S = 2.0


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str | None  # machine code: rate_limited | cadence | budget_exhausted
    message: str  # the sentence a user reads
    next_poll_at: float
    estimated_remaining: int


def _fmt(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ts))


class CreditGovernor:
    def __init__(self, lake: Lake, tier: str, bbox: BBox | None = None, key: str = GOVERNOR_STATE_KEY) -> None:
        self.lake = lake
        self.plan: CadencePlan = plan_cadence(tier, bbox)
        self.key = key

    # -- cadence slots ---------------------------------------------------------------------------------------------
    @property
    def _skew(self) -> float:
        return min(CLOCK_SKEW_S, self.plan.interval_s / 10)

    def slot(self, now: float) -> int:
        """The cadence slot a claim at `now` belongs to (slot k starts at k × interval, Unix time)."""
        return int((now + self._skew) // self.plan.interval_s)

    def slot_start(self, slot: int) -> float:
        return float(slot * self.plan.interval_s)

    # -- state ---------------------------------------------------------------------------------------------------
    def _fresh(self, state: dict[str, Any] | None, now: float) -> dict[str, Any]:
        """The state for this tier, with the credit window rolled over when it has passed."""
        if not state or state.get("tier") != self.plan.tier:
            state = {"tier": self.plan.tier, "window_start": now, "credits_used": 0}
        state = dict(state)
        paused_until = state.get("paused_until")
        if paused_until and now >= paused_until:
            # OpenSky's Retry-After is when its credits renew: a new window starts, the old balance is void.
            state.update(window_start=paused_until, paused_until=None, credits_used=0, remaining_reported=None,
                         remaining_reported_at=None, credits_used_since_report=0)
        elif now >= state.get("window_start", now) + self.plan.window_s:
            state.update(window_start=now, credits_used=0, remaining_reported=None, remaining_reported_at=None,
                         credits_used_since_report=0)
        return state

    def _estimated_remaining(self, state: dict[str, Any]) -> int:
        # OpenSky's own X-Rate-Limit-Remaining wins when we have it (other clients may share the account);
        # credits we spent since that report are subtracted.
        reported = state.get("remaining_reported")
        if reported is not None:
            return int(reported) - int(state.get("credits_used_since_report", 0))
        return self.plan.budget - int(state.get("credits_used", 0))

    def _decide(self, state: dict[str, Any], now: float) -> Decision:
        remaining = self._estimated_remaining(state)
        paused_until = state.get("paused_until") or 0
        if now < paused_until:
            return Decision(
                False, "rate_limited",
                f"OpenSky rate limit: paused until {_fmt(paused_until)} ({paused_until - now:,.0f} s left) "
                f"after a 429; no call made",
                paused_until, remaining,
            )
        last = state.get("last_poll_at")
        if last is not None and self.slot(now) <= self.slot(last):
            due = self.slot_start(self.slot(last) + 1) - self._skew
            return Decision(
                False, "cadence",
                f"next poll due at {_fmt(due)}: tier {self.plan.tier} sustains one call every "
                f"{self.plan.interval_s} s for this box",
                due, remaining,
            )
        if remaining < self.plan.cost_per_call:
            resume = state["window_start"] + self.plan.window_s
            return Decision(
                False, "budget_exhausted",
                f"estimated {remaining} credits left, a call costs {self.plan.cost_per_call}; "
                f"waiting for the credit window to renew at {_fmt(resume)}",
                resume, remaining,
            )
        return Decision(True, None, "poll allowed", now, remaining)

    # -- API -----------------------------------------------------------------------------------------------------
    def peek(self, now: float | None = None) -> Decision:
        """What a claim would decide now, without claiming (for sensors deciding whether to start a run)."""
        now = time.time() if now is None else now
        return self._decide(self._fresh(self.state(), now), now)

    def claim(self, now: float | None = None) -> Decision:
        """Atomically decide whether to poll now and, if so, reserve the call's credits and the cadence slot."""
        now = time.time() if now is None else now
        decision: Decision | None = None

        def update(state: dict[str, Any] | None) -> dict[str, Any]:
            nonlocal decision
            state = self._fresh(state, now)
            decision = self._decide(state, now)
            if decision.allowed:
                state["last_poll_at"] = now
                state["credits_used"] = int(state.get("credits_used", 0)) + self.plan.cost_per_call
                state["credits_used_since_report"] = (
                    int(state.get("credits_used_since_report", 0)) + self.plan.cost_per_call
                )
            else:
                state["last_skip"] = {"at": now, "reason": decision.reason}
            return state

        self.lake.update_json(self.key, update)
        assert decision is not None
        return decision

    def record_response(
        self, credits_remaining: int | None, status: int | None, now: float | None = None
    ) -> None:
        """After a call: take OpenSky's own balance when it sent one. `status` None means no HTTP answer came
        back at all (connection refused, timeouts), so the call cost nothing and its reserved credits return."""
        now = time.time() if now is None else now

        def update(state: dict[str, Any] | None) -> dict[str, Any]:
            state = self._fresh(state, now)
            state["last_status"] = status
            if status is None:
                cost = self.plan.cost_per_call
                state["credits_used"] = max(0, int(state.get("credits_used", 0)) - cost)
                state["credits_used_since_report"] = max(0, int(state.get("credits_used_since_report", 0)) - cost)
            if credits_remaining is not None:
                state.update(remaining_reported=credits_remaining, remaining_reported_at=now,
                             credits_used_since_report=0)
            return state

        self.lake.update_json(self.key, update)

    def record_rate_limited(self, resume_at: float, credits_remaining: int | None, now: float | None = None) -> None:
        """After a 429: every ingester pauses until OpenSky's resume time."""
        now = time.time() if now is None else now

        def update(state: dict[str, Any] | None) -> dict[str, Any]:
            state = self._fresh(state, now)
            state.update(paused_until=resume_at, last_status=429, rate_limited_at=now)
            if credits_remaining is not None:
                state.update(remaining_reported=credits_remaining, remaining_reported_at=now,
                             credits_used_since_report=0)
            return state

        self.lake.update_json(self.key, update)

    # -- spare credits (gap repair) --------------------------------------------------------------------------------
    def _live_reserve(self, state: dict[str, Any], now: float) -> int:
        """Credits the live cadence still needs until the window renews, plus one call of margin (a poll may come
        up to CADENCE_SLACK_S early)."""
        window_end = float(state["window_start"]) + self.plan.window_s
        calls = math.ceil(max(0.0, window_end - now) / self.plan.interval_s) + 1
        return calls * self.plan.cost_per_call

    def _spare(self, state: dict[str, Any], now: float) -> int:
        if now < (state.get("paused_until") or 0):
            return 0
        return max(0, self._estimated_remaining(state) - self._live_reserve(state, now))

    def spare_credits(self, now: float | None = None) -> int:
        """Credits that extra calls (gap repair) may spend now without taking any from the live cadence."""
        now = time.time() if now is None else now
        return self._spare(self._fresh(self.state(), now), now)

    def claim_spare(self, now: float | None = None) -> Decision:
        """Atomically reserve one call's credits from the spare ones, for a call outside the live cadence.

        The cadence slot is left alone (live polls go on as planned); refused while a 429 pause lasts or when the
        spare credits are fewer than a call costs, so a repair never causes a 429 and never delays a live poll.
        """
        now = time.time() if now is None else now
        decision: Decision | None = None

        def update(state: dict[str, Any] | None) -> dict[str, Any]:
            nonlocal decision
            state = self._fresh(state, now)
            remaining = self._estimated_remaining(state)
            paused_until = state.get("paused_until") or 0
            spare = self._spare(state, now)
            if now < paused_until:
                decision = Decision(False, "rate_limited", f"OpenSky rate limit: paused until {_fmt(paused_until)} "
                                    "after a 429; no call made", paused_until, remaining)
            elif spare < self.plan.cost_per_call:
                resume = float(state["window_start"]) + self.plan.window_s
                decision = Decision(
                    False, "no_spare_credits",
                    f"no spare credits: an estimated {remaining:,} are left and the live cadence needs "
                    f"{self._live_reserve(state, now):,} of them until the window renews at {_fmt(resume)}",
                    resume, remaining,
                )
            else:
                decision = Decision(True, None, f"{spare:,} spare credits", now, remaining)
                state["credits_used"] = int(state.get("credits_used", 0)) + self.plan.cost_per_call
                state["credits_used_since_report"] = (
                    int(state.get("credits_used_since_report", 0)) + self.plan.cost_per_call
                )
            return state

        self.lake.update_json(self.key, update)
        assert decision is not None
        return decision

    def state(self) -> dict[str, Any] | None:
        """The shared state as stored, or None before the first poll (or if it is unreadable)."""
        try:
            return json.loads(self.lake.get(self.key))
        except (LakeError, json.JSONDecodeError):
            return None
