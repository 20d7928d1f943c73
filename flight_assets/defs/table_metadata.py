"""Dagster table metadata generated from the pyarrow schemas and lineage maps of the pure modules (one source)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import dagster as dg
import pyarrow as pa


def _type_name(data_type: pa.DataType) -> str:
    if pa.types.is_dictionary(data_type):
        return _type_name(data_type.value_type)  # dictionary encoding is storage, not the column's type
    return str(data_type)


def column_schema(schema: pa.Schema) -> dg.TableSchema:
    """The Columns tab: every column with its Arrow type and whether it may be null."""
    return dg.TableSchema(
        columns=[
            dg.TableColumn(field.name, _type_name(field.type),
                           constraints=dg.TableColumnConstraints(nullable=field.nullable))
            for field in schema
        ]
    )


def column_lineage(sources: Mapping[str, Sequence[str]], upstream: dg.AssetKey) -> dg.TableColumnLineage:
    """Each column of a table and the columns of `upstream` it is computed from."""
    return dg.TableColumnLineage(
        deps_by_column={
            column: [dg.TableColumnDep(asset_key=upstream, column_name=name) for name in names]
            for column, names in sources.items()
        }
    )
