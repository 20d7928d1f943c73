"""The Athena live views, run: their SQL as Terraform renders it (`terraform console` on the analytics module),
transpiled from Trino to DuckDB by sqlglot and executed over Glue-shaped tables of a real lake, must give the rows
`flight-assets query` gives for `live_states` (the Python engine). moto cannot run Athena, so this is how the
views' semantics are tested here; the real Athena (Trino) may still differ in details DuckDB does not share."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from flight_assets.analytics.query import connect, execute
from flight_assets.config import Settings
from flight_assets.ingestion.poll import compress_body, land_snapshot
from flight_assets.lake.layout import RAW_STATES_PREFIX, hour_prefix, parse_raw_key, partition_key_for_time
from flight_assets.lake.store import LocalLake
from flight_assets.opensky.snapshot import parse_snapshot
from flight_assets.states.build import build_validated
from flight_assets.tools.fake_opensky import SimulatedTraffic
from flight_assets_tests.terraform import Terraform, find_provider_mirror, terraform_binary

sqlglot = pytest.importorskip("sqlglot", reason="sqlglot (a dev dependency) transpiles the views' Trino SQL")
pytestmark = pytest.mark.slow  # renders the views with `terraform console`

REPO = Path(__file__).resolve().parents[1]
BUILT = 1_756_576_800  # 2025-08-30 18:00 UTC, built
OPEN = BUILT + 3600  # 19:00, raw only
AIRCRAFT = 40
BUCKET = "lake-bucket"


def render(expression: str, tmp: Path) -> str:
    binary, mirror = terraform_binary(), find_provider_mirror()
    if binary is None or mirror is None:
        pytest.skip("terraform or a local hashicorp/aws provider mirror is not available")
    # The module as it sits in the repo: modules/analytics reads ../../lake_contract.json.
    module = tmp / "terraform" / "modules" / "analytics"
    shutil.copytree(REPO / "deploy" / "terraform" / "modules" / "analytics", module)
    shutil.copy(REPO / "deploy" / "terraform" / "lake_contract.json", tmp / "terraform" / "lake_contract.json")
    tf = Terraform(binary, module, mirror, tmp)
    tf.init()
    result = subprocess.run(
        [binary, "console", "-var", "name_prefix=fa-test", "-var", f"lake_bucket={BUCKET}", "-var",
         "athena_results_bucket=results", "-var", "kms_key_arn=arn:aws:kms:us-east-1:1:key/k"],
        cwd=module, env=tf.env, input=expression + "\n", capture_output=True, text=True, timeout=120, check=True)
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "<<EOT" and lines[-1] == "EOT", result.stdout[:200]
    return "\n".join(lines[1:-1])


def json_text(value: Any) -> str | None:
    """A JSON value as the OpenX JSON SerDe hands an array<string> element to Athena."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


def odd_body(traffic: SimulatedTraffic, at: int) -> bytes:
    """A simulated body plus rows each hard rule quarantines and a track the cleaning wraps."""
    doc = json.loads(traffic.body(at))
    good = doc["states"][0]
    doc["states"] += [
        ["zz!zz!", *good[1:]],  # bad_icao24
        list(good),  # duplicate_state
        [good[0][:4] + "ff", good[1], good[2], good[3], good[4], None, 50.0, *good[7:]],  # bad_position
        [good[0][:4] + "fe", good[1], "  ", good[3], None, *good[5:]],  # missing_last_contact
        [good[0][:4] + "fd", good[1], good[2], good[3], good[4], good[5], good[6], good[7], None, *good[9:]],  # wrong_type
        [good[0][:4] + "fc", "FLR1    ", "", good[3], good[4], 8.5, 47.25, 1200, False, 30, -30.5, 0, None, 1250,
         None, False, 3],  # FLARM: negative track, blank country
        [good[0][:4] + "fb", "  ", "Germany", good[3], good[4], 8.5, 47.25, 25000, False, 500, 10, 0, None, 25100,
         "7000", False, 9],  # unknown_position_source
        [good[0][:4] + "fa", "HIGH1   ", "Germany", good[3] - 400, good[4], 8.5, 47.25, 25000, True, 500, 10, 0,
         None, 25100, "7000", False, 0],  # every soft flag
    ]
    return json.dumps(doc, separators=(",", ":")).encode()


@pytest.fixture
def lake(tmp_path: Path) -> LocalLake:
    lake = LocalLake(tmp_path / "lake")
    traffic = SimulatedTraffic(AIRCRAFT, seed=5, epoch=BUILT)
    for minute in range(0, 60, 20):
        body = traffic.body(BUILT + minute * 60 + 1)
        land_snapshot(lake, body, parse_snapshot(body), {"writer": "test"})
    build_validated(lake, partition_key_for_time(BUILT))
    for minute in range(0, 30, 10):
        body = odd_body(traffic, OPEN + minute * 60 + 2)
        land_snapshot(lake, body, parse_snapshot(body), {"writer": "test"})
    # A body of 18:59 under hour=19 (wrong_hour): the build quarantines it whole, the views must leave it out.
    stray = traffic.body(OPEN - 60)
    key = f"{hour_prefix(RAW_STATES_PREFIX, datetime.fromtimestamp(OPEN, UTC))}/{OPEN - 60}_{parse_snapshot(stray).sha8}.json.gz"
    lake.put_if_absent(key, compress_body(stray))
    return lake


