"""Ad-hoc SQL over the lake: an in-memory DuckDB with one view per lake table, local or S3, same columns either way.

Views (each with the hive partition columns `year`, `month`, `day`, `hour` as INTEGER, so a filter on them prunes
whole partitions before any file is read):
- `validated_states`   silver rows (VALIDATED_SCHEMA)
- `quarantined_states` rejected rows with their reason (QUARANTINE_SCHEMA)
- `country_aggregates` gold rows (COUNTRY_AGGREGATES_SCHEMA; `hour_start` is the hour as a timestamp)
- `live_states`        the columns of `validated_states`: the validated rows of every built hour plus every hour that
                       has raw snapshots but no validated file yet, validated on the fly from raw by the same engine
                       (`build_validated_hour`, same rules, same columns), so a snapshot is queryable once landed
- `latest_states`      the validated rows of the newest snapshot (every body landed with the newest `time`).
The two live views read raw objects, so they are only made when the SQL reads them.

Each view has exactly the columns of the schema the pipeline writes (a column missing from older files reads NULL,
columns unknown to the schema are not shown), and exists even before its prefix holds a file, so a connection never
fails with "no files found"; `run_query` (the CLI) instead says when the SQL reads a view that has no file yet or the
lake is not there, rather than answer an empty table that looks like "no traffic". A local lake is read by DuckDB's own Parquet reader; an S3 lake through pyarrow datasets on
pyarrow's S3 filesystem (DuckDB's httpfs cannot be installed offline), with DuckDB pushing filters into the scan.

No Dagster here: the CLI (`flight-assets query`) and the README examples use `run_query` and the SQL constants.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from flight_assets.analytics.output import format_csv, format_json, format_table
from flight_assets.config import Settings
from flight_assets.lake.arrow_fs import s3_filesystem
from flight_assets.lake.layout import (
    COUNTRY_AGGREGATES_PREFIX,
    QUARANTINE_STATES_PREFIX,
    RAW_STATES_PREFIX,
    VALIDATED_STATES_PREFIX,
)
from flight_assets.lake.store import LakeError

VALIDATED_VIEW = "validated_states"
QUARANTINE_VIEW = "quarantined_states"
AGGREGATES_VIEW = "country_aggregates"
LIVE_VIEW = "live_states"
LATEST_VIEW = "latest_states"
TABLE_VIEWS = (VALIDATED_VIEW, QUARANTINE_VIEW, AGGREGATES_VIEW)
LIVE_VIEWS = (LIVE_VIEW, LATEST_VIEW)
VIEWS = TABLE_VIEWS + LIVE_VIEWS
PARTITION_COLUMNS = ("year", "month", "day", "hour")
FORMATS = ("table", "csv", "json")

# --------------------------------------------------------------------------------------------------------------
# Example queries (README). Fill in a UTC day with `example_sql(TEMPLATE, date(2025, 8, 30))` or
# `TEMPLATE.format(year=2025, month=8, day=30)`.

STATES_BY_COUNTRY_FOR_A_DAY = """\
-- State vectors and aircraft per origin country over one UTC day, from the hourly gold aggregates.
-- Distinct counts do not add across hours, so the day's aircraft figure is the busiest hour's distinct icao24s;
-- the exact count for the day is count(DISTINCT icao24) over validated_states for the same day.
SELECT
    origin_country,
    sum(states)   AS states,
    max(aircraft) AS peak_hourly_aircraft,
    count(*)      AS hours
FROM country_aggregates
WHERE year = {year} AND month = {month} AND day = {day}  -- partition columns: only that day's files are read
GROUP BY origin_country
ORDER BY states DESC, origin_country"""

ALTITUDE_BANDS = """\
-- State vectors and distinct aircraft per barometric altitude band over one UTC day.
-- Rows on the ground form their own band; airborne rows without a barometric altitude are 'unknown'.
SELECT
    ['ground', '< 1 km', '1-3 km', '3-6 km', '6-9 km', '9-12 km', '> 12 km', 'unknown'][band] AS altitude_band,
    count(*)               AS states,
    count(DISTINCT icao24) AS aircraft
