"""What a fake-opensky serves and how: its paths, its constants, and FakeOpenSkyConfig (the one home of its defaults)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from flight_assets.opensky.credits import (
    TIER_BUDGETS,
    TIERS,
)

API_PREFIX = "/api"
STATES_PATH = "/api/states/all"
REDIRECT_PREFIX = "/redirect"
DEFAULT_SIMULATE = 500
ANONYMOUS = "anonymous"
FAULT_KINDS = ("status", "truncate", "html", "reset", "delay", "body", "429", "redirect")

JSON_TYPE = "application/json"
TEXT_TYPE = "text/plain; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"


# ---------------------------------------------------------------------------------------------- configuration


@dataclass
class FakeOpenSkyConfig:
    """Everything the server does; fields mirror the CLI options (`clock` is for tests only)."""

    host: str = "127.0.0.1"
    port: int = 0
    replay: list[str | Path] = field(default_factory=list)
    retime: bool = False
    loop: bool = True
    simulate: int | None = None
    seed: int = 0
    client_id: str | None = None
    client_secret: str | None = None
    token_ttl: int = 1800
    tier: str = "standard"
    credits: int | None = None
    retry_after: int = 3600
    latency_ms: float = 0.0
    error_rate: float = 0.0
    truncate_rate: float = 0.0
    html_rate: float = 0.0
    verbose: bool = False
    clock: Callable[[], float] = field(default=time.time, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.replay = list(self.replay or [])
        if self.replay and self.simulate is not None:
            raise ValueError("choose either replay paths or --simulate N, not both")
        if self.simulate is not None and self.simulate < 0:
            raise ValueError(f"--simulate needs a number of aircraft >= 0, got {self.simulate}")
        if self.tier not in TIER_BUDGETS:
            raise ValueError(f"unknown tier {self.tier!r}; expected one of {', '.join(TIERS)}")
        if (self.client_id is None) != (self.client_secret is None):
            raise ValueError("give both a client id and a client secret, or neither")
        if self.token_ttl <= 0:
            raise ValueError(f"--token-ttl must be positive, got {self.token_ttl}")
        if self.credits is not None and self.credits < 0:
            raise ValueError(f"--credits must be >= 0, got {self.credits}")
        if self.retry_after < 0 or self.latency_ms < 0:
            raise ValueError("--retry-after and --latency-ms must be >= 0")
        rates = {
            "--error-rate": self.error_rate,
            "--truncate-rate": self.truncate_rate,
            "--html-rate": self.html_rate,
        }
        for name, rate in rates.items():
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be a fraction between 0 and 1, got {rate}")
        if sum(rates.values()) > 1.0 + 1e-9:
            raise ValueError(f"the fault rates add up to more than 1: {sum(rates.values())}")
