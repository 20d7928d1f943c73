"""AWS Lambda entry point: `flight_assets.lambda_handler.lambda_handler`.

EventBridge cannot fire more often than once a minute, so one invocation makes `polls_per_invocation` polls
(default 2) 30 s apart, stopping early when the remaining time would not fit another poll. Imports only the pure
ingest modules: no Dagster, no pyarrow (tested), so the package stays small and cold starts fast.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

from flight_assets.config import (
    ConfigError,
    LambdaSettings,
    Settings,
    load_lambda_settings,
)
from flight_assets.ingestion.poll import POLL_BUDGET_S, Ingester, IngestResult
from flight_assets.opensky.secret import settings_with_secret

POLL_BUDGET_MS = int(POLL_BUDGET_S * 1000)
RETURN_MARGIN_MS = 1_000  # kept back from a poll's budget to log and return the summary before Lambda's timeout
# /tmp is the only place a Lambda may write; it lives as long as the warm instance (a once-a-minute schedule
# makes the next invocation likely to find it).
LAMBDA_SPOOL_DIR = "/tmp/flight-assets-spool"

_INGESTER: Ingester | None = None  # kept across warm invocations: connection pool and OAuth token survive


def _settings_with_secret(env: dict[str, str]) -> Settings:
    """Settings from the environment; OpenSky credentials from Secrets Manager when OPENSKY_SECRET_ARN is set."""
    return settings_with_secret({"FLIGHT_SPOOL_DIR": LAMBDA_SPOOL_DIR, **env})


def _ingester() -> Ingester:
    global _INGESTER
    if _INGESTER is None:
        _INGESTER = Ingester(_settings_with_secret(dict(os.environ)), writer="lambda")
    return _INGESTER


def _log(event: str, **fields: Any) -> None:
    # Structured JSON, one line per event: CloudWatch Logs Insights can filter on any field.
    print(json.dumps({"event": event, **fields}, default=str), flush=True)


def _emf(result: IngestResult, latency_ms: float) -> None:
    """A CloudWatch Embedded Metric Format line: metrics without a PutMetricData call."""
    landed = int(result.status == "landed") + len(result.recovered)  # spooled bodies it landed count too
    metrics = {"States": result.states or 0, "LatencyMs": round(latency_ms, 1), "Landed": landed,
               "Errors": int(result.failed),
               # OpenSky refusing this network (403, no answer at all), apart from 429s and bad bodies: the
               # Blocked alarm points to the runbook (deploy/README.md, "OpenSky blocks AWS").
               "Blocked": int(result.status == "blocked")}
    if result.credits_remaining is not None:
        metrics["CreditsRemaining"] = result.credits_remaining
    _emf_line(result.status, metrics)


def _emf_line(status: str, metrics: dict[str, float]) -> None:
    units = {name: "Milliseconds" if name == "LatencyMs" else "Count" for name in metrics}
    print(json.dumps({
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [{
                "Namespace": "FlightAssets/Ingest",
                "Dimensions": [["Function"]],
                "Metrics": [{"Name": name, "Unit": units[name]} for name in metrics],
            }],
        },
        "Function": os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "flight-assets-ingest"),
        "status": status,
        **metrics,
    }), flush=True)


def lambda_handler(event: dict[str, Any] | None, context: Any) -> dict[str, Any]:
    started = time.monotonic()
    event = event or {}
    try:
        options: LambdaSettings = load_lambda_settings(os.environ, event)
        ingester = _ingester()
    except ConfigError as exc:
        # One JSON line with the sentence (it names the variable or secret, never a secret's value), an Errors
        # metric for the dashboard, then a raise: the function's Errors alarm counts the invocation.
        _log("config_error", message=str(exc))
        _emf_line("config_error", {"Landed": 0, "Errors": 1})
        raise
    polls, spacing = options.polls_per_invocation, options.poll_spacing_s
    results: list[IngestResult] = []
    stopped_early = None
    for index in range(polls):
        # Checked before every poll, the first included: a poll started without its budget left is cut off by
        # Lambda's timeout mid-landing, after OpenSky has already been paid.
        wait = started + index * spacing - time.monotonic() if index else 0.0
        remaining_ms = context.get_remaining_time_in_millis() if context is not None else None
        if remaining_ms is not None and remaining_ms - max(wait, 0) * 1000 < POLL_BUDGET_MS:
            stopped_early = (f"{remaining_ms} ms left: poll {index + 1} of {polls} would not finish "
                             f"(a poll needs {POLL_BUDGET_MS:,} ms)")
            _log("stopped_early", reason=stopped_early)
            break
        if wait > 0:
            time.sleep(wait)
        poll_started = time.monotonic()
        budget_s = None if remaining_ms is None else (remaining_ms - max(wait, 0) * 1000 - RETURN_MARGIN_MS) / 1000
        result = ingester.poll(budget_s=budget_s)
        latency_ms = (time.monotonic() - poll_started) * 1000
        results.append(result)
        _log("poll", poll=index + 1, status=result.status, message=result.message, key=result.key,
             states=result.states, credits_remaining=result.credits_remaining, skip_reason=result.skip_reason,
             timings_ms={k: round(v * 1000, 1) for k, v in result.timings_s.items()})
        _emf(result, latency_ms)
    failed = any(r.failed for r in results)
    succeeded = any(r.status in ("landed", "duplicate") or r.recovered for r in results)
    summary = {
        # A skip after a failed poll is the governor saying the failed poll used the slot, not a success: with
        # nothing landed and something failed (or no poll fitting at all), the invocation is an error.
        "status": "error" if (failed and not succeeded) or (stopped_early and not results)
                  else ("partial" if failed else "ok"),
        "keys_landed": [r.key for r in results if r.status == "landed"],
        "keys_recovered": [key for r in results for key in r.recovered],  # spooled by an earlier poll, landed now
        "duplicates": [r.key for r in results if r.status == "duplicate"],
        "states": sum(r.states or 0 for r in results if r.status in ("landed", "duplicate")),
        "polls": [{"status": r.status, "message": r.message, "skip_reason": r.skip_reason} for r in results],
        "skip_reason": next((r.skip_reason for r in results if r.skip_reason), None),
        "stopped_early": stopped_early,
        "duration_s": round(time.monotonic() - started, 3),
    }
    _log("summary", **summary)
    if summary["status"] == "error":
        # Raise so Lambda counts an error (alarm, on-failure destination); skips alone are not errors.
        raise RuntimeError("; ".join([r.message for r in results if r.failed] or [str(stopped_early)]))
    return summary


if __name__ == "__main__":  # local smoke run: python -m flight_assets.lambda_handler
    print(json.dumps(lambda_handler({"polls_per_invocation": 1}, None), indent=2))
    sys.exit(0)
