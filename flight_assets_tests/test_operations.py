"""The run-failure alert: a real failed run, its sensor, and SNS on moto's server delivering to an SQS queue."""

from __future__ import annotations

import json
import logging

import boto3
import dagster as dg
import pytest

from flight_assets.defs.operations.sensors import run_failure_alert_sensor
from flight_assets_tests.servers import MotoServer


@dg.op
def broken() -> None:
    raise RuntimeError("the lake is on fire")


@dg.job(tags={"dagster/partition": "2025-08-30-18:00"})
def broken_job() -> None:
    broken()


def failed_run_context(instance: dg.DagsterInstance) -> dg.RunFailureSensorContext:
    result = broken_job.execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE")
    return dg.build_run_status_sensor_context(
        sensor_name="run_failure_alert_sensor", dagster_event=failure, dagster_instance=instance,
        dagster_run=result.dagster_run,
    ).for_run_failure()


def test_failed_run_publishes_to_sns(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> None:
    sns = boto3.client("sns", endpoint_url=moto_server.url, region_name="us-east-1")
    sqs = boto3.client("sqs", endpoint_url=moto_server.url, region_name="us-east-1")
    topic = sns.create_topic(Name="flight-assets-alerts")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="alerts-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    monkeypatch.setenv("FLIGHT_ALERTS_TOPIC_ARN", topic)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server.url)
    with dg.instance_for_test() as instance:
        run_failure_alert_sensor(failed_run_context(instance))
    messages = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=2).get("Messages", [])
    assert len(messages) == 1
    envelope = json.loads(messages[0]["Body"])
    assert envelope["Subject"] == "flight_assets: broken_job failed (2025-08-30-18:00)"
    assert "Partition: 2025-08-30-18:00" in envelope["Message"] and "/runs/" in envelope["Message"]
    assert "Step broken: RuntimeError: the lake is on fire" in envelope["Message"]


def test_failed_run_without_a_topic_logs_the_alert(caplog: pytest.LogCaptureFixture) -> None:
    with dg.instance_for_test() as instance, caplog.at_level(logging.ERROR, logger="flight_assets.alerts"):
        run_failure_alert_sensor(failed_run_context(instance))
    assert any("ALERT flight_assets: broken_job failed" in r.getMessage() for r in caplog.records)
