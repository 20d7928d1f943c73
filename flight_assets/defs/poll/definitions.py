import dagster as dg

from flight_assets.defs.poll.jobs import ingest_snapshot_job
from flight_assets.defs.poll.sensors import opensky_poll_sensor
from flight_assets.defs.resources import OpenSkyResource

defs = dg.Definitions(jobs=[ingest_snapshot_job], sensors=[opensky_poll_sensor],
                      resources={"opensky": OpenSkyResource()})
