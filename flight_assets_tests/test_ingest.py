"""The ingest path end to end: fake-opensky on loopback → client → governor → raw landing (local and moto S3)."""

from __future__ import annotations

import gzip
import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from flight_assets.config import load_settings
from flight_assets.ingestion.poll import Ingester, land_recorded, land_snapshot
from flight_assets.lake.layout import parse_raw_key
from flight_assets.lake.store import Lake, LakeError, LocalLake, S3Lake
from flight_assets.opensky.client import OpenSkyClient
from flight_assets.opensky.recorded import iter_recorded_bodies
from flight_assets.opensky.snapshot import parse_snapshot
from flight_assets.tools.fake_opensky import FakeOpenSky, FakeOpenSkyConfig
from flight_assets_tests.hour_data import GLOBAL
from flight_assets_tests.servers import S3FaultProxy


@pytest.fixture
def fake(opensky_data: Path) -> Iterator[FakeOpenSky]:
    with FakeOpenSky(FakeOpenSkyConfig(replay=[str(opensky_data / GLOBAL)], tier="licensed",
                                       credits=100_000)) as server:
        yield server


def make_ingester(fake: FakeOpenSky, lake: Lake, poll_budget_s: float = 10.0, **env: str) -> Ingester:
    settings = load_settings({"OPENSKY_API_URL": fake.api_url, "OPENSKY_TOKEN_URL": fake.token_url,
                              "FLIGHT_LAKE": lake.uri, "FLIGHT_SPOOL_DIR": os.environ["FLIGHT_SPOOL_DIR"], **env})
    # Short timeouts and backoff keep the fault tests fast; the logic is the production one.
    client = OpenSkyClient.from_settings(settings, read_timeout_s=1.0, backoff_base_s=0.05, deadline_s=8.0)
    return Ingester(settings, lake=lake, client=client, writer="test", poll_budget_s=poll_budget_s)


def raw_objects(lake: Lake) -> list[str]:
    return [obj.key for obj in lake.list("raw/") if parse_raw_key(obj.key)]


@pytest.mark.slow
def test_every_recorded_file_lands_byte_exact_and_round_trips(opensky_data: Path, lake: Lake) -> None:
    expected: dict[str, bytes] = {}
    for _name, body in iter_recorded_bodies([opensky_data]):
        parsed = parse_snapshot(body, allow_bare_array=True)
        expected.setdefault(f"{parsed.time}_{parsed.sha8}", body)
    results = list(land_recorded(lake, [opensky_data]))
    assert all(r.error is None for r in results), [r.error for r in results if r.error]
    keys = raw_objects(lake)
    # One object per distinct body; the DC capture repeats identical bodies and repeats `time` with new bodies.
    assert len(keys) == len(expected)
    for key in keys:
        time_, sha8 = parse_raw_key(key)  # type: ignore[misc]
        assert gzip.decompress(lake.get(key)) == expected[f"{time_}_{sha8}"]
        assert key.startswith(time.strftime("raw/states/year=%Y/month=%m/day=%d/hour=%H/", time.gmtime(time_)))
    dc_times = [parse_raw_key(k)[0] for k in keys if k.split("/")[2] == "year=2023"]  # type: ignore[index]
    assert len(dc_times) > len(set(dc_times)), "same time with a different body must keep both objects"
    # The bare array is dated by its newest last_contact; metadata says so.
    bare = json.loads((opensky_data / "states_netherlands_bare_array.json").read_bytes())
    bare_time = max(row[4] for row in bare)
    bare_key = next(k for k in keys if parse_raw_key(k)[0] == bare_time)  # type: ignore[index]
    assert lake.head(bare_key)["time-source"] == "max_last_contact"  # type: ignore[index]
    # Landing again changes nothing.
    again = list(land_recorded(lake, [opensky_data]))
    assert not any(r.result and r.result.created for r in again) and raw_objects(lake) == keys


def test_poll_lands_the_body_byte_exact_with_metadata(fake: FakeOpenSky, lake: Lake, opensky_data: Path) -> None:
    result = make_ingester(fake, lake).poll()
    assert result.status == "landed", result.message
    assert result.key == "raw/states/year=2025/month=08/day=30/hour=18/1756577883_" + result.key[-16:]
    assert result.partition_key == "2025-08-30-18:00" and result.states == 10_578
    assert gzip.decompress(lake.get(result.key)) == (opensky_data / GLOBAL).read_bytes()
    meta = lake.head(result.key)
    assert meta is not None
    assert meta["http-status"] == "200" and meta["states"] == "10578" and meta["writer"] == "test"
    assert meta["source-url"] == f"{fake.api_url}/states/all" and int(meta["credits-remaining"]) == 100_000 - 4
    assert "fetched-at" in meta


