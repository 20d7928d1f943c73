"""The project's fake OpenSky server, checked against the real API's behaviour over loopback HTTP."""

from __future__ import annotations

import itertools
import json
import math
import os
import re
import select
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from flight_assets.opensky.credits import TIER_BUDGETS, call_cost
from flight_assets.opensky.recorded import iter_recorded_bodies
from flight_assets.tools.fake_opensky import FakeOpenSky, FakeOpenSkyConfig, category_for, normalize_fault
from flight_assets_tests.hour_data import GLOBAL

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FLIGHT_OPENSKY_DATA") or REPO / ".." / "shared" / "data" / "opensky").resolve()
DC_ZIP = "states_dcmetro_20230318_900_captures.zip"
SMALL = "states_small_20180213.json"
BARE = "states_netherlands_bare_array.json"
PLENTY = 1_000_000
TIMEOUT = 5


def recorded(name: str) -> Path:
    path = DATA / name
    if not path.is_file():
        pytest.skip(
            f"recorded OpenSky data {name} not found under {DATA} (set FLIGHT_OPENSKY_DATA to its folder)"
        )
    return path


class Clock:
    """A settable clock for the server (positions, `time`, token expiry)."""

    def __init__(self, now: float = 1_756_577_883.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def serve() -> Iterator[Callable[..., FakeOpenSky]]:
    started: list[FakeOpenSky] = []

    def _serve(**options: Any) -> FakeOpenSky:
        options.setdefault("credits", PLENTY)
        server = FakeOpenSky(FakeOpenSkyConfig(**options)).start()
        started.append(server)
        return server

    yield _serve
    for server in started:
        server.stop()


def states(server: FakeOpenSky, params: Any = None, **kwargs: Any) -> requests.Response:
    return requests.get(f"{server.api_url}/states/all", params=params, timeout=TIMEOUT, **kwargs)


def token(
    server: FakeOpenSky, client_id: str, secret: str, grant: str = "client_credentials"
) -> requests.Response:
    form = {"grant_type": grant, "client_id": client_id, "client_secret": secret}
    return requests.post(server.token_url, data=form, timeout=TIMEOUT)


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2, dl = math.radians(lat1), math.radians(lat2), math.radians(lon2 - lon1)
    cos_angle = math.sin(p1) * math.sin(p2) + math.cos(p1) * math.cos(p2) * math.cos(dl)
    return 6_371_000.0 * math.acos(max(-1.0, min(1.0, cos_angle)))


# ----------------------------------------------------------------------------------------------------- replay


def test_replay_serves_the_recorded_bytes_exactly_and_cycles(serve: Callable[..., FakeOpenSky]) -> None:
    path = recorded(GLOBAL)
    server = serve(replay=[path])
    first, second = states(server), states(server)
    for number, response in enumerate((first, second), start=1):
        assert response.status_code == 200
        assert response.content == path.read_bytes()
        assert response.headers["Content-Type"].startswith("application/json")
        assert response.headers["X-Rate-Limit-Remaining"] == str(PLENTY - 4 * number)
    assert server.requests_served == 2


def test_replay_of_the_dc_zip_follows_archive_order(serve: Callable[..., FakeOpenSky]) -> None:
    path = recorded(DC_ZIP)
    expected = [body for _, body in itertools.islice(iter_recorded_bodies([path]), 3)]
    server = serve(replay=[path])
    assert [states(server).content for _ in expected] == expected


def test_replay_without_loop_answers_404_when_exhausted(serve: Callable[..., FakeOpenSky]) -> None:
    server = serve(replay=[recorded(SMALL)], loop=False)
    assert states(server).status_code == 200
    exhausted = states(server)
    assert exhausted.status_code == 404
    assert "exhausted" in exhausted.text


def test_bare_array_is_wrapped_and_dated_by_max_last_contact(serve: Callable[..., FakeOpenSky]) -> None:
    path = recorded(BARE)
    rows = json.loads(path.read_bytes())
    doc = states(serve(replay=[path])).json()
    assert doc["time"] == max(row[4] for row in rows if isinstance(row[4], int))
    assert doc["states"] == rows


def test_box_filter_keeps_only_rows_inside_and_null_when_empty(serve: Callable[..., FakeOpenSky]) -> None:
    path = recorded(GLOBAL)
    original = json.loads(path.read_bytes())
    server = serve(replay=[path])
    box = {"lamin": 45, "lomin": 5, "lamax": 55, "lomax": 15}
    response = states(server, box)
    doc = response.json()
    inside = [r for r in original["states"] if r[6] is not None and 45 <= r[6] <= 55 and 5 <= r[5] <= 15]
    assert doc["time"] == original["time"]
    assert doc["states"] == inside and len(inside) > 50
    assert response.headers["X-Rate-Limit-Remaining"] == str(PLENTY - call_cost((45, 5, 55, 15)))
    empty = states(server, {"lamin": -89, "lomin": -179, "lamax": -88, "lomax": -178}).json()
    assert empty == {"time": original["time"], "states": None}
    assert states(server, {"lamin": 45, "lomin": 5}).status_code == 400
    assert states(server, {"lamin": 55, "lomin": 5, "lamax": 45, "lomax": 15}).status_code == 400


def test_extended_adds_a_category_and_icao24_filters(serve: Callable[..., FakeOpenSky]) -> None:
    path = recorded(SMALL)
    original = json.loads(path.read_bytes())["states"]
    server = serve(replay=[path])
    rows = states(server, {"extended": 1}).json()["states"]
    assert [len(row) for row in rows] == [18] * len(original)
    assert all(0 <= row[17] <= 20 and row[17] == category_for(row[0]) for row in rows)
    assert [row[:17] for row in rows] == original
    wanted = [original[0][0], original[2][0]]
    picked = states(server, [("icao24", wanted[0]), ("icao24", wanted[1].upper())]).json()["states"]
    assert sorted(row[0] for row in picked) == sorted(wanted)


def test_retime_moves_time_to_now_and_keeps_row_offsets(serve: Callable[..., FakeOpenSky]) -> None:
    path = recorded(SMALL)
    original = json.loads(path.read_bytes())
    clock = Clock(1_800_000_000.4)
    doc = states(serve(replay=[path], retime=True, clock=clock)).json()
    assert doc["time"] == 1_800_000_000
    for before, after in zip(original["states"], doc["states"], strict=True):
        for index in (3, 4):
            if before[index] is None:
                assert after[index] is None
            else:
                assert after[index] - doc["time"] == before[index] - original["time"]


# ---------------------------------------------------------------------------------------------- auth, credits


def test_token_flow_bearer_and_expiry(serve: Callable[..., FakeOpenSky]) -> None:
    clock = Clock()
    server = serve(client_id="alice", client_secret="s3cret", credits=None, token_ttl=1800, clock=clock)
    granted = token(server, "alice", "s3cret")
    assert granted.status_code == 200
    body = granted.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 1800
    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    authed = states(server, headers=bearer)
    assert authed.status_code == 200
    standard = TIER_BUDGETS["standard"][0]
    assert authed.headers["X-Rate-Limit-Remaining"] == str(standard - 4)
    assert server.credits_remaining("alice") == standard - 4
    anonymous = states(server)
    assert anonymous.headers["X-Rate-Limit-Remaining"] == str(TIER_BUDGETS["anonymous"][0] - 4)

    bad = token(server, "alice", "wrong")
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"
    assert token(server, "alice", "s3cret", grant="password").status_code == 400
    assert states(server, headers={"Authorization": "Bearer not-a-token"}).status_code == 401

    clock.now += 1801
    assert states(server, headers=bearer).status_code == 401
    fresh = {"Authorization": f"Bearer {token(server, 'alice', 's3cret').json()['access_token']}"}
    assert states(server, headers=fresh).status_code == 200
    assert server.expire_tokens() == 2
    assert states(server, headers=fresh).status_code == 401
    assert server.credits_remaining("alice") == standard - 8


def test_credits_run_out_into_429_with_retry_after(serve: Callable[..., FakeOpenSky]) -> None:
    server = serve(credits=6, retry_after=1234)
    ok = states(server)
    assert ok.status_code == 200 and ok.headers["X-Rate-Limit-Remaining"] == "2"
    refused = states(server)
    assert refused.status_code == 429
    assert refused.content == b"Too many requests"
    assert refused.headers["Content-Type"].startswith("text/plain")
    assert refused.headers["X-Rate-Limit-Retry-After-Seconds"] == "1234"
    small_box = {"lamin": 38, "lomin": -78, "lamax": 40, "lomax": -76}  # 4 sq°: 1 credit
    cheap = states(server, small_box)
    assert cheap.status_code == 200 and cheap.headers["X-Rate-Limit-Remaining"] == "1"
    assert server.credits_remaining(None) == 1
    two_credit_box = {"lamin": 30, "lomin": -80, "lamax": 40, "lomax": -75}  # 50 sq°: 2 credits
    assert states(server, two_credit_box).status_code == 429


# ----------------------------------------------------------------------------------------------------- faults


def test_scripted_faults_in_order(serve: Callable[..., FakeOpenSky]) -> None:
    server = serve(simulate=20, seed=1)
    rows19 = json.dumps({"time": 1, "states": [["abc123", *[None] * 18]]})
    server.enqueue(
        {"status": 502},
        {"kind": "truncate"},
        {"kind": "html"},
        {"kind": "reset"},
        {"kind": "delay", "seconds": 0.5},
        {"kind": "body", "body": '{"time": 1, "states": null}'},
        {"kind": "body", "body": rows19, "status": 200},
        {"kind": "429", "retry_after": 61200},
        {"kind": "redirect"},
    )
    error = states(server)
    assert error.status_code == 502 and error.headers["Content-Type"].startswith("text/html")
    assert "<html" in error.text
    truncated = states(server)
    assert truncated.status_code == 200 and int(truncated.headers["Content-Length"]) == len(truncated.content)
    with pytest.raises(json.JSONDecodeError):
        json.loads(truncated.content)
    html = states(server)
    assert html.status_code == 200 and html.headers["Content-Type"].startswith("text/html")
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"{server.api_url}/states/all", timeout=TIMEOUT)
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(f"{server.api_url}/states/all", timeout=0.15)
    assert states(server).content == b'{"time": 1, "states": null}'
    assert states(server).content == rows19.encode()
    limited = states(server)
    assert limited.status_code == 429 and limited.content == b"Too many requests"
    assert limited.headers["X-Rate-Limit-Retry-After-Seconds"] == "61200"
    redirected = states(server, {"extended": 1})
    assert [r.status_code for r in redirected.history] == [302] and redirected.status_code == 200
    assert len(redirected.json()["states"][0]) == 18
    assert server.faults_pending == 0
    assert len(states(server).json()["states"]) == 20
    assert server.requests_served == 11  # 9 faults + the followed redirect + the last one


