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

import csv
import io
import json
import math
import os
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import duckdb
import pyarrow as pa

from flight_assets.config import Settings, aws_region
from flight_assets.lake.layout import (
    COUNTRY_AGGREGATES_PREFIX,
    QUARANTINE_STATES_PREFIX,
    RAW_STATES_PREFIX,
    VALIDATED_STATES_PREFIX,
    hour_prefix,
    parse_raw_key,
    partition_start,
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


def s3_filesystem(endpoint_url: str | None = None) -> Any:
    """pyarrow's S3 filesystem for the lake's endpoint (credentials from the usual AWS environment/config)."""
    from pyarrow import fs

    endpoint = endpoint_url or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    region = aws_region()
    kwargs: dict[str, Any] = {"region": region}
    if endpoint:
        parts = urlsplit(endpoint)
        kwargs["endpoint_override"] = parts.netloc + parts.path.rstrip("/")
        kwargs["scheme"] = parts.scheme or "https"
    return fs.S3FileSystem(**kwargs)


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
        if live_views and not _create_live_views(conn, settings, live_views):
            without_files.update(dict.fromkeys(live_views, RAW_STATES_PREFIX))
    except BaseException:
        conn.close()
        raise
    return conn, without_files


# --------------------------------------------------------------------------------------------------------------
# Live views: built hours from validated/, the rest validated from raw/ on the fly


def _hour_folder(key: str, prefix: str) -> str:
    """`year=…/month=…/day=…/hour=…` of an object key under `prefix`."""
    return key[len(prefix) + 1 :].rsplit("/", 1)[0]


def _with_partitions(table: pa.Table, hour_start: datetime) -> pa.Table:
    """Validated rows as the views show them: plain types and the four integer partition columns."""
    from flight_assets.states.validation import VALIDATED_SCHEMA

    target = _source_schema(VALIDATED_SCHEMA)
    values = dict(zip(PARTITION_COLUMNS, (hour_start.year, hour_start.month, hour_start.day, hour_start.hour),
                      strict=True))
    arrays = [
        pa.chunked_array([pa.repeat(pa.scalar(values[f.name], f.type), table.num_rows)], f.type)
        if f.name in values else table.column(f.name).cast(f.type)
        for f in target
    ]
    return pa.Table.from_arrays(arrays, schema=target)


def _validate_raw(lake: Any, keys: list[str], hour_folder: str) -> pa.Table:
    """The validated rows of raw objects of one hour, by the engine that builds validated_states."""
    from flight_assets.lake.hourly_tables import read_raw_objects
    from flight_assets.states.validation import build_validated_hour

    hour_start = partition_start(_partition_key(hour_folder))
    result = build_validated_hour(read_raw_objects(lake, keys), hour_start=int(hour_start.timestamp()))
    return _with_partitions(result.validated, hour_start)


def _partition_key(hour_folder: str) -> str:
    parts = dict(part.split("=", 1) for part in hour_folder.split("/"))
    return f"{parts['year']}-{parts['month']}-{parts['day']}-{parts['hour']}:00"


# `latest_states` looks in the newest hours first; only a lake whose newest snapshot is older lists all of raw/.
LATEST_PROBE_HOURS = 3


def _raw_keys(lake: Any, prefix: str) -> dict[str, list[tuple[int, str]]]:
    """Hour folder → [(snapshot time, key)] of the raw snapshots under `prefix`."""
    raw: dict[str, list[tuple[int, str]]] = {}
    for obj in lake.list(prefix):
        parsed = parse_raw_key(obj.key)
        if parsed:
            raw.setdefault(_hour_folder(obj.key, RAW_STATES_PREFIX), []).append((parsed[0], obj.key))
    return raw


def _newest_raw_hour(lake: Any) -> dict[str, list[tuple[int, str]]]:
    """The raw snapshots of the newest hour that has any (listing the last few UTC hours before all of raw/)."""
    now = datetime.now(UTC)
    for back in range(LATEST_PROBE_HOURS):
        found = _raw_keys(lake, hour_prefix(RAW_STATES_PREFIX, now - timedelta(hours=back)) + "/")
        if found:
            return found
    everything = _raw_keys(lake, RAW_STATES_PREFIX + "/")
    return {max(everything): everything[max(everything)]} if everything else {}


def _create_live_views(conn: duckdb.DuckDBPyConnection, settings: Settings, views: Sequence[str]) -> bool:
    """`live_states` and/or `latest_states`; False when the lake has neither raw nor validated data."""
    from flight_assets.lake.store import open_lake
    from flight_assets.states.validation import VALIDATED_SCHEMA

    lake = open_lake(settings.lake, settings.aws_endpoint_url)
    empty = _source_schema(VALIDATED_SCHEMA).empty_table()
    columns = ", ".join(_ident(f.name) for f in empty.schema)
    found = False
    if LIVE_VIEW in views:
        raw = _raw_keys(lake, RAW_STATES_PREFIX + "/")
        built = {_hour_folder(obj.key, VALIDATED_STATES_PREFIX) for obj in lake.list(VALIDATED_STATES_PREFIX + "/")
                 if obj.key.endswith(".parquet")}
        # Hours not built yet: normally the hour in progress and the one that just closed.
        tables = [_validate_raw(lake, [key for _, key in items], folder)
                  for folder, items in sorted(raw.items()) if folder not in built]
        conn.register("_live_unbuilt", pa.concat_tables([empty, *tables]))
        conn.sql(f"CREATE OR REPLACE VIEW {LIVE_VIEW} AS SELECT {columns} FROM {_ident(VALIDATED_VIEW)} "
                 f"UNION ALL SELECT {columns} FROM _live_unbuilt")
        found = bool(raw or built)
    if LATEST_VIEW in views:
        latest = empty
        newest_hour = _newest_raw_hour(lake)
        for folder, items in newest_hour.items():
            newest = max(t for t, _ in items)
            # Every body landed with the newest `time` (OpenSky can answer one time with two bodies).
            latest = _validate_raw(lake, [key for t, key in items if t == newest], folder)
        conn.register("_latest", latest)
        conn.sql(f"CREATE OR REPLACE VIEW {LATEST_VIEW} AS SELECT {columns} FROM _latest")
        found = found or bool(newest_hour)
    return found


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


def _text(value: Any, *, table: bool) -> str:
    """A cell for csv/table output."""
    if value is None:
        return "NULL" if table else ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and table and math.isfinite(value):
        return repr(round(value, 6))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ") if table else value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, list | tuple | dict):
        return json.dumps(_json_value(value), ensure_ascii=False)
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex()
    text = str(value)
    return text.replace("\r", "\\r").replace("\n", "\\n") if table else text


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex()
    return str(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def format_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """An aligned plain-text table: header, rule, rows (numbers right-aligned), then `(N rows)`."""
    cells = [[_text(v, table=True) for v in row] for row in rows]
    widths = [max([len(name)] + [len(row[i]) for row in cells]) for i, name in enumerate(columns)]
    numeric = [
        any(_is_number(row[i]) for row in rows) and all(_is_number(row[i]) or row[i] is None for row in rows)
        for i in range(len(columns))
    ]
    lines = [" | ".join(name.ljust(w) for name, w in zip(columns, widths, strict=True)).rstrip()]
    lines.append("-+-".join("-" * w for w in widths))
    for row in cells:
        parts = [c.rjust(w) if num else c.ljust(w) for c, w, num in zip(row, widths, numeric, strict=True)]
        lines.append(" | ".join(parts).rstrip())
    lines.append(f"({len(rows)} row{'' if len(rows) == 1 else 's'})")
    return "\n".join(lines)


def format_csv(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([_text(v, table=False) for v in row] for row in rows)
    return out.getvalue()


def format_json(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A JSON array of objects, one per line; timestamps ISO 8601, NaN/inf as null."""
    if not rows:
        return "[]"
    objects = [
        json.dumps({name: _json_value(v) for name, v in zip(columns, row, strict=True)}, ensure_ascii=False)
        for row in rows
    ]
    return "[\n  " + ",\n  ".join(objects) + "\n]"


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
