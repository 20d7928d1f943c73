import dagster as dg

from flight_assets.defs.states.assets import country_aggregates, validated_states
from flight_assets.defs.states.schedules import hourly_states_job, hourly_states_schedule
from flight_assets.defs.states.sensors import late_snapshot_sensor

defs = dg.Definitions(
    assets=[validated_states, country_aggregates],
    jobs=[hourly_states_job],
    schedules=[hourly_states_schedule],
    sensors=[late_snapshot_sensor],
)
