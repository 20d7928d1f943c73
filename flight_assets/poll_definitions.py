"""The poller's code location: ingest_snapshot_job and opensky_poll_sensor, nothing else.

Every 30-s poll is a run, and a run process imports its whole code location: kept apart from the hourly tables
(flight_assets/definitions.py), a poll run imports neither pyarrow, DuckDB nor validation. The job reports the
snapshots it lands as raw_snapshots, an asset of the other location; Dagster joins them by asset key.
"""

import dagster as dg

from flight_assets.defs import resources
from flight_assets.defs.poll import definitions as poll

defs = dg.Definitions.merge(resources.defs, poll.defs)