def test_control_endpoints_drive_a_server_over_http(serve: Callable[..., FakeOpenSky]) -> None:
    server = serve(simulate=5, client_id="bob", client_secret="pw", credits=None)
    control = f"{server.base_url}/_control"
    queued = requests.post(f"{control}/faults", json=[{"status": 503}, {"kind": "reset"}], timeout=TIMEOUT)
    assert queued.json() == {"faults_pending": 2}
    assert requests.post(f"{control}/faults", json=[{"kind": "nope"}], timeout=TIMEOUT).status_code == 400
    assert states(server).status_code == 503
    with pytest.raises(requests.exceptions.ConnectionError):
        states(server)
    bearer = {"Authorization": f"Bearer {token(server, 'bob', 'pw').json()['access_token']}"}
    assert states(server, headers=bearer).status_code == 200
    state = requests.get(f"{control}/state", timeout=TIMEOUT).json()
    assert state == {
        "requests_served": 3,
        "credits": {"anonymous": TIER_BUDGETS["anonymous"][0], "bob": TIER_BUDGETS["standard"][0] - 4},
        "faults_pending": 0,
        "history_requests": 0,
    }
    assert requests.post(f"{control}/expire-tokens", timeout=TIMEOUT).json() == {"expired": 1}
    assert states(server, headers=bearer).status_code == 401


