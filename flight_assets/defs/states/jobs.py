"""`hourly_states_job`: both hourly tables (and their checks) for the selected hour(s), for manual runs and the demo."""

import dagster as dg

from flight_assets.defs.states.assets import hourly_tables

hourly_states_job = dg.define_asset_job(
    "hourly_states_job",
    selection=dg.AssetSelection.assets(hourly_tables),
    description="validated_states + country_aggregates (and their checks) for the selected hour(s), hour by hour.",
)