FROM (
    SELECT
        icao24,
        CASE
            WHEN on_ground              THEN 1
            WHEN baro_altitude IS NULL  THEN 8
            WHEN baro_altitude <  1000  THEN 2
            WHEN baro_altitude <  3000  THEN 3
            WHEN baro_altitude <  6000  THEN 4
            WHEN baro_altitude <  9000  THEN 5
            WHEN baro_altitude < 12000  THEN 6
            ELSE 7
        END AS band
    FROM validated_states
    WHERE year = {year} AND month = {month} AND day = {day}  -- partition columns: only that day's files are read
)
GROUP BY band
ORDER BY band"""


LIVE_AIRCRAFT_BY_COUNTRY = """\
-- Aircraft in the sky right now, per origin country: the newest snapshot, seconds after it landed.
SELECT
    coalesce(origin_country, 'Unknown')  AS origin_country,
    count(*)                             AS aircraft,
    count(*) FILTER (WHERE NOT on_ground) AS airborne,
    max(snapshot_time)                   AS snapshot_time
FROM latest_states
GROUP BY 1
ORDER BY aircraft DESC, origin_country"""

LIVE_LAST_15_MINUTES = """\
-- States per minute over the last 15 minutes, built hours and the hour in progress alike.
SELECT
    date_trunc('minute', snapshot_time) AS minute,
    count(DISTINCT snapshot_time)       AS snapshots,
    count(*)                            AS states,
    count(DISTINCT icao24)              AS aircraft
FROM live_states
WHERE snapshot_time >= (SELECT max(snapshot_time) FROM live_states) - INTERVAL 15 MINUTE
GROUP BY 1
ORDER BY 1"""


def example_sql(template: str, day: date) -> str:
    """One of the example query templates filled in for the UTC `day`."""
    return template.format(year=day.year, month=day.month, day=day.day)


class QueryError(ValueError):
    """The SQL could not be run; the message is DuckDB's, on one line."""

    def __init__(self, message: str, duckdb_message: str | None = None) -> None:
        super().__init__(message)
        self.duckdb_message = duckdb_message or message


# --------------------------------------------------------------------------------------------------------------
# Connection and views


def _table_schemas() -> dict[str, tuple[str, pa.Schema]]:
    """View name → (lake prefix, the columns the pipeline writes there)."""
    # Imported here, not at module level: validation's schemas are still evolving and are read when a view is made.
    from flight_assets.states.aggregation import COUNTRY_AGGREGATES_SCHEMA
    from flight_assets.states.validation import QUARANTINE_SCHEMA, VALIDATED_SCHEMA

    return {
        VALIDATED_VIEW: (VALIDATED_STATES_PREFIX, VALIDATED_SCHEMA),
        QUARANTINE_VIEW: (QUARANTINE_STATES_PREFIX, QUARANTINE_SCHEMA),
        AGGREGATES_VIEW: (COUNTRY_AGGREGATES_PREFIX, COUNTRY_AGGREGATES_SCHEMA),
    }


def _plain_type(typ: pa.DataType) -> pa.DataType:
    """What a view shows for a stored type: dictionaries as their values, timestamps at DuckDB's µs."""
    if pa.types.is_dictionary(typ):
        return _plain_type(typ.value_type)
    if pa.types.is_timestamp(typ):
        return pa.timestamp("us", tz=typ.tz)
    return typ


def _source_schema(schema: pa.Schema) -> pa.Schema:
    """The columns read from the files, all nullable, plus the integer partition columns.

    A file column named like a partition column (country_aggregates' `hour`) gives way to the partition value, as
    DuckDB's hive reader does.
    """
    fields = [pa.field(f.name, _plain_type(f.type)) for f in schema if f.name not in PARTITION_COLUMNS]
    return pa.schema(fields + [pa.field(name, pa.int32()) for name in PARTITION_COLUMNS])


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


_HIVE_TYPES = "{" + ", ".join(f"'{name}': 'INTEGER'" for name in PARTITION_COLUMNS) + "}"


def _local_source(root: Path, prefix: str) -> str | None:
    """A FROM-clause over the prefix's Parquet files, or None when it holds none yet."""
    base = root / prefix
    if not base.is_dir() or next(base.rglob("*.parquet"), None) is None:
        return None
    pattern = _sql_string(f"{base}/**/*.parquet")
    return (
        f"read_parquet({pattern}, hive_partitioning = true, union_by_name = true, hive_types = {_HIVE_TYPES})"
    )


