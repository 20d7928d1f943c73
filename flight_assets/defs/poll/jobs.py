"""`ingest_snapshot_job`: one governed OpenSky poll, the same pure function the Lambda calls.

2,880 runs a day must stay light: one op, the in-process executor, and a code location of its own
(flight_assets/poll_definitions.py) so that a run process imports neither pyarrow, DuckDB nor validation.
"""


import dagster as dg

from flight_assets.defs.ingestion.assets import raw_snapshots
from flight_assets.defs.resources import FlightLakeResource, OpenSkyResource
from flight_assets.lake.layout import parse_raw_key, partition_key_for_time
from flight_assets.lake.raw_index import hour_summary

# The `writer` of the objects this job lands: raw_landing_sensor leaves them alone, the job reports them itself.
POLL_JOB_WRITER = "dagster"


@dg.op(description="Poll OpenSky once (if the credit governor allows) and land the snapshot in raw/.")
def ingest_snapshot(context: dg.OpExecutionContext, lake: FlightLakeResource, opensky: OpenSkyResource) -> None:
    ingester = opensky.ingester(lake, writer=POLL_JOB_WRITER)
    result = ingester.poll()
    timings = {f"{k}_ms": round(v * 1000, 1) for k, v in result.timings_s.items()}
    for key in result.recovered:
        # Spooled by an earlier poll and landed by this run as POLL_JOB_WRITER, which the landing sensor leaves
        # to the job: report it here, whatever became of this run's own poll.
        snapshot_time, _ = parse_raw_key(key)  # type: ignore[misc]
        partition_key = partition_key_for_time(snapshot_time)
        snapshots, stored = hour_summary(ingester.lake, partition_key)
        context.log_event(
            dg.AssetMaterialization(
                asset_key=raw_snapshots.key,
                partition=partition_key,
                description=f"landed {key} from the spool (fetched by an earlier poll that could not land it)",
                metadata={
                    "key": key,
                    "snapshot_time": dg.MetadataValue.timestamp(float(snapshot_time)),
                    "snapshots_in_hour": snapshots,
                    "bytes_in_hour": stored,
                    "writer": POLL_JOB_WRITER,
                    "from_spool": True,
                },
            )
        )
    if result.status == "landed":
        assert result.key and result.partition_key
        snapshots, stored = hour_summary(ingester.lake, result.partition_key)
        context.log_event(
            dg.AssetMaterialization(
                asset_key=raw_snapshots.key,
                partition=result.partition_key,
                description=result.message,
                metadata={
                    "key": result.key,
                    "snapshot_time": dg.MetadataValue.timestamp(float(result.snapshot_time or 0)),
                    "states": result.states,
                    "snapshots_in_hour": snapshots,
                    "bytes_in_hour": stored,
                    "stored_bytes": result.stored_bytes,
                    "credits_remaining": result.credits_remaining,
                    "writer": POLL_JOB_WRITER,
                    **timings,
                },
            )
        )
    elif result.failed:
        raise dg.Failure(description=result.message, metadata=timings)
    else:  # skipped, rate limited, or a body we already had: a skip with a reason, not a failure
        context.log.info(f"{result.status}: {result.message}")


@dg.job(
    description="One OpenSky poll into raw/ (started every 30 s by opensky_poll_sensor).",
    executor_def=dg.in_process_executor,
    tags={"flight_assets/kind": "ingest"},
)
def ingest_snapshot_job() -> None:
    ingest_snapshot()
