import dagster as dg

from flight_assets.defs.operations.sensors import run_failure_alert_sensor

defs = dg.Definitions(sensors=[run_failure_alert_sensor])
