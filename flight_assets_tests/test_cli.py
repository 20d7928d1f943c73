"""The `flight-assets` command as a user runs it: a subprocess, real servers, exit codes and sentences."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from flight_assets.tools.fake_opensky import FakeOpenSky, FakeOpenSkyConfig
from flight_assets_tests.hour_data import GLOBAL
from flight_assets_tests.servers import EchoingOpenSky, S3FaultProxy


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flight_assets.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def test_land_prints_counts_and_warns_about_old_snapshots(opensky_data: Path, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    result = run_cli("land", str(opensky_data / GLOBAL), str(opensky_data / "states_legacy13_20170108T200040Z.json"),
                     env={"FLIGHT_LAKE": str(lake)})
    assert result.returncode == 0, result.stderr
    assert "2 landed, 0 already there, 0 rejected, 12,617 states" in result.stdout
    assert "1 snapshot(s) are dated before FLIGHT_PARTITIONS_START" in result.stderr
    again = run_cli("land", str(opensky_data / GLOBAL), env={"FLIGHT_LAKE": str(lake)})
    assert "0 landed, 1 already there" in again.stdout


def test_land_rejects_what_is_not_a_response(tmp_path: Path) -> None:
    bad = tmp_path / "page.json"
    bad.write_text("<html><body>502 Bad Gateway</body></html>")
    result = run_cli("land", str(bad), env={"FLIGHT_LAKE": str(tmp_path / "lake")})
    assert result.returncode == 1 and "rejected" in result.stderr and "not JSON" in result.stderr
    assert "Traceback" not in result.stderr
    missing = run_cli("land", str(tmp_path / "nope.json"), env={"FLIGHT_LAKE": str(tmp_path / "lake")})
    assert missing.returncode == 1 and "no such file or folder" in missing.stderr


def test_ingest_once_against_a_fake_opensky_process(opensky_data: Path, tmp_path: Path) -> None:
    server = subprocess.Popen(
        [sys.executable, "-m", "flight_assets.cli", "fake-opensky", "--replay", str(opensky_data / GLOBAL)],
        stdout=subprocess.PIPE, text=True, start_new_session=True,
    )
    try:
        line = server.stdout.readline()  # type: ignore[union-attr]
        assert line.startswith("fake-opensky listening on http://127.0.0.1:")
        api_url = line.split()[-1]
        lake = tmp_path / "lake"
        env = {"OPENSKY_API_URL": api_url, "FLIGHT_LAKE": str(lake)}
        first = run_cli("ingest", "--once", env=env)
        assert first.returncode == 0 and "landed: landed 10,578 states at raw/states/year=2025" in first.stdout
        [landed] = list(lake.rglob("*.json.gz"))
        assert gzip.decompress(landed.read_bytes()) == (opensky_data / GLOBAL).read_bytes()
        second = run_cli("ingest", "--once", env=env)  # anonymous: next poll in 864 s
        assert second.returncode == 0 and "skipped: next poll due" in second.stdout
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        assert server.wait(timeout=10) == 0


def test_ingest_failure_exits_non_zero_with_a_sentence(tmp_path: Path) -> None:
    with FakeOpenSky(FakeOpenSkyConfig(simulate=10)) as server:
        server.enqueue({"kind": "html"})
        result = run_cli("ingest", "--once", env={"OPENSKY_API_URL": server.api_url,
                                                   "FLIGHT_LAKE": str(tmp_path / "lake")})
    assert result.returncode == 1 and "error: unusable response" in result.stdout
    assert "Traceback" not in result.stderr


def test_query_command_prints_results_and_sentences(tmp_path: Path) -> None:
    env = {"FLIGHT_LAKE": str(tmp_path / "empty-lake")}
    empty = run_cli("query", "SELECT count(*) AS n FROM validated_states", env=env)
    assert empty.returncode == 1 and empty.stdout == ""  # not "0": there is no lake (test_query.py has the rest)
    assert empty.stderr.startswith("error: there is no lake at FLIGHT_LAKE=")
    as_json = run_cli("query", "SELECT 1 AS one", "--format", "json", env=env)
    assert as_json.returncode == 0 and json.loads(as_json.stdout) == [{"one": 1}]
    bad = run_cli("query", "SELEC 1", env=env)
    assert bad.returncode == 1 and bad.stderr.startswith("error: Parser Error") and "Traceback" not in bad.stderr


def test_a_lake_path_that_cannot_be_a_folder_is_one_sentence_naming_flight_lake(
    opensky_data: Path, tmp_path: Path
) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    cases = [(a_file, f"FLIGHT_LAKE='{a_file}' is a file, not a folder; point it at a folder for the lake"),
             (a_file / "lake", f"FLIGHT_LAKE='{a_file / 'lake'}' cannot be a folder: {a_file} is a file")]
    for lake, sentence in cases:
        for args in (["land", str(opensky_data / GLOBAL)], ["ingest", "--once"], ["query", "SELECT 1"]):
            result = run_cli(*args, env={"FLIGHT_LAKE": str(lake), "OPENSKY_API_URL": "http://127.0.0.1:9"})
            assert result.returncode == 2, (args, result.stderr)
            assert result.stderr == f"error: {sentence}\n", args
        via_option = run_cli("land", str(opensky_data / GLOBAL), "--lake", str(lake))  # checked like FLIGHT_LAKE
        assert via_option.returncode == 2 and sentence in via_option.stderr


def test_a_write_that_fails_inside_the_lake_is_one_sentence_naming_flight_lake(
    opensky_data: Path, tmp_path: Path
) -> None:
    # Root may write anywhere, so an unwritable spot is made with a file where the lake needs a folder.
    lake = tmp_path / "lake"
    lake.mkdir()
    (lake / "raw").write_text("in the way")
    (lake / "_state").write_text("in the way")
    landed = run_cli("land", str(opensky_data / GLOBAL), env={"FLIGHT_LAKE": str(lake)})
    assert landed.returncode == 1 and "Traceback" not in landed.stderr
    assert landed.stderr.startswith("error: could not write raw/states/year=2025/month=08/day=30/hour=18/")
    assert f"in the lake FLIGHT_LAKE={lake}: a file stands where a folder is needed ({lake}/raw/" in landed.stderr
    polled = run_cli("ingest", "--once", env={"FLIGHT_LAKE": str(lake), "OPENSKY_API_URL": "http://127.0.0.1:9"})
    assert polled.returncode == 1 and "Traceback" not in polled.stderr + polled.stdout
    assert ("error: could not read the credit budget from the lake: could not update _state/credit_governor.json "
            f"in the lake FLIGHT_LAKE={lake}: a file stands where a folder is needed ({lake}/_state)") in polled.stdout


def test_land_names_an_empty_or_damaged_zip(opensky_data: Path, tmp_path: Path) -> None:
    empty, damaged = tmp_path / "empty.zip", tmp_path / "damaged.zip"
    empty.write_bytes(b"")
    damaged.write_bytes((opensky_data / GLOBAL).read_bytes()[:500])
    env = {"FLIGHT_LAKE": str(tmp_path / "lake")}
    result = run_cli("land", str(empty), env=env)
    assert (result.returncode, result.stderr) == (
        1, f"error: {empty} is not a readable zip archive: it is an empty file (0 bytes)\n")
    result = run_cli("land", str(opensky_data / GLOBAL), str(damaged), env=env)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr == f"error: {damaged} is not a readable zip archive: it is damaged (File is not a zip file)\n"
    assert not (tmp_path / "lake").exists()  # checked before anything landed


def test_land_says_which_files_it_ignored_and_fails_when_nothing_is_landable(
    opensky_data: Path, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    csvs = tmp_path / "csvs"
    csvs.mkdir()
    for name in ("a.csv", "b.csv"):
        (csvs / name).write_text("icao24,callsign\n")
    env = {"FLIGHT_LAKE": str(tmp_path / "lake")}
    for paths, ignored in (([notes], [notes]), ([csvs], [csvs / "a.csv", csvs / "b.csv"])):
        result = run_cli("land", *map(str, paths), env=env)
        assert result.returncode == 1 and "landed" not in result.stdout
        assert result.stderr.splitlines() == [
            *(f"ignored {path}: not a .json response or a .zip archive of them" for path in ignored),
            f"error: nothing to land in {paths[0]}: {len(ignored)} file(s) ignored; "
            "`land` reads .json responses and .zip archives of them",
        ]
    (csvs / "snapshot.json").write_bytes((opensky_data / GLOBAL).read_bytes())
    mixed = run_cli("land", str(csvs), env=env)
    assert mixed.returncode == 0 and mixed.stdout.startswith("1 landed, 0 already there, 0 rejected")
    assert f"ignored {csvs / 'a.csv'}: not a .json response" in mixed.stderr


SECRET = "s3cr3t-0f-the-echo-test"


@pytest.mark.parametrize("token", ["error", "json", "not-json", "ok"])
def test_no_secret_is_ever_echoed(tmp_path: Path, token: str) -> None:
    # Token endpoints and proxies that echo the request put the client secret (or the API the bearer token)
    # into their error bodies; the sentence the user reads must show neither, in text or JSON output.
    with EchoingOpenSky(token) as echo:
        env = {"OPENSKY_API_URL": f"{echo.url}/api", "OPENSKY_TOKEN_URL": f"{echo.url}/token",
               "OPENSKY_CLIENT_ID": "me", "OPENSKY_CLIENT_SECRET": SECRET, "OPENSKY_TIER": "standard"}
        results = [run_cli("ingest", "--once", *flags, env={**env, "FLIGHT_LAKE": str(tmp_path / f"lake{i}")})
                   for i, flags in enumerate([[], ["--json"]])]
    for result in results:
        output = result.stdout + result.stderr
        assert result.returncode == 1 and "Traceback" not in output
        assert SECRET not in output and SECRET[:6] not in output and EchoingOpenSky.TOKEN[:12] not in output
    sentence = results[0].stdout.strip()
    assert len(sentence.splitlines()) == 1 and " error: " in sentence
    assert ("HTTP 400" if token == "ok" else "token endpoint") in sentence
    assert "***" in sentence  # what was echoed is still shown, with the secret masked


@pytest.mark.slow
@pytest.mark.parametrize("outage_s", [2.0, 8.0])
def test_ingest_once_survives_a_short_s3_outage_after_the_fetch(
    opensky_data: Path, s3_bucket: str, s3_proxy: S3FaultProxy, outage_s: float
) -> None:
    # S3 drops every connection for a while from the snapshot's PUT on: the PUT is retried within the poll's
    # 27-s deadline, so the snapshot that cost 4 credits lands instead of being dropped.
    s3_proxy.outage("drop", outage_s, when=lambda method, path: method == "PUT" and "/raw/" in path)
    with FakeOpenSky(FakeOpenSkyConfig(replay=[str(opensky_data / GLOBAL)])) as server:
        started = time.monotonic()
        result = run_cli("ingest", "--once", env={"OPENSKY_API_URL": server.api_url, "AWS_ENDPOINT_URL": s3_proxy.url,
                                                   "FLIGHT_LAKE": f"s3://{s3_bucket}/lake"})
        elapsed = time.monotonic() - started
        fetched, spent = server.requests_served, 400 - server.credits_remaining()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "landed: landed 10,578 states at raw/states/year=2025" in result.stdout and "Traceback" not in result.stderr
    assert len(s3_proxy.refused) >= 2 and outage_s < elapsed < 27
    s3 = boto3.client("s3", endpoint_url=s3_proxy.url, region_name="us-east-1")
    raw = [o["Key"] for o in s3.list_objects_v2(Bucket=s3_bucket, Prefix="lake/raw/").get("Contents", [])
           if o["Key"].endswith(".json.gz")]
    assert (fetched, spent, len(raw)) == (1, 4, 1)  # one body paid for (4 credits), one landed
    body = s3.get_object(Bucket=s3_bucket, Key=raw[0])["Body"].read()
    assert gzip.decompress(body) == (opensky_data / GLOBAL).read_bytes()