def test_oauth_token_is_used_refreshed_and_kept_secret(opensky_data: Path, tmp_path: Path) -> None:
    config = FakeOpenSkyConfig(replay=[str(opensky_data / GLOBAL)], client_id="me", client_secret="s3cr3t",
                               tier="licensed")
    with FakeOpenSky(config) as server:
        lake = LocalLake(tmp_path / "lake")
        ingester = make_ingester(server, lake, OPENSKY_CLIENT_ID="me", OPENSKY_CLIENT_SECRET="s3cr3t",
                                 OPENSKY_TIER="licensed")
        t0 = time.time()
        assert ingester.poll(now=t0).status == "landed"
        assert server.credits_remaining("me") == 14_400 - 4  # billed to the client, not anonymous
        server.expire_tokens()  # the cached token is now refused with 401: one refresh and retry
        second = ingester.poll(now=t0 + 30)
        assert second.status in ("landed", "duplicate"), second.message
        assert server.requests_served == 3  # first, the 401, the retry
        stored = b"".join(p.read_bytes() for p in (tmp_path / "lake").rglob("*") if p.is_file())
        assert b"s3cr3t" not in stored


def test_bad_client_secret_is_a_clear_error(opensky_data: Path, tmp_path: Path) -> None:
    config = FakeOpenSkyConfig(replay=[str(opensky_data / GLOBAL)], client_id="me", client_secret="right")
    with FakeOpenSky(config) as server:
        result = make_ingester(server, LocalLake(tmp_path), OPENSKY_CLIENT_ID="me",
                               OPENSKY_CLIENT_SECRET="wrong").poll()
    assert result.failed and "OPENSKY_CLIENT_ID and OPENSKY_CLIENT_SECRET" in result.message
    assert "wrong" not in result.message


def test_429_pauses_every_ingester_without_calling_the_server(fake: FakeOpenSky, lake: Lake) -> None:
    fake.enqueue({"kind": "429", "retry_after": 61_200})  # 17 hours
    t0 = time.time()
    first = make_ingester(fake, lake).poll(now=t0)
    assert first.status == "rate_limited" and "61,200 s" in first.message and "17.0 h" in first.message
    served = fake.requests_served
    for later in (30, 3_600, 61_000):
        skipped = make_ingester(fake, lake).poll(now=t0 + later)  # a fresh ingester: the pause is in the lake
        assert skipped.status == "rate_limited" and skipped.skip_reason == "rate_limited"
    assert fake.requests_served == served
    resumed = make_ingester(fake, lake).poll(now=t0 + 61_201)
    assert resumed.status == "landed" and fake.requests_served == served + 1


@pytest.mark.parametrize("faults", [[{"status": 500}, {"status": 503}], [{"kind": "reset"}],
                                    [{"kind": "delay", "seconds": 2.5}]], ids=["5xx", "reset", "timeout"])
def test_transient_failures_are_retried(fake: FakeOpenSky, tmp_path: Path, faults: list[dict[str, object]]) -> None:
    fake.enqueue(*faults)
    result = make_ingester(fake, LocalLake(tmp_path)).poll()
    assert result.status == "landed", result.message
    assert fake.requests_served == len(faults) + 1


def test_persistent_5xx_gives_up_within_the_deadline(fake: FakeOpenSky, tmp_path: Path) -> None:
    fake.enqueue(*[{"status": 503}] * 10)
    started = time.monotonic()
    result = make_ingester(fake, LocalLake(tmp_path)).poll()
    assert result.failed and "HTTP 503" in result.message and "4 attempts" in result.message
    assert time.monotonic() - started < 8
    assert raw_objects(LocalLake(tmp_path)) == []


@pytest.mark.parametrize(("fault", "words"), [
    ({"kind": "truncate"}, "truncated JSON"),
    ({"kind": "html"}, "not JSON"),
    ({"kind": "body", "body": "Too many requests"}, "not JSON"),
    ({"kind": "body", "body": "[]"}, "not an object with 'time' and 'states'"),
])
def test_bad_bodies_are_clear_errors_and_land_nothing(
    fake: FakeOpenSky, tmp_path: Path, fault: dict[str, object], words: str
) -> None:
    fake.enqueue(fault)
    lake = LocalLake(tmp_path)
    result = make_ingester(fake, lake).poll()
    assert result.failed and words in result.message and "HTTP 200" in result.message
    assert "first bytes" in result.message or "'time'" in result.message
    assert raw_objects(lake) == []
    assert fake.requests_served == 1  # a bad 200 cost credits already: not retried, the next poll tries


