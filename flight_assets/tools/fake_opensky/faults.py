"""Scripted faults: the fault objects a test or `POST /_control/faults` queues, checked and normalised."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flight_assets.tools.fake_opensky.settings import FAULT_KINDS, JSON_TYPE


def normalize_fault(fault: Mapping[str, Any] | str) -> dict[str, Any]:
    """Check one scripted fault and return it in canonical form; ValueError with a sentence otherwise."""
    if isinstance(fault, str):
        fault = {"kind": fault}
    if not isinstance(fault, Mapping):
        raise ValueError(f"a fault is an object like {{'kind': 'reset'}} or {{'status': 503}}, got {fault!r}")
    try:
        return _normalize_fault(fault)
    except KeyError as exc:
        raise ValueError(f"fault {dict(fault)!r} lacks the field {exc.args[0]!r}") from None
    except (TypeError, ValueError) as exc:
        raise ValueError(f"fault {dict(fault)!r} is not valid: {exc}") from None


def _normalize_fault(fault: Mapping[str, Any]) -> dict[str, Any]:
    kind = fault.get("kind")
    if kind is None and "status" in fault:
        kind = "status"
    kind = str(kind)
    if kind == "status":
        status = int(fault["status"])
        if status == 429:
            return _normalize_fault({**fault, "kind": "429"})
        if not 400 <= status <= 599:
            raise ValueError(f"a status fault needs a 4xx or 5xx status, got {status}")
        return {"kind": "status", "status": status}
    if kind in ("truncate", "html", "reset", "redirect"):
        return {"kind": kind}
    if kind == "delay":
        seconds = float(fault.get("seconds", 0))
        if not 0 <= seconds <= 3600:
            raise ValueError(f"a delay fault needs 0 <= seconds <= 3600, got {seconds}")
        return {"kind": "delay", "seconds": seconds}
    if kind == "body":
        body = fault["body"]
        if not isinstance(body, str | bytes):
            raise TypeError(f"a body fault needs 'body' as text, got {type(body).__name__}")
        status = int(fault.get("status", 200))
        if not 100 <= status <= 599:
            raise ValueError(f"a body fault needs an HTTP status, got {status}")
        return {
            "kind": "body",
            "body": body,
            "status": status,
            "content_type": str(fault.get("content_type", JSON_TYPE)),
        }
    if kind == "429":
        retry_after = fault.get("retry_after")
        return {"kind": "429", "retry_after": None if retry_after is None else int(retry_after)}
    raise ValueError(f"unknown fault kind {kind!r}; expected one of {', '.join(FAULT_KINDS)} (or a 'status')")
