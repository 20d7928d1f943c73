"""The hourly build: `hourly_states_schedule` runs `hourly_states_job` for the hour that just closed."""

import dagster as dg

from flight_assets.defs.states.assets import country_aggregates, validated_states

hourly_states_job = dg.define_asset_job(
    "hourly_states_job",
    selection=[validated_states, country_aggregates],
    description="validated_states + country_aggregates (and their checks) for the selected hour(s).",
)

# Five minutes past the hour: the Lambda's last snapshot of the closed hour has landed and been reported by then.
hourly_states_schedule = dg.build_schedule_from_partitioned_job(
    hourly_states_job,
    name="hourly_states_schedule",
    minute_of_hour=5,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Builds validated_states and country_aggregates for the previous closed UTC hour, at HH:05.",
)
