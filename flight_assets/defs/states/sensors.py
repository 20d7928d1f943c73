"""The hourly tables' automation: their AutomationConditions (assets.py), evaluated by one sensor.

The conditions replace a schedule and a late-snapshot sensor: a closed hour is built once its raw data exists,
rebuilt when a late snapshot for it is reported, never requested without raw data or while it is in progress;
every evaluation and its reason per hour shows in the UI's automation history of each asset.
"""

import dagster as dg

from flight_assets.defs.states.assets import hourly_tables

hourly_tables_automation = dg.AutomationConditionSensorDefinition(
    "hourly_tables_automation",
    target=dg.AssetSelection.assets(hourly_tables),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Evaluates the automation conditions of validated_states and country_aggregates every 30 s.",
)