def glue_tables(lake: LocalLake) -> duckdb.DuckDBPyConnection:
    """validated_states and raw_states as Athena sees them: string partition columns, timestamps without a zone,
    each raw state an array of strings, the object's S3 path in "$path"."""
    conn = duckdb.connect(":memory:")
    conn.sql("SET TimeZone = 'UTC'")
    source = connect(Settings(lake=lake.uri))
    validated = source.sql(
        "SELECT * REPLACE (snapshot_time::TIMESTAMP AS snapshot_time, time_position::TIMESTAMP AS time_position, "
        "last_contact::TIMESTAMP AS last_contact, year::VARCHAR AS year, lpad(month::VARCHAR, 2, '0') AS month, "
        "lpad(day::VARCHAR, 2, '0') AS day, lpad(hour::VARCHAR, 2, '0') AS hour) FROM validated_states").arrow()
    source.close()
    conn.register("validated_arrow", validated)
    conn.sql("CREATE TABLE validated_states AS SELECT * FROM validated_arrow")
    rows: dict[str, list[Any]] = {"time": [], "states": [], "year": [], "month": [], "day": [], "hour": [],
                                  "$path": []}
    for obj in lake.list(RAW_STATES_PREFIX + "/"):
        if not parse_raw_key(obj.key):
            continue
        doc = json.loads(gzip.decompress(lake.get(obj.key)))
        parts = dict(p.split("=") for p in obj.key.split("/")[2:6])
        rows["time"].append(doc["time"])
        rows["states"].append([[json_text(v) for v in s] for s in doc["states"] or []])
        for name in ("year", "month", "day", "hour"):
            rows[name].append(parts[name])
        rows["$path"].append(f"s3://{BUCKET}/{obj.key}")
    conn.register("raw_arrow", pa.table(rows, schema=pa.schema([
        ("time", pa.int64()), ("states", pa.list_(pa.list_(pa.string()))), ("year", pa.string()),
        ("month", pa.string()), ("day", pa.string()), ("hour", pa.string()), ("$path", pa.string())])))
    conn.sql("CREATE TABLE raw_states AS SELECT * FROM raw_arrow")
    return conn


def test_the_athena_live_view_validates_raw_rows_like_the_engine(lake: LocalLake, tmp_path: Path) -> None:
    trino = render("local.live_states_sql", tmp_path)
    conn = glue_tables(lake)
    conn.sql(f"CREATE VIEW live_states AS {sqlglot.transpile(trino, read='trino', write='duckdb')[0]}")
    columns = [name for name, *_ in conn.sql("DESCRIBE live_states").fetchall()]
    assert columns[-4:] == ["year", "month", "day", "hour"] and "source_key" in columns
    compared = [c for c in columns if c not in ("source_key", "year", "month", "day", "hour")]
    athena = conn.sql(f"SELECT {', '.join(compared)} FROM live_states WHERE hour = '19' "
                      "ORDER BY snapshot_time, icao24").fetchall()
    engine_conn = connect(Settings(lake=lake.uri), live=True)
    engine = execute(engine_conn, f"SELECT {', '.join(compared)} FROM live_states WHERE hour = 19 "
                                  "ORDER BY snapshot_time, icao24")[1]
    engine_conn.close()
    naive = [tuple(v.astimezone(UTC).replace(tzinfo=None) if hasattr(v, "astimezone") else v for v in row)
             for row in engine]
    assert len(athena) == 3 * (AIRCRAFT + 2)  # per body: the fleet, the FLARM row and the soft-flagged row
    assert athena == naive
    flagged = conn.sql("SELECT flag_stale_position, flag_implausible_altitude, flag_implausible_speed, "
                       "flag_ground_high_altitude, callsign, true_track FROM live_states "
                       "WHERE icao24 LIKE '%fa' AND hour = '19' LIMIT 1").fetchall()
    assert flagged == [(True, True, True, True, "HIGH1", 10.0)]
    # Built hours come from validated_states, row for row.
    built = conn.sql("SELECT count(*) FROM live_states WHERE hour = '18'").fetchall()
    assert built == conn.sql("SELECT count(*) FROM validated_states").fetchall() == [(3 * AIRCRAFT,)]


def test_the_athena_latest_view_is_the_newest_snapshot(lake: LocalLake, tmp_path: Path) -> None:
    trino = render("local.latest_states_sql", tmp_path)
    # Only the current and the previous UTC hour are read; the test's hours are in 2025, so pin "now" to 19:30.
    trino = trino.replace("current_timestamp", "from_unixtime(1756582200)")
    conn = glue_tables(lake)
    (tmp_path / "again").mkdir()
    live = render("local.live_states_sql", tmp_path / "again")
    conn.sql(f"CREATE VIEW live_states AS {sqlglot.transpile(live, read='trino', write='duckdb')[0]}")
    conn.sql(f"CREATE VIEW latest_states AS {sqlglot.transpile(trino, read='trino', write='duckdb')[0]}")
    times = conn.sql("SELECT DISTINCT epoch(snapshot_time)::BIGINT FROM latest_states").fetchall()
    assert times == [(OPEN + 20 * 60 + 2,)]
    assert conn.sql("SELECT count(*) FROM latest_states").fetchall() == [(AIRCRAFT + 2,)]
