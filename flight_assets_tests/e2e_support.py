"""End-to-end support: a real `dagster dev` (webserver + daemon), a real PostgreSQL server, and the flow both the
end-to-end and the browser tests run against — all started here, on 127.0.0.1, and stopped by process group.

The flow (`E2EFlow.start`): real recorded data re-timed into 2025-08-30 18:00–20:00 UTC is landed in an S3 lake on
moto's server; `dagster dev` starts against it and against fake-opensky (licensed tier: a 30-s cadence) with the
poll sensor on; the landing sensor reports the three hours; a backfill of `validated_states` + `country_aggregates`
for those hours is launched through GraphQL and the daemon runs it; meanwhile the poll sensor lands snapshots of
the current hour. Tests then only read what happened, through GraphQL, the lake and the CLI.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import pwd
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from flight_assets.lake.layout import PARTITION_KEY_FORMAT
from flight_assets.lake.store import S3Lake
from flight_assets.tools.demo import dagster_dev_command
from flight_assets.tools.fake_opensky import FakeOpenSky, FakeOpenSkyConfig
from flight_assets.tools.processes import stop_process_group
from flight_assets_tests.hour_data import GLOBAL, land_bodies, load_global, retimed_body
from flight_assets_tests.servers import free_port, poll_until

REPO_ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
REPOSITORY = "__repository__"


def workspace_locations() -> dict[str, str]:
    """Module → code location name, as workspace.yaml (the one home of both) declares them."""
    import yaml

    entries = yaml.safe_load((REPO_ROOT / "workspace.yaml").read_text())["load_from"]
    return {e["python_module"]["module_name"]: e["python_module"]["location_name"] for e in entries}


LOCATION = workspace_locations()["flight_assets.definitions"]
POLLER_LOCATION = workspace_locations()["flight_assets.poll_definitions"]

HOURS = ["2025-08-30-18:00", "2025-08-30-19:00", "2025-08-30-20:00"]
FIRST_HOUR_START = 1_756_576_800  # 2025-08-30T18:00:00Z
SNAPSHOT_OFFSETS_S = (120, 1_920)  # two real snapshots per hour, half an hour apart
VALIDATED_CHECKS = ("schema_contract", "quality_score", "no_duplicate_states", "value_ranges", "completeness",
                    "row_count_anomaly")
AGGREGATE_CHECKS = ("reconciliation", "has_countries")
CLIENT_ID, CLIENT_SECRET = "e2e-client", "e2e-secret"

STARTUP_TIMEOUT_S = 180
FLOW_TIMEOUT_S = 420  # the daemon picks a backfill up on its next pass (~30 s); a CI machine may be slow


# ------------------------------------------------------------------------------------------------ process groups


# ------------------------------------------------------------------------------------------------------ dagster


class GraphQLError(AssertionError):
    pass


def metadata(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """GraphQL metadata entries as {label: plain value}."""
    values: dict[str, Any] = {}
    for entry in entries:
        kind = entry["__typename"]
        if kind == "IntMetadataEntry":
            values[entry["label"]] = int(entry["intRepr"])
        elif kind == "FloatMetadataEntry":
            values[entry["label"]] = entry["floatValue"]
        elif kind == "TextMetadataEntry":
            values[entry["label"]] = entry["text"]
        elif kind == "BoolMetadataEntry":
            values[entry["label"]] = entry["boolValue"]
        elif kind == "TimestampMetadataEntry":
            values[entry["label"]] = entry["timestamp"]
        else:
            values[entry["label"]] = kind
    return values


METADATA_FIELDS = """
metadataEntries {
  __typename label
  ... on IntMetadataEntry { intRepr }
  ... on FloatMetadataEntry { floatValue }
  ... on TextMetadataEntry { text }
  ... on BoolMetadataEntry { boolValue }
  ... on TimestampMetadataEntry { timestamp }
}
"""


class DagsterDev:
    """`dagster dev -w workspace.yaml` (webserver + daemon) on a free loopback port, in its own process group."""

    def __init__(self, home: Path, env: Mapping[str, str]) -> None:
        self.home = home
        self.env = dict(env)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = home / "dagster-dev.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.session = requests.Session()

    def start(self) -> DagsterDev:
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            dagster_dev_command(self.port),
            cwd=REPO_ROOT, env={**self.env, "DAGSTER_HOME": str(self.home)}, stdin=subprocess.DEVNULL,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        log.close()
        return self

    def stop(self) -> None:
        if self.process is not None:
            stop_process_group(self.process)
            self.process = None
        self.session.close()

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"dagster dev exited with {self.process.returncode}:\n{self.log_tail()}")

    def graphql(self, query: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        response = self.session.post(f"{self.url}/graphql", json={"query": query, "variables": variables or {}},
                                     timeout=60)
        response.raise_for_status()
        doc = response.json()
        if doc.get("errors"):
            raise GraphQLError(f"GraphQL errors: {json.dumps(doc['errors'])[:2000]}")
        return doc["data"]

    def wait_ready(self, timeout: float = STARTUP_TIMEOUT_S) -> None:
        """Until the webserver answers and both code locations have loaded (a load error fails at once)."""
        query = """{ workspaceOrError { __typename ... on Workspace { locationEntries {
            name loadStatus locationOrLoadError { __typename ... on PythonError { message } } } } } }"""

        expected = set(workspace_locations().values())

        def loaded() -> bool:
            try:
                data = self.graphql(query)
            except (requests.RequestException, ValueError):
                return False
            ready = set()
            for entry in data["workspaceOrError"].get("locationEntries", []):
                location = entry["locationOrLoadError"] or {}
                if location.get("__typename") == "PythonError":
                    raise AssertionError(f"code location {entry['name']} failed to load: {location['message']}")
                if location.get("__typename") == "RepositoryLocation":
                    ready.add(entry["name"])
            return ready >= expected

        poll_until(loaded, timeout, f"dagster dev at {self.url} to load {sorted(expected)}", alive=self.check_alive)

    # -- reads and writes the tests and the flow share

    def materializations(self, asset: str, partitions: list[str] | None = None) -> list[dict[str, Any]]:
        data = self.graphql(
            "query ($key: AssetKeyInput!, $partitions: [String!]) { assetOrError(assetKey: $key) { __typename "
            "... on Asset { assetMaterializations(partitions: $partitions, limit: 500) { runId partition timestamp "
            f"description {METADATA_FIELDS} }} }} }} }}",
            {"key": {"path": [asset]}, "partitions": partitions},
        )["assetOrError"]
        events = data.get("assetMaterializations", [])
        for event in events:
            event["metadata"] = metadata(event.pop("metadataEntries"))
        return events

    def check_executions(self, asset: str, check: str, partition: str | None = None) -> list[dict[str, Any]]:
        executions = self.graphql(
            "query ($key: AssetKeyInput!, $check: String!, $partition: String) { assetCheckExecutions("
            "assetKey: $key, checkName: $check, partition: $partition, limit: 50) { runId status partition "
            f"evaluation {{ success severity description partition {METADATA_FIELDS} }} }} }}",
            {"key": {"path": [asset]}, "check": check, "partition": partition},
        )["assetCheckExecutions"]
        for execution in executions:
            if execution["evaluation"]:
                execution["metadata"] = metadata(execution["evaluation"].pop("metadataEntries"))
        return executions

    def runs(self, tags: Mapping[str, str] | None = None, job: str | None = None) -> list[dict[str, Any]]:
        run_filter: dict[str, Any] = {}
        if tags:
            run_filter["tags"] = [{"key": k, "value": v} for k, v in tags.items()]
        if job:
            run_filter["pipelineName"] = job
        data = self.graphql(
            "query ($filter: RunsFilter) { runsOrError(filter: $filter) { __typename ... on Runs { results { "
            "runId status jobName tags { key value } assetSelection { path } } } ... on Error { message } } }",
            {"filter": run_filter},
        )["runsOrError"]
        if data["__typename"] != "Runs":
            raise GraphQLError(f"runsOrError: {data}")
        for run in data["results"]:
            run["tags"] = {t["key"]: t["value"] for t in run["tags"]}
        return data["results"]

    def backfill(self, backfill_id: str) -> dict[str, Any]:
        return self.graphql(
            "query ($id: String!) { partitionBackfillOrError(backfillId: $id) { __typename "
            "... on PartitionBackfill { id status numPartitions partitionNames isAssetBackfill "
            "assetSelection { path } error { message } runs { runId status tags { key value } } } "
            "... on Error { message } } }",
            {"id": backfill_id},
        )["partitionBackfillOrError"]

    def launch_backfill(self, partitions: list[str], assets: list[str]) -> str:
        result = self.graphql(
            "mutation ($params: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $params) { "
            "__typename ... on LaunchBackfillSuccess { backfillId } ... on Error { message } } }",
            {"params": {"partitionNames": partitions, "assetSelection": [{"path": [a]} for a in assets],
                        "fromFailure": False, "title": "e2e backfill"}},
        )["launchPartitionBackfill"]
        if result["__typename"] != "LaunchBackfillSuccess":
            raise GraphQLError(f"launchPartitionBackfill: {result}")
        return result["backfillId"]

    def sensor(self, name: str, location: str = LOCATION) -> dict[str, Any]:
        return self.graphql(
            "query ($selector: SensorSelector!) { sensorOrError(sensorSelector: $selector) { __typename "
            "... on Sensor { id jobOriginId sensorState { id selectorId status } } ... on Error { message } } }",
            {"selector": {"repositoryName": REPOSITORY, "repositoryLocationName": location, "sensorName": name}},
        )["sensorOrError"]

    def stop_sensor(self, name: str, location: str = LOCATION) -> str:
        sensor = self.sensor(name, location)
        state = sensor["sensorState"]
        result = self.graphql(
            "mutation ($id: String, $origin: String, $selector: String) { stopSensor(id: $id, jobOriginId: "
            "$origin, jobSelectorId: $selector) { __typename ... on StopSensorMutationResult { "
            "instigationState { status } } ... on Error { message } } }",
            {"id": state["id"], "origin": sensor["jobOriginId"], "selector": state["selectorId"]},
        )["stopSensor"]
        if result["__typename"] != "StopSensorMutationResult":
            raise GraphQLError(f"stopSensor: {result}")
        return result["instigationState"]["status"]

    def check_status_counts(self, asset: str, check: str) -> dict[str, int]:
        """How many hours each status covers in a check's Partitions tab, from GraphQL (what the UI reads)."""
        data = self.graphql(
            "query ($key: AssetKeyInput!) { assetNodeOrError(assetKey: $key) { ... on AssetNode { "
            "assetChecksOrError { ... on AssetChecks { checks { name partitionStatuses { "
            "... on AssetCheckTimePartitionStatuses { ranges { startKey endKey status } } } } } } } } }",
            {"key": {"path": [asset]}},
        )["assetNodeOrError"]["assetChecksOrError"]["checks"]
        [found] = [c for c in data if c["name"] == check]
        counts: dict[str, int] = {}
        for r in found["partitionStatuses"]["ranges"]:
            start, end = (datetime.strptime(k, PARTITION_KEY_FORMAT) for k in (r["startKey"], r["endKey"]))
            counts[r["status"]] = counts.get(r["status"], 0) + int((end - start).total_seconds() // 3600) + 1
        return counts

    def set_nux_seen(self) -> bool:
        """The UI's first-visit pop-up, marked as seen for every user of this instance."""
        return bool(self.graphql("mutation { setNuxSeen }")["setNuxSeen"])

    def should_show_nux(self) -> bool:
        return bool(self.graphql("{ shouldShowNux }")["shouldShowNux"])


# ----------------------------------------------------------------------------------------------------- postgres


def postgres_bin_dir() -> Path | None:
    """Debian's newest /usr/lib/postgresql/<version>/bin, else a `pg_ctl` on PATH; None when absent."""
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                      key=lambda p: [int(x) for x in re.findall(r"\d+", p.parent.parent.name)] or [0])
    if versions:
        return versions[-1].parent
    found = shutil.which("pg_ctl")
    return Path(found).parent if found and shutil.which("initdb") else None


