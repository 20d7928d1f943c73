from __future__ import annotations

import threading
from pathlib import Path

import pytest

from flight_assets.cli import main
from flight_assets.lake.store import Lake, LocalLake, S3Lake
from flight_assets.opensky.credits import call_cost, parse_bbox, plan_cadence
from flight_assets.opensky.governor import CLOCK_SKEW_S, CreditGovernor

DC_BOX = (38.25469, -77.96168, 39.51589, -76.17943)  # 2.25 sq°


@pytest.mark.parametrize(
    ("bbox", "cost"),
    [(None, 4), (DC_BOX, 1), ((0, 0, 5, 5), 1), ((0, 0, 5, 5.1), 2), ((0, 0, 10, 10), 2), ((0, 0, 20, 20), 3),
     ((0, 0, 20, 20.1), 4)],
)
def test_call_cost_follows_box_area(bbox: tuple[float, float, float, float] | None, cost: int) -> None:
    assert call_cost(bbox) == cost


def test_plans_match_opensky_arithmetic() -> None:
    # Anonymous global: 400 / 4 = 100 calls a day, one every 864 s.
    anonymous = plan_cadence("anonymous")
    assert (anonymous.calls_per_day, anonymous.interval_s, anonymous.allows_30s) == (100, 864, False)
    assert anonymous.credits_per_day_at_30s == 11_520
    # Standard: 4,000 credits; a 1-credit box fits 30 s (2,880 calls), the globe needs 87 s.
    assert plan_cadence("standard", DC_BOX).interval_s == 30
    assert plan_cadence("standard").interval_s == 87
    assert plan_cadence("standard").max_area_for_30s == 25
    assert plan_cadence("feeder", (0, 0, 10, 10)).interval_s == 30
    assert plan_cadence("feeder").interval_s == 44
    licensed = plan_cadence("licensed")
    assert licensed.interval_s == 30 and licensed.allows_30s


def test_parse_bbox_rejects_nonsense() -> None:
    assert parse_bbox("38.2,-77.9,39.5,-76.1") == (38.2, -77.9, 39.5, -76.1)
    for bad in ("1,2,3", "a,b,c,d", "50,0,40,10", "0,0,91,10"):
        with pytest.raises(ValueError):
            parse_bbox(bad)


def test_credits_command_prints_what_fits(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["credits", "--tier", "standard", "--bbox", "38.25,-77.96,39.52,-76.18"]) == 0
    out = capsys.readouterr().out
    assert "one poll every 30 s" in out and "2,880" in out and "boxes up to 25 sq° allow 30 s" in out
    assert main(["credits", "--tier", "anonymous"]) == 0
    out = capsys.readouterr().out
    assert "864 s" in out and "11,520" in out and "no box size allows 30 s" in out
    assert main(["credits", "--bbox", "1,2"]) == 1
    assert "lamin,lomin,lamax,lomax" in capsys.readouterr().err


def test_governor_paces_polls_to_the_cadence(lake: Lake) -> None:
    governor = CreditGovernor(lake, "anonymous", DC_BOX)  # 1 credit a call: one poll every 216 s
    t0 = 1_756_577_883.0
    assert governor.claim(t0).allowed
    skipped = governor.claim(t0 + 30)
    # Slots are aligned to multiples of 216 s: t0 sits 3 s into its slot, the next starts at t0 + 213 (less the skew).
    assert not skipped.allowed and skipped.reason == "cadence" and skipped.next_poll_at == t0 + 213 - CLOCK_SKEW_S
    assert governor.claim(t0 + 216).allowed
    state = governor.state()
    assert state and state["credits_used"] == 2 and state["last_skip"]["reason"] == "cadence"


@pytest.mark.slow
def test_a_tight_loop_makes_one_poll_per_cadence_slot(tmp_path: Path) -> None:
    """Two writers poll every simulated second for two hours, one clock 1.5 s ahead: 120 calls an hour, no more."""
    lake = LocalLake(tmp_path / "lake")
    writers = [(CreditGovernor(lake, "licensed"), 0.0), (CreditGovernor(lake, "licensed"), 1.5)]  # 30-s cadence
    hour = 1_756_576_800  # 2025-08-30 18:00 UTC
    polls: list[float] = []  # true times
    slots: list[int] = []  # as each writer's own clock saw them
    for second in range(2 * 3_600):
        for governor, clock_ahead in writers:
            if governor.claim(hour + second + clock_ahead).allowed:
                polls.append(hour + second)
                slots.append(governor.slot(hour + second + clock_ahead))
    assert len(slots) == len(set(slots)), "two polls in one slot"
    # The first hour starts cold (a poll in its first second); from then on every clock hour has exactly 120.
    assert sum(hour + 3_600 <= t < hour + 7_200 for t in polls) == 120
    # Two polls are never closer than the interval less the skew allowance and the writers' clock difference.
    assert min(b - a for a, b in zip(polls, polls[1:], strict=False)) >= 30 - CLOCK_SKEW_S - 1.5


