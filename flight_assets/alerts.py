"""Alerts: an SNS message when FLIGHT_ALERTS_TOPIC_ARN is set, otherwise a log line. No Dagster import."""

from __future__ import annotations

import logging
import os

from flight_assets.config import alerts_topic_arn

log = logging.getLogger("flight_assets.alerts")


def send_alert(subject: str, message: str, env: dict[str, str] | None = None) -> str:
    """Publish to the alerts topic, or log when none is configured. Returns where the alert went."""
    env = dict(os.environ) if env is None else env
    topic = alerts_topic_arn(env)
    if not topic:
        log.error("ALERT %s\n%s", subject, message)
        return "log"
    import boto3

    client = boto3.client("sns", endpoint_url=env.get("AWS_ENDPOINT_URL") or None)
    client.publish(TopicArn=topic, Subject=subject[:100], Message=message)  # SNS caps subjects at 100 chars
    return topic