def _s3_source(
    conn: duckdb.DuckDBPyConnection, filesystem: Any, lake: str, view: str, prefix: str, schema: pa.Schema
) -> str | None:
    """Register a pyarrow dataset over the prefix's Parquet objects; None when there are none yet."""
    import pyarrow.dataset as ds
    from pyarrow import fs

    bucket_and_prefix = lake[len("s3://") :].strip("/")
    base = f"{bucket_and_prefix}/{prefix}"
    try:
        infos = filesystem.get_file_info(fs.FileSelector(base, recursive=True, allow_not_found=True))
    except OSError as exc:
        raise LakeError(f"could not list s3://{base}/ for the {view} view: {exc}") from exc
    paths = sorted(
        info.path
        for info in infos
        if info.type == fs.FileType.File
        and info.base_name.endswith(".parquet")
        and not info.base_name.startswith(".")
    )
    if not paths:
        return None
    partitioning = ds.partitioning(
        pa.schema([pa.field(name, pa.int32()) for name in PARTITION_COLUMNS]), flavor="hive"
    )
    dataset = ds.dataset(
        paths,
        schema=_source_schema(schema),
        format="parquet",
        filesystem=filesystem,
        partitioning=partitioning,
        partition_base_dir=base,
    )
    name = f"_lake_{view}"
    conn.register(name, dataset)
    return _ident(name)


def _column_types(conn: duckdb.DuckDBPyConnection, source: str) -> dict[str, str]:
    """Column → DuckDB type of `source`, from binding alone (nothing is scanned)."""
    return {name: typ for name, typ, *_ in conn.sql(f"DESCRIBE SELECT * FROM {source}").fetchall()}


def _create_view(conn: duckdb.DuckDBPyConnection, view: str, schema: pa.Schema, source: str | None) -> None:
    """`view` over `source` with exactly the schema's columns and types (NULL where the files lack a column)."""
    target = _source_schema(schema)
    empty_name = f"_lake_{view}_empty"
    conn.register(empty_name, target.empty_table())
    wanted = _column_types(conn, _ident(empty_name))
    if source is None:
        source = _ident(empty_name)  # no files yet: the view reads this empty table
    else:
        conn.unregister(empty_name)
    have = _column_types(conn, source)
    columns = []
    for name, typ in wanted.items():
        if have.get(name) == typ:
            columns.append(_ident(name))
        elif name in have:
            columns.append(f"CAST({_ident(name)} AS {typ}) AS {_ident(name)}")
        else:
            columns.append(f"CAST(NULL AS {typ}) AS {_ident(name)}")
    conn.sql(f"CREATE OR REPLACE VIEW {_ident(view)} AS SELECT {', '.join(columns)} FROM {source}")