def test_redirect_prefix_forces_a_redirect_hop(serve: Callable[..., FakeOpenSky]) -> None:
    server = serve(simulate=50, seed=2)
    url = f"{server.base_url}/redirect/api/states/all"
    params = {"lamin": 30, "lomin": -100, "lamax": 50, "lomax": -80}
    hop = requests.get(url, params=params, allow_redirects=False, timeout=TIMEOUT)
    assert hop.status_code == 302
    assert hop.headers["Location"] == "/api/states/all?lamin=30&lomin=-100&lamax=50&lomax=-80"
    followed = requests.get(url, params=params, timeout=TIMEOUT)
    assert followed.status_code == 200 and followed.history[0].status_code == 302
    assert server.requests_served == 1


def test_random_fault_rates(serve: Callable[..., FakeOpenSky]) -> None:
    failing = serve(simulate=5, error_rate=1.0, latency_ms=50)
    response = states(failing)
    assert response.status_code == 503 and "<html" in response.text
    assert response.elapsed.total_seconds() >= 0.05
    truncating = serve(simulate=5, truncate_rate=1.0)
    with pytest.raises(json.JSONDecodeError):
        json.loads(states(truncating).content)
    assert states(serve(simulate=5, html_rate=1.0)).headers["Content-Type"].startswith("text/html")


