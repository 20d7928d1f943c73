"""How `flight-assets query` prints a result: an aligned table, CSV or JSON (numbers as numbers, timestamps as
ISO text). No Dagster import.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any


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