def connect(settings: Settings, live: bool = False) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the views `validated_states`, `quarantined_states` and `country_aggregates`, and
    with `live=True` also `live_states` and `latest_states` (which validate the unbuilt hours' raw objects).

    Raises LakeError when an S3 lake cannot be listed. The connection's time zone is UTC.
    """
    return _connect(settings, LIVE_VIEWS if live else ())[0]


def _connect(
    settings: Settings, live_views: Sequence[str] = ()
) -> tuple[duckdb.DuckDBPyConnection, dict[str, str]]:
    """connect(), and the views whose lake prefix holds no file yet (view → prefix)."""
    without_files: dict[str, str] = {}
    conn = duckdb.connect(":memory:")
    try:
        conn.sql("SET TimeZone = 'UTC'")
        is_s3 = settings.lake.startswith("s3://")
        filesystem = s3_filesystem(settings.aws_endpoint_url) if is_s3 else None
        root = Path(settings.lake).expanduser().resolve()
        for view, (prefix, schema) in _table_schemas().items():
            if is_s3:
                source = _s3_source(conn, filesystem, settings.lake, view, prefix, schema)
            else:
                source = _local_source(root, prefix)
            if source is None:
                without_files[view] = prefix
            try:
                _create_view(conn, view, schema, source)
            except duckdb.Error as exc:
                raise LakeError(
                    f"could not read {prefix}/ under {settings.lake} for the {view} view: "
                    f"{_one_line(str(exc))}"
                ) from exc
        # Imported here: live.py builds on this module's views, and most queries never read a live view.
        from flight_assets.analytics.live import create_live_views

        if live_views and not create_live_views(conn, settings, live_views):
            without_files.update(dict.fromkeys(live_views, RAW_STATES_PREFIX))
    except BaseException:
        conn.close()
        raise
    return conn, without_files


# --------------------------------------------------------------------------------------------------------------
# Running a query and formatting its result


def _one_line(message: str) -> str:
    """DuckDB's multi-line message as one line, without the echoed query and caret."""
    lines = [line.strip() for line in message.splitlines()]
    kept = [line for line in lines if line and not line.startswith("LINE ") and set(line) != {"^"}]
    return " ".join(kept)


def _query_error(exc: duckdb.Error) -> QueryError:
    message = _one_line(str(exc))
    if re.search(r"Catalog Error: Table (with name|function) .* does not exist", message):
        message += f" (the lake's views are {', '.join(VIEWS)})"
    return QueryError(message, str(exc))


def execute(conn: duckdb.DuckDBPyConnection, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """(column names, rows) of `sql` on `conn`; QueryError with DuckDB's message when it cannot run."""
    if not sql.strip():
        raise QueryError("no SQL given")
    try:
        relation = conn.sql(sql)
        if relation is None:  # a statement without a result (SET, CREATE ...)
            return [], []
        return list(relation.columns), relation.fetchall()
    except duckdb.Error as exc:
        raise _query_error(exc) from exc


def _tables_read(conn: duckdb.DuckDBPyConnection, sql: str) -> set[str]:
    """Names of the tables a SELECT reads (CTE bodies and subqueries included); empty when DuckDB cannot say."""
    try:
        tree = json.loads(conn.execute("SELECT json_serialize_sql(?)", [sql]).fetchall()[0][0])
    except (duckdb.Error, ValueError):
        return set()
    names: set[str] = set()
    stack: list[Any] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("type") == "BASE_TABLE" and isinstance(node.get("table_name"), str):
                names.add(node["table_name"].lower())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return names  # a parse error or a non-SELECT statement gives an "error" tree without tables


def _live_views_read(sql: str) -> tuple[str, ...]:
    """The live views `sql` reads: they are the expensive ones (raw objects validated on the fly)."""
    conn = duckdb.connect(":memory:")
    try:
        read = _tables_read(conn, sql)
    finally:
        conn.close()
    if not read and any(view in sql.lower() for view in LIVE_VIEWS):
        return LIVE_VIEWS  # DuckDB could not parse it: make them, so its own error message is the one shown
    return tuple(view for view in LIVE_VIEWS if view in read)


def _require_data(conn: duckdb.DuckDBPyConnection, sql: str, settings: Settings, without_files: dict[str, str]) -> None:
    """LakeError when `sql` reads a view over a lake that is not there, or over a table never written.

    An empty view would answer 0 rows, which reads as "nothing happened" rather than "wrong lake" or "not built
    yet". A table that has files but no rows matching the query's filter still answers 0 rows.
    """
    empty = [view for view in VIEWS if view in without_files and view in _tables_read(conn, sql)]
    if not empty:
        return
    from flight_assets.lake.store import open_lake

    open_lake(settings.lake, settings.aws_endpoint_url).check_exists()
    prefix = without_files[empty[0]]
    raise LakeError(
        f"the lake {settings.lake} holds no {empty[0]} data yet (nothing under {prefix}/): land snapshots and "
        "build some hours first (`make demo`, or a backfill in Dagster)"
    )


def run_query(sql: str, settings: Settings, fmt: str = "table") -> str:
    """Run `sql` over the lake's views and format the result as `table`, `csv` or `json`.

    Raises QueryError for SQL DuckDB cannot run (or an unknown fmt), LakeError when the lake cannot be read, is not
    there, or has never had a file for a view the SQL reads.
    """
    if fmt not in FORMATS:
        raise QueryError(f"unknown output format {fmt!r}: use one of {', '.join(FORMATS)}")
    conn, without_files = _connect(settings, _live_views_read(sql))
    try:
        _require_data(conn, sql, settings, without_files)
        columns, rows = execute(conn, sql)
    finally:
        conn.close()
    if fmt == "csv":
        return format_csv(columns, rows)
    if fmt == "json":
        return format_json(columns, rows)
    return format_table(columns, rows)
