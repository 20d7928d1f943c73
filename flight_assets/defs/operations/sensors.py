"""Operational alerting: every failed run raises an alert (SNS on AWS, a log line locally)."""

import dagster as dg

from flight_assets.alerts import send_alert
from flight_assets.config import ui_url


def _root_message(error: object) -> str:
    """The innermost error's message: Dagster wraps the user's exception in an 'Error occurred while…' one."""
    while getattr(error, "cause", None) is not None:
        error = error.cause  # type: ignore[attr-defined]
    return str(getattr(error, "message", error)).strip()


@dg.run_failure_sensor(
    name="run_failure_alert_sensor",
    default_status=dg.DefaultSensorStatus.RUNNING,
    monitor_all_code_locations=True,  # the poller's runs live in a code location of their own
    description="Sends an alert for every failed run, in either code location: SNS when FLIGHT_ALERTS_TOPIC_ARN is set, else a log line.",
)
def run_failure_alert_sensor(context: dg.RunFailureSensorContext) -> None:
    run = context.dagster_run
    partition = run.tags.get("dagster/partition") or run.tags.get("dagster/asset_partition_range_start")
    ui = ui_url()
    subject = f"flight_assets: {run.job_name} failed" + (f" ({partition})" if partition else "")
    message = "\n".join(
        line for line in (
            f"Job: {run.job_name}",
            f"Run: {run.run_id}",
            f"Partition: {partition}" if partition else "",
            f"Error: {context.failure_event.message}",
            *(f"Step {e.step_key}: {_root_message(e.step_failure_data.error)}"
              for e in context.get_step_failure_events() if e.step_failure_data.error),
            f"Details: {ui}/runs/{run.run_id}",
        ) if line
    )
    where = send_alert(subject, message)
    context.log.info(f"alert for run {run.run_id} sent to {where}")