class PostgresServer:
    """A throw-away PostgreSQL cluster in a temporary folder, on a free loopback port.

    initdb refuses to run as root, so as root every server command runs as the `postgres` OS user (runuser).
    """

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="flight-e2e-pg-"))
        self.data = self.root / "data"
        self.socket_dir = self.root / "socket"
        self.port = free_port()
        self.user = "dagster"
        self.password = secrets.token_hex(12)
        self.database = "flight_dagster"
        self._as_user: list[str] = []

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([*self._as_user, *args], capture_output=True, text=True, timeout=timeout,
                                cwd=self.root, env={**os.environ, "LC_ALL": "C.UTF-8"})
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:2])} failed ({result.returncode}): {result.stderr or result.stdout}")
        return result

    def start(self) -> PostgresServer:
        self.socket_dir.mkdir()
        password_file = self.root / "password"
        password_file.write_text(self.password + "\n")
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            for path in (self.root, self.socket_dir, password_file):
                os.chown(path, owner.pw_uid, owner.pw_gid)
            self._as_user = ["runuser", "-u", "postgres", "--"]
        self._run(str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", self.user, f"--pwfile={password_file}",
                  "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync")
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.socket_dir} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off")
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "server.log"),
                  "-o", options, "-w", "-t", "60", "start")
        self._run(str(self.bin_dir / "createdb"), "-h", str(self.socket_dir), "-p", str(self.port),
                  "-U", self.user, self.database)
        return self

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "-t", "30",
                          "stop")
        except (RuntimeError, subprocess.TimeoutExpired):
            with contextlib.suppress(OSError, ValueError, ProcessLookupError):
                os.kill(int((self.data / "postmaster.pid").read_text().split()[0]), signal.SIGKILL)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def query(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        """SQL over TCP with the password, as Dagster connects."""
        import psycopg2  # dagster-postgres's driver

        connection = psycopg2.connect(host="127.0.0.1", port=self.port, user=self.user, password=self.password,
                                      dbname=self.database)
        with contextlib.closing(connection), connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def dagster_storage(self) -> dict[str, Any]:
        return {"postgres": {"postgres_db": {
            "username": self.user, "password": self.password, "hostname": "127.0.0.1", "db_name": self.database,
            "port": self.port, "scheme": "postgresql+psycopg2",  # SQLAlchemy 2.1 would otherwise want psycopg 3
        }}}


# --------------------------------------------------------------------------------------------------------- flow


def hour_bodies(data_dir: Path) -> dict[str, list[bytes]]:
    """The real recorded global snapshot re-timed into each test hour, twice per hour."""
    doc = load_global(data_dir)
    return {hour: [retimed_body(doc, FIRST_HOUR_START + 3600 * i + offset) for offset in SNAPSHOT_OFFSETS_S]
            for i, hour in enumerate(HOURS)}


@dataclass
class E2EFlow:
    storage: str
    dagster: DagsterDev
    env: dict[str, str]
    lake_uri: str
    bodies: dict[str, list[bytes]]
    backfill_id: str
    backfill: dict[str, Any]
    poll_snapshots: list[dict[str, Any]]
    nux_seen: bool
    postgres: PostgresServer | None = None
    timings_s: dict[str, float] = field(default_factory=dict)


def platform_env(home: Path, lake_uri: str, s3_endpoint: str, opensky: FakeOpenSky) -> dict[str, str]:
    """The environment Dagster and the CLI run with: nothing inherited that could point at a real service."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OPENSKY_", "FLIGHT_", "AWS_", "DAGSTER_", "PYTEST_"))}
    env.update({
        "DAGSTER_HOME": str(home),
        "FLIGHT_LAKE": lake_uri,
        "FLIGHT_POLL_SENSOR": "on",  # off by default for an S3 lake (on AWS the Lambda polls)
        # Repair is tested on its own (test_repair.py); here it would re-fetch the open hour before the first poll.
        "FLIGHT_REPAIR_SENSOR": "off",
        "FLIGHT_PARTITIONS_START": "2025-08-30",  # the recorded hours; unset, partitions start a week ago
        "AWS_ENDPOINT_URL": s3_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "OPENSKY_API_URL": opensky.api_url,
        "OPENSKY_TOKEN_URL": opensky.token_url,
        "OPENSKY_CLIENT_ID": CLIENT_ID,
        "OPENSKY_CLIENT_SECRET": CLIENT_SECRET,
        "OPENSKY_TIER": "licensed",  # 14,400 credits/hour: the governor plans a 30-s cadence for the globe
        "PYTHONUNBUFFERED": "1",
    })
    return env


def write_dagster_yaml(home: Path, storage: dict[str, Any] | None) -> None:
    config: dict[str, Any] = {"telemetry": {"enabled": False}}
    if storage:
        config["storage"] = storage
    (home / "dagster.yaml").write_text(json.dumps(config, indent=2))  # JSON is YAML


@contextlib.contextmanager
def started_flow(storage: str, s3_endpoint: str, data_dir: Path) -> Iterator[E2EFlow]:
    """Everything started, the poll snapshots and the backfill done; stops all of it on exit."""
    timings: dict[str, float] = {}
    started = time.monotonic()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-request lines would bury a failure
    with contextlib.ExitStack() as stack:
        home = Path(tempfile.mkdtemp(prefix=f"flight-e2e-{storage}-"))
        stack.callback(shutil.rmtree, home, True)
        postgres = None
        if storage == "postgres":
            bin_dir = postgres_bin_dir()
            if bin_dir is None:
                pytest.skip("PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin or initdb on PATH); "
                            "install Debian's postgresql")
            postgres = PostgresServer(bin_dir)
            stack.callback(postgres.stop)
            postgres.start()
        write_dagster_yaml(home, postgres.dagster_storage() if postgres else None)

        bucket = f"e2e-{storage}-{secrets.token_hex(4)}"
        boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(Bucket=bucket)
        lake_uri = f"s3://{bucket}/lake"
        bodies = hour_bodies(data_dir)
        # Landed like the Lambda would, before Dagster starts: raw_landing_sensor's first tick reports them.
        land_bodies(S3Lake(lake_uri, endpoint_url=s3_endpoint), [b for hour in HOURS for b in bodies[hour]])

        opensky = FakeOpenSky(FakeOpenSkyConfig(replay=[str(data_dir / GLOBAL)], retime=True, tier="licensed",
                                                client_id=CLIENT_ID, client_secret=CLIENT_SECRET)).start()
        stack.callback(opensky.stop)
        env = platform_env(home, lake_uri, s3_endpoint, opensky)
        dagster = DagsterDev(home, env).start()
        stack.callback(dagster.stop)
        dagster.wait_ready()
        timings["dagster_ready"] = time.monotonic() - started
        nux_seen = dagster.set_nux_seen()

        # The three landed hours reported by raw_landing_sensor before building them (the backfill only builds
        # hours whose raw data Dagster knows of; those hours are outside the automation's late-snapshot window).
        def hours_reported() -> bool:
            reported = {m["partition"] for m in dagster.materializations("raw_snapshots", HOURS)}
            return reported == set(HOURS)

        try:
            poll_until(hours_reported, FLOW_TIMEOUT_S, "raw_landing_sensor to report the landed hours",
                       alive=dagster.check_alive)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- dagster dev log (last lines) ---\n{dagster.log_tail()}") from None
        timings["landed_hours_reported"] = time.monotonic() - started
        backfill_id = dagster.launch_backfill(HOURS, ["validated_states", "country_aggregates"])

        def poll_snapshots() -> list[dict[str, Any]]:
            events = [m for m in dagster.materializations("raw_snapshots") if m["metadata"].get("writer") == "dagster"]
            return events if len(events) >= 2 else []

        def backfill_done() -> dict[str, Any] | None:
            backfill = dagster.backfill(backfill_id)
            if backfill["status"] in ("REQUESTED", "CANCELING", "FAILING"):
                return None
            return backfill

        # Both happen at once: the 30-s poll sensor lands snapshots while the daemon runs the backfill.
        try:
            polled = poll_until(poll_snapshots, FLOW_TIMEOUT_S, "opensky_poll_sensor to land 2 snapshots",
                                interval=2, alive=dagster.check_alive)
            timings["two_polls_landed"] = time.monotonic() - started
            dagster.stop_sensor("opensky_poll_sensor", POLLER_LOCATION)  # no more polling while the other tests look around
            backfill = poll_until(backfill_done, FLOW_TIMEOUT_S, f"backfill {backfill_id} to complete",
                                  interval=2, alive=dagster.check_alive)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- dagster dev log (last lines) ---\n{dagster.log_tail()}") from None
        timings["backfill_done"] = time.monotonic() - started
        yield E2EFlow(storage, dagster, env, lake_uri, bodies, backfill_id, backfill, polled, nux_seen, postgres,
                      timings)


_SHARED: dict[str, E2EFlow | Exception] = {}


def shared_sqlite_flow(request: pytest.FixtureRequest) -> E2EFlow:
    """The SQLite-storage flow, started once per session and shared by the e2e and the browser tests."""
    if "sqlite" not in _SHARED:
        moto = request.getfixturevalue("moto_server")
        data_dir = request.getfixturevalue("opensky_data")
        stack = contextlib.ExitStack()
        # On the session node after moto's own finalizer, so it runs first: Dagster stops before its S3 does.
        request.session.addfinalizer(stack.close)
        try:
            _SHARED["sqlite"] = stack.enter_context(started_flow("sqlite", moto.url, data_dir))
        except Exception as exc:  # one failed start is reported by every test that needs it, not retried
            _SHARED["sqlite"] = exc
    shared = _SHARED["sqlite"]
    if isinstance(shared, Exception):
        raise shared
    return shared