def test_bad_configuration_and_faults_are_refused() -> None:
    with pytest.raises(ValueError, match="not both"):
        FakeOpenSkyConfig(replay=["x.json"], simulate=3)
    with pytest.raises(ValueError, match="error-rate"):
        FakeOpenSkyConfig(error_rate=1.5)
    with pytest.raises(ValueError, match="tier"):
        FakeOpenSkyConfig(tier="gold")
    with pytest.raises(ValueError, match="unknown fault kind"):
        normalize_fault({"kind": "explode"})
    with pytest.raises(ValueError, match="seconds"):
        normalize_fault({"kind": "delay", "seconds": "soon"})
    assert normalize_fault({"status": 429}) == {"kind": "429", "retry_after": None}


# ------------------------------------------------------------------------------------------------- simulation


def test_simulation_has_the_real_feeds_oddities_and_moves(serve: Callable[..., FakeOpenSky]) -> None:
    clock = Clock()
    server = serve(simulate=2000, seed=7, clock=clock)
    first = states(server).json()
    rows = first["states"]
    assert first["time"] == int(clock.now) and len(rows) == 2000
    assert {len(row) for row in rows} == {17}
    assert all(re.fullmatch(r"[0-9a-f]{6}", row[0]) for row in rows)
    assert len({row[0] for row in rows}) == 2000
    assert all(len(row[1]) in (0, 8) for row in rows)
    assert any(row[1] == "" for row in rows) and any(row[1] == " " * 8 for row in rows)
    assert any(" " in row[1].strip() for row in rows)
    nulls = [row for row in rows if row[5] is None]
    assert nulls and all(row[6] is None and row[3] is None and row[9] is not None for row in nulls)
    flarm = [row for row in rows if row[16] == 3]
    assert flarm and all(row[2] == "" for row in flarm) and any(row[10] < 0 for row in flarm)
    assert any(row[8] for row in rows) and any(isinstance(row[7], int) for row in rows)
    assert any(row[7] is not None and row[7] < 0 for row in rows)
    assert any(row[3] is not None and first["time"] - row[3] >= 60 for row in rows)
    assert all(row[4] <= first["time"] for row in rows)
    assert any(row[14] is None for row in rows) and any(isinstance(row[14], str) for row in rows)
    assert len({row[2] for row in rows}) >= 25

    twin = serve(simulate=2000, seed=7, clock=Clock(clock.now))
    assert states(twin).content == states(server).content  # deterministic for a seed and a time

    clock.now += 30
    later = {row[0]: row for row in states(server).json()["states"]}
    moved = 0
    for row in rows:
        after = later[row[0]]
        if row[5] is None or row[8] or not 100 < row[9] < 400:
            continue
        travelled = distance_m(row[6], row[5], after[6], after[5])
        assert travelled == pytest.approx(row[9] * 30, rel=0.02, abs=30)
        moved += 1
    assert moved > 1000
    extended = states(server, {"extended": 1, "lamin": 20, "lomin": -130, "lamax": 55, "lomax": -60}).json()
    assert extended["states"] and all(len(row) == 18 and 20 <= row[6] <= 55 for row in extended["states"])


def test_default_source_is_500_simulated_aircraft(serve: Callable[..., FakeOpenSky]) -> None:
    assert len(states(serve()).json()["states"]) == 500


# ------------------------------------------------------------------------------------------------- subprocess

RUN_SCRIPT = (
    "import sys, argparse; from flight_assets.tools import fake_opensky as f; p=argparse.ArgumentParser(); "
    "f.add_arguments(p); sys.exit(f.run(p.parse_args(sys.argv[1:])))"
)