@pytest.mark.parametrize("row_length", [13, 17, 18, 19])
def test_rows_of_any_known_length_land_as_they_came(fake: FakeOpenSky, lake: Lake, row_length: int) -> None:
    row = ["3c6444", "DLH9LF  ", "Germany", 1756577880, 1756577881, 8.5, 50.0, 11000, False, 230.1, 91.0, 0,
           None, 11200.5, "1000", False, 0, 3, "x"][:row_length]
    body = json.dumps({"time": 1756577881, "states": [row, row[:]]}).encode()
    fake.enqueue({"kind": "body", "body": body.decode()})
    result = make_ingester(fake, lake).poll()
    assert result.status == "landed" and result.states == 2
    assert gzip.decompress(lake.get(result.key)) == body  # type: ignore[arg-type]


def test_a_malformed_row_lands_with_its_snapshot_and_is_quarantined_by_the_hourly_build(
    fake: FakeOpenSky, lake: Lake
) -> None:
    """Landing checks the envelope, not each row: a state that is not an array of at least 13 fields no longer
    throws the whole snapshot away; the hourly build quarantines that row (`malformed_row`) and keeps the others."""
    from flight_assets.states.validation import build_validated_hour

    good = ["3c6444", "DLH9LF  ", "Germany", 1756577880, 1756577881, 8.5, 50.0, 11000, False, 230.1, 91.0, 0,
            None, 11200.5, "1000", False, 0]
    body = json.dumps({"time": 1756577881, "states": [good, good[:12], "4b1817", {"icao24": "4b1818"}]}).encode()
    fake.enqueue({"kind": "body", "body": body.decode()})
    result = make_ingester(fake, lake).poll()
    assert result.status == "landed" and result.states == 4, result.message
    hour = build_validated_hour([(result.key, lake.get(result.key))])  # type: ignore[arg-type]
    assert hour.validated["icao24"].to_pylist() == ["3c6444"]
    quarantined = hour.quarantine.to_pylist()
    assert [(q["row_index"], q["reason"]) for q in quarantined] == [(1, "malformed_row"), (2, "malformed_row"),
                                                                     (3, "malformed_row")]
    assert all(q["source_key"] == result.key and q["detail"] for q in quarantined)


def test_states_null_is_an_empty_snapshot(fake: FakeOpenSky, lake: Lake) -> None:
    fake.enqueue({"kind": "body", "body": '{"time": 1756577900, "states": null}'})
    result = make_ingester(fake, lake).poll()
    assert result.status == "landed" and result.states == 0
    assert gzip.decompress(lake.get(result.key)) == b'{"time": 1756577900, "states": null}'  # type: ignore[arg-type]


def test_redirects_are_followed(fake: FakeOpenSky, tmp_path: Path) -> None:
    lake = LocalLake(tmp_path)
    ingester = make_ingester(fake, lake, OPENSKY_API_URL=fake.api_url.replace("/api", "/redirect/api"))
    result = ingester.poll()
    assert result.status == "landed", result.message


