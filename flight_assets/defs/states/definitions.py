import dagster as dg
from dagster_duckdb import DuckDBResource

from flight_assets.defs.states.assets import hourly_tables
from flight_assets.defs.states.jobs import hourly_states_job
from flight_assets.defs.states.sensors import hourly_tables_automation

defs = dg.Definitions(
    assets=dg.with_source_code_references([hourly_tables]),
    jobs=[hourly_states_job],
    sensors=[hourly_tables_automation],
    # In-memory: the aggregation reads one hour of validated rows handed over as Arrow, nothing persists.
    resources={"duckdb": DuckDBResource(database=":memory:")},
)