def test_governor_prefers_opensky_balance_and_stops_at_zero(lake: Lake) -> None:
    governor = CreditGovernor(lake, "licensed")  # 30-s cadence, 4 credits a global call
    t0 = 1_756_577_883.0
    assert governor.claim(t0).allowed
    governor.record_response(credits_remaining=5, status=200, now=t0 + 1)
    assert governor.claim(t0 + 30).allowed  # 5 left >= 4
    refused = governor.claim(t0 + 60)  # 1 left < 4
    assert not refused.allowed and refused.reason == "budget_exhausted" and refused.estimated_remaining == 1
    # The hourly window renews: polling resumes.
    assert governor.claim(t0 + 3_600).allowed


def test_governor_pause_after_429_is_shared(lake: Lake) -> None:
    t0 = 1_756_577_883.0
    CreditGovernor(lake, "standard").record_rate_limited(resume_at=t0 + 61_200, credits_remaining=0, now=t0)
    other = CreditGovernor(lake, "standard")  # another ingester, same lake
    decision = other.claim(t0 + 3_600)
    assert not decision.allowed and decision.reason == "rate_limited" and "57,600 s left" in decision.message
    assert other.claim(t0 + 61_200).allowed


def test_concurrent_claims_spend_one_slot(lake: Lake) -> None:
    t0 = 1_756_577_883.0
    results: list[bool] = []
    barrier = threading.Barrier(4)

    def claim() -> None:
        governor = CreditGovernor(lake, "standard", DC_BOX)
        barrier.wait()
        results.append(governor.claim(t0).allowed)

    threads = [threading.Thread(target=claim) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, False, False, True]
    assert CreditGovernor(lake, "standard", DC_BOX).state()["credits_used"] == 1  # type: ignore[index]


def test_a_call_that_got_no_answer_costs_nothing(lake: Lake) -> None:
    governor = CreditGovernor(lake, "standard")
    t0 = 1_756_577_883.0
    assert governor.claim(t0).allowed
    governor.record_response(credits_remaining=None, status=None, now=t0 + 1)  # connection refused
    assert governor.state()["credits_used"] == 0  # type: ignore[index]
    assert governor.claim(t0 + 87).allowed
    governor.record_response(credits_remaining=None, status=200, now=t0 + 88)  # a bad body still cost credits
    assert governor.state()["credits_used"] == 4  # type: ignore[index]


def test_spare_credits_are_what_the_live_cadence_does_not_need(lake: Lake) -> None:
    governor = CreditGovernor(lake, "standard", DC_BOX)  # 1 credit a call, 30 s: 2,880 of 4,000 a day needed
    t0 = 1_756_577_883.0
    assert governor.claim(t0).allowed
    # 3,999 left; the live cadence needs 2,880 calls until the day's window renews, plus one of margin.
    assert governor.spare_credits(t0) == 3_999 - 2_881
    governor.record_response(credits_remaining=2_884, status=200, now=t0 + 1)  # others share the account
    assert governor.spare_credits(t0 + 1) == 3
    for _ in range(3):
        assert governor.claim_spare(t0 + 2).allowed
    refused = governor.claim_spare(t0 + 2)
    assert not refused.allowed and refused.reason == "no_spare_credits"
    assert refused.message.startswith("no spare credits: an estimated 2,881 are left")
    # Repair claims never take the live poll's slot: the next poll is due as planned.
    assert governor.claim(t0 + 30).allowed
    # No spare credits during a 429 pause.
    governor.record_rate_limited(resume_at=t0 + 600, credits_remaining=None, now=t0 + 40)
    assert governor.spare_credits(t0 + 41) == 0
    assert governor.claim_spare(t0 + 41).reason == "rate_limited"


def test_governor_updates_on_s3_skip_the_read_of_what_they_wrote(s3_lake: S3Lake) -> None:
    """The balance update after a claim, and the next claim, are one conditional PUT each; an update after another
    ingester wrote is refused by S3 (412) and redone on a fresh read, so no claim or balance is lost."""
    import boto3

    calls: list[str] = []
    client = boto3.client("s3", endpoint_url=s3_lake.endpoint)
    client.meta.events.register("before-call.s3.*", lambda model, **_: calls.append(model.name))
    lake = S3Lake(s3_lake.uri, endpoint_url=s3_lake.endpoint, client=client)
    governor = CreditGovernor(lake, "standard")
    t0 = 1_756_577_883.0
    assert governor.claim(t0).allowed
    governor.record_response(credits_remaining=3_000, status=200, now=t0 + 1)
    assert calls == ["GetObject", "PutObject", "PutObject"]
    calls.clear()
    assert governor.claim(t0 + 87).allowed
    assert calls == ["PutObject"]
    other = CreditGovernor(S3Lake(s3_lake.uri, endpoint_url=s3_lake.endpoint), "standard")
    other.record_response(credits_remaining=2_000, status=200, now=t0 + 88)  # another ingester's balance update
    calls.clear()
    assert governor.claim(t0 + 174).allowed
    assert calls == ["PutObject", "GetObject", "PutObject"]  # refused on the stale ETag, then read and redone
    state = governor.state()
    assert state is not None and state["remaining_reported"] == 2_000 and state["credits_used"] == 12
    assert state["credits_used_since_report"] == 4 and state["last_poll_at"] == t0 + 174