def test_concurrent_landings_of_one_body_make_one_object(lake: Lake, opensky_data: Path) -> None:
    body = (opensky_data / GLOBAL).read_bytes()
    parsed = parse_snapshot(body)
    barrier = threading.Barrier(4)
    created: list[bool] = []

    def land() -> None:
        barrier.wait()
        created.append(land_snapshot(lake, body, parsed, {"writer": "test"}).created)

    threads = [threading.Thread(target=land) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(created) == [False, False, False, True]
    assert len(raw_objects(lake)) == 1
    assert [p for p in lake.list("raw/") if "tmp" in p.key] == []  # no temp files left behind


def snapshot_body(snapshot_time: int) -> str:
    row = ["3c6444", "DLH9LF  ", "Germany", snapshot_time, snapshot_time, 8.5, 50.0, 11000, False, 230.1, 91.0, 0,
           None, 11200.5, "1000", False, 0]
    return json.dumps({"time": snapshot_time, "states": [row]})


def test_a_body_storage_refused_is_spooled_and_lands_first_at_the_next_poll(
    fake: FakeOpenSky, s3_bucket: str, s3_proxy: S3FaultProxy, moto_server: object
) -> None:
    lake = S3Lake(f"s3://{s3_bucket}/lake", endpoint_url=s3_proxy.url)
    ingester = make_ingester(fake, lake)
    fake.enqueue({"kind": "body", "body": snapshot_body(1_756_577_883)},
                 {"kind": "body", "body": snapshot_body(1_756_578_747)})
    s3_proxy.fail_next(1, lambda method, path: method == "PUT" and "/raw/" in path)  # AccessDenied: no retry helps
    t0 = time.time()
    failed = ingester.poll(now=t0)
    assert failed.failed and s3_proxy.failed
    assert "could not land it" in failed.message and "AccessDenied (HTTP 403)" in failed.message
    assert f"s3://{s3_bucket}/lake/raw/states/year=2025" in failed.message
    assert "kept it in the spool at " in failed.message and "the next poll lands it first" in failed.message
    assert "nothing was written" not in failed.message and raw_objects(lake) == []
    assert len(ingester.spool.pending()) == 1
    retried = ingester.poll(now=t0 + 864)  # the failed poll spent its credits: the next slot (anonymous: 864 s)
    assert retried.status == "landed" and retried.message.startswith("first landed 1 snapshot(s) kept in the spool")
    [recovered] = retried.recovered
    assert recovered.endswith(f"/1756577883_{parse_snapshot(snapshot_body(1_756_577_883).encode()).sha8}.json.gz")
    # Nothing paid for is lost: two bodies fetched, two landed, byte-exact, and the spool is empty.
    assert fake.requests_served == 2 and sorted(raw_objects(lake)) == sorted([recovered, retried.key])
    assert gzip.decompress(lake.get(recovered)) == snapshot_body(1_756_577_883).encode()
    assert lake.head(recovered)["time-source"] == "api"  # type: ignore[index]
    assert ingester.spool.pending() == []


def test_s3_errors_name_the_object(s3_proxy: S3FaultProxy, s3_bucket: str) -> None:
    lake = S3Lake(f"s3://{s3_bucket}", endpoint_url=s3_proxy.url)
    s3_proxy.fail_next(1, lambda method, path: method == "GET")
    with pytest.raises(LakeError, match=rf"S3 GET of s3://{s3_bucket}/x.json failed: AccessDenied"):
        lake.get("x.json")


def test_a_very_small_box_is_sent_exactly(fake: FakeOpenSky, tmp_path: Path) -> None:
    # 0.00003° a side: `:g` formatting rounded it to lamin == lamax, an empty box OpenSky answers 400 to.
    box = "50.00001,8.00001,50.00004,8.00004"
    ingester = make_ingester(fake, LocalLake(tmp_path), OPENSKY_BBOX=box)
    assert ingester.client.states_url(ingester.settings.bbox) == (
        f"{fake.api_url}/states/all?lamin=50.00001&lomin=8.00001&lamax=50.00004&lomax=8.00004"
    )
    result = ingester.poll()
    assert result.status == "landed", result.message
    assert fake.requests_served == 1


@pytest.mark.slow
def test_hung_storage_costs_a_poll_its_budget_at_most_and_loses_nothing(
    fake: FakeOpenSky, s3_bucket: str, s3_proxy: S3FaultProxy, moto_server: object
) -> None:
    # S3 accepts connections and never answers (before: 20-s read timeout × 3 attempts = 83 s for one poll).
    budget_s, margin_s = 4.0, 1.0
    lake = S3Lake(f"s3://{s3_bucket}/lake", endpoint_url=s3_proxy.url)
    ingester = make_ingester(fake, lake, poll_budget_s=budget_s)
    fake.enqueue({"kind": "body", "body": snapshot_body(1_756_577_883)},
                 {"kind": "body", "body": snapshot_body(1_756_578_747)})
    t0 = time.time()

    # 1. Hung from the first request on: the governor's read is cut off at the deadline; nothing is paid for.
    s3_proxy.outage("hang", 600)
    started = time.monotonic()
    blocked = ingester.poll(now=t0)
    assert time.monotonic() - started < budget_s + margin_s
    assert blocked.failed and blocked.message.startswith("could not read the credit budget from the lake")
    assert fake.requests_served == 0

    # 2. Hung from the snapshot's PUT on: the PUT is cut off at the deadline and the body is spooled.
    s3_proxy.outage("hang", 600, when=lambda method, path: method == "PUT" and "/raw/" in path)
    started = time.monotonic()
    hung = ingester.poll(now=t0 + 1)
    assert time.monotonic() - started < budget_s + margin_s
    assert hung.failed and "could not land it" in hung.message and "kept it in the spool" in hung.message
    assert fake.requests_served == 1 and len(ingester.spool.pending()) == 1

    # 3. Storage answers again: the next poll lands the spooled body first, then its own.
    s3_proxy.end_outage()
    after = ingester.poll(now=t0 + 864)
    assert after.status == "landed" and len(after.recovered) == 1, after.message
    assert fake.requests_served == 2 and len(raw_objects(lake)) == 2 and ingester.spool.pending() == []


def test_an_unreadable_spool_file_is_set_aside_not_retried(fake: FakeOpenSky, tmp_path: Path) -> None:
    lake = LocalLake(tmp_path / "lake")
    ingester = make_ingester(fake, lake)
    ingester.spool.keep("1756577853_deadbeef", b"not gzip", {"writer": "test"})
    result = ingester.poll()
    assert result.status == "landed" and result.recovered == [], result.message
    assert ingester.spool.pending() == [] and [p.name for p in ingester.spool.path.glob("*.damaged")] == [
        "1756577853_deadbeef.json.gz.damaged"]