def test_cli_run_prints_its_url_serves_and_stops_on_sigterm() -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    env["FAKE_OPENSKY_CLIENT_ID"], env["FAKE_OPENSKY_CLIENT_SECRET"] = "carol", "pw"
    process = subprocess.Popen(
        [sys.executable, "-c", RUN_SCRIPT, "--simulate", "30", "--seed", "3", "--credits", "10"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 15)
        assert ready, "fake-opensky printed no URL line within 15 s"
        line = process.stdout.readline().strip()
        match = re.fullmatch(r"fake-opensky listening on (http://127\.0\.0\.1:\d+/api)", line)
        assert match, f"unexpected first line {line!r}"
        api = match.group(1)
        response = requests.get(f"{api}/states/all", timeout=TIMEOUT)
        assert response.status_code == 200 and len(response.json()["states"]) == 30
        assert response.headers["X-Rate-Limit-Remaining"] == "6"
        base = api.removesuffix("/api")
        form = {"grant_type": "client_credentials", "client_id": "carol", "client_secret": "pw"}
        granted = requests.post(
            f"{base}/auth/realms/opensky-network/protocol/openid-connect/token", data=form, timeout=TIMEOUT
        )
        assert granted.status_code == 200
        os.killpg(process.pid, signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


# ---------------------------------------------------------------------------------------------------- time=


def test_time_gives_the_simulated_state_then_rounded_to_5_s_and_400_beyond_an_hour(
    serve: Callable[..., FakeOpenSky],
) -> None:
    clock = Clock(1_800_000_000.0)
    server = serve(simulate=20, client_id="bob", client_secret="pw", clock=clock, credits=100)
    bearer = {"Authorization": f"Bearer {token(server, 'bob', 'pw').json()['access_token']}"}
    newest = states(server, headers=bearer).json()
    past = states(server, {"time": 1_800_000_000 - 603}, headers=bearer)
    assert past.status_code == 200
    doc = past.json()
    assert doc["time"] == 1_800_000_000 - 605  # rounded down to 5 s
    assert all(row[4] <= doc["time"] for row in doc["states"])
    assert doc["states"] != newest["states"]  # the fleet where it was then
    # The same past time twice is the same body (a repair run twice lands it once).
    assert states(server, {"time": 1_800_000_000 - 601}, headers=bearer).content == past.content
    too_old = states(server, {"time": 1_800_000_000 - 3601}, headers=bearer)
    assert too_old.status_code == 400 and "last hour" in too_old.text
    assert states(server, {"time": "yesterday"}, headers=bearer).status_code == 400
    assert server.history_requests == [1_800_000_000 - 605, 1_800_000_000 - 605]
    assert server.credits_remaining("bob") == 100 - 3 * 4  # a 400 costs nothing


def test_time_is_ignored_for_anonymous_callers(serve: Callable[..., FakeOpenSky]) -> None:
    clock = Clock(1_800_000_000.0)
    server = serve(simulate=20, clock=clock)
    doc = states(server, {"time": 1_800_000_000 - 3601}).json()  # not even checked: ignored
    assert doc["time"] == 1_800_000_000
    assert server.history_requests == []


def test_time_on_a_replay_answers_what_was_served_then(serve: Callable[..., FakeOpenSky]) -> None:
    clock = Clock(1_800_000_000.0)
    server = serve(replay=[recorded(GLOBAL)], retime=True, client_id="bob", client_secret="pw", clock=clock)
    bearer = {"Authorization": f"Bearer {token(server, 'bob', 'pw').json()['access_token']}"}
    nothing_yet = states(server, {"time": 1_800_000_000}, headers=bearer)
    assert nothing_yet.status_code == 404 and "nothing was served" in nothing_yet.text
    assert server.credits_remaining("bob") == PLENTY  # not charged
    served = {}
    for step in range(3):
        clock.now = 1_800_000_000.0 + 30 * step
        served[int(clock.now)] = states(server, headers=bearer).content
    clock.now += 600
    assert states(server, {"time": 1_800_000_030}, headers=bearer).content == served[1_800_000_030]
    assert states(server, {"time": 1_800_000_055}, headers=bearer).content == served[1_800_000_030]
    assert states(server, {"time": 1_800_000_060}, headers=bearer).content == served[1_800_000_060]
