"""OpenSky REST client for `/states/all`: OAuth2 client credentials, time limits, retries, typed errors.

Pure Python on `requests`; no Dagster import, so the Lambda handler uses it directly. The body is returned
byte-exact (it is landed as is); it is only checked (opensky/snapshot.py) to prove it is a complete response.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import urlencode

import requests

from flight_assets.config import Settings
from flight_assets.opensky.credits import BBox
from flight_assets.opensky.snapshot import ParsedSnapshot, SnapshotError, body_preview, parse_snapshot
from flight_assets.redact import redact

log = logging.getLogger(__name__)

RETRYABLE_STATUSES = frozenset({500, 502, 503, 504})
TOKEN_REFRESH_MARGIN_S = 30


class OpenSkyError(RuntimeError):
    """OpenSky could not give a usable snapshot; the message says what happened and what to do."""


class OpenSkyHTTPError(OpenSkyError):
    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class OpenSkyAuthError(OpenSkyHTTPError):
    """The token endpoint refused the client credentials, or the API refused a fresh token."""


class OpenSkyBadBody(OpenSkyHTTPError):
    """A 200 answer whose body is not a complete `/states/all` response (HTML page, truncated JSON, …)."""


class OpenSkyBlocked(OpenSkyHTTPError):
    """OpenSky refuses this network, not this request: HTTP 403 from `/states/all`, or no HTTP answer at all within
    the poll (connections refused or reset, timeouts on every attempt). OpenSky may block AWS and other cloud
    providers' IP ranges; a block is not a rate limit (429) and not a bad body, and waiting does not end it."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(
            f"{message}. OpenSky may be blocking this network (it blocks some cloud IP ranges): poll from outside "
            "the cloud (deploy/README.md, 'OpenSky blocks AWS')",
            status,
        )


class RateLimited(OpenSkyError):
    """HTTP 429: the credits are spent. Carries when polling may resume; callers must not sleep through it."""

    def __init__(self, retry_after_s: float, resume_at: float, remaining: int | None) -> None:
        hours = retry_after_s / 3600
        super().__init__(
            f"OpenSky answered 429 Too many requests: credits are exhausted; retry after {retry_after_s:,.0f} s "
            f"({hours:.1f} h, at {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(resume_at))})"
        )
        self.retry_after_s = retry_after_s
        self.resume_at = resume_at
        self.remaining = remaining


@dataclass(frozen=True)
class FetchedSnapshot:
    body: bytes
    parsed: ParsedSnapshot
    status: int
    url: str  # the request URL without any secret (credentials travel in a header, never the URL)
    fetched_at: float
    credits_remaining: int | None
    attempts: int
    fetch_s: float  # network time, all attempts
    parse_s: float


@dataclass
class _Token:
    value: str
    expires_at: float


@dataclass
class OpenSkyClient:
    api_url: str
    token_url: str
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    connect_timeout_s: float = 3.0
    read_timeout_s: float = 10.0
    deadline_s: float = 25.0  # every attempt and backoff of one fetch fits in this, shorter than the 30-s poll
    max_attempts: int = 4
    backoff_base_s: float = 0.5
    session: requests.Session = field(default_factory=requests.Session, repr=False)
    _token: _Token | None = field(default=None, repr=False)
    _token_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    last_credits_remaining: int | None = None

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: float) -> OpenSkyClient:
        return cls(
            api_url=settings.api_url,
            token_url=settings.token_url,
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            **overrides,  # type: ignore[arg-type]
        )

    # -- auth -------------------------------------------------------------------------------------------------
    def _bearer(self, deadline: float, force_refresh: bool = False) -> str | None:
        if not (self.client_id and self.client_secret):
            return None
        with self._token_lock:
            now = time.time()
            if not force_refresh and self._token and now < self._token.expires_at - TOKEN_REFRESH_MARGIN_S:
                return self._token.value
            try:
                response = self.session.post(
                    self.token_url,
                    data={
                        "grant_type": "client_credentials",
                        "client_id": self.client_id,
                        "client_secret": self.client_secret,
                    },
                    timeout=(self.connect_timeout_s, max(0.1, min(self.read_timeout_s, deadline - now))),
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                raise OpenSkyBlocked(f"could not reach the OpenSky token endpoint {self.token_url}: {exc}") from None
            except requests.RequestException as exc:
                raise OpenSkyError(f"could not reach the OpenSky token endpoint {self.token_url}: {exc}") from None
            if response.status_code in (400, 401, 403):
                raise OpenSkyAuthError(
                    f"the OpenSky token endpoint refused the client credentials (HTTP {response.status_code}); "
                    "check OPENSKY_CLIENT_ID and OPENSKY_CLIENT_SECRET",
                    response.status_code,
                )
            if response.status_code != 200:
                raise OpenSkyHTTPError(
                    f"the OpenSky token endpoint answered HTTP {response.status_code}: "
                    f"{body_preview(response.content, secrets=self.secrets())}",
                    response.status_code,
                )
            try:
                payload = response.json()
                self._token = _Token(payload["access_token"], now + float(payload.get("expires_in", 1800)))
            except (ValueError, KeyError):
                raise OpenSkyHTTPError(
                    "the OpenSky token endpoint answered without an access_token: "
                    f"{body_preview(response.content, secrets=self.secrets())}"
                ) from None
            return self._token.value

    # -- states ------------------------------------------------------------------------------------------------
    def states_url(
        self, bbox: BBox | None = None, extended: bool = False, icao24: list[str] | None = None,
        at: int | None = None,
    ) -> str:
        """The `/states/all` URL; `at` asks for the state at that Unix time (`time=`, users only, last hour)."""
        params: list[tuple[str, str]] = []
        if at is not None:
            params.append(("time", str(int(at))))
        if bbox is not None:
            params += list(zip(("lamin", "lomin", "lamax", "lomax"), map(_coordinate, bbox), strict=True))
        if extended:
            params.append(("extended", "1"))
        params += [("icao24", code.lower()) for code in icao24 or []]
        return f"{self.api_url}/states/all" + (f"?{urlencode(params)}" if params else "")

    def secrets(self) -> tuple[str | None, ...]:
        """What must never appear in a message: the client secret and the bearer token in use."""
        return (self.client_secret, self._token.value if self._token else None)

    def fetch_states(
        self, bbox: BBox | None = None, extended: bool = False, icao24: list[str] | None = None,
        deadline_s: float | None = None, at: int | None = None,
    ) -> FetchedSnapshot:
        """One `/states/all` snapshot, retried on 5xx, timeouts and connection errors within `deadline_s` (default:
        the client's; a poll passes what its own budget leaves).

        Raises RateLimited on 429 (never sleeps through it), OpenSkyBadBody on an unusable 200 body (not retried:
        the call already cost credits, the next poll tries again), OpenSkyHTTPError on other failures (a `time=`
        older than OpenSky's one-hour horizon is a 400). `at` asks for the state at that Unix time (`time=`).
        Every error's message is redacted: endpoints and proxies echo requests, and requests' own errors quote them.
        """
        try:
            return self._fetch_states(bbox, extended, icao24, self.deadline_s if deadline_s is None else deadline_s,
                                      at)
        except OpenSkyError as exc:
            exc.args = (redact(str(exc), self.secrets()),)
            raise

    def _fetch_states(
        self, bbox: BBox | None, extended: bool, icao24: list[str] | None, deadline_s: float, at: int | None
    ) -> FetchedSnapshot:
        url = self.states_url(bbox, extended, icao24, at)
        started = time.monotonic()
        deadline_wall = time.time() + deadline_s
        refreshed = False
        attempt = 0
        last_problem = ""
        answered = False  # any HTTP answer at all: without one, a give-up is a network block, not an outage
        while True:
            attempt += 1
            remaining_s = deadline_s - (time.monotonic() - started)
            if remaining_s <= 0.05:
                raise (OpenSkyHTTPError if answered or not last_problem else OpenSkyBlocked)(
                    f"OpenSky did not answer usefully within {deadline_s:.3g} s ({attempt - 1} attempts); "
                    f"last problem: {last_problem}"
                )
            headers = {"Accept": "application/json"}
            token = self._bearer(deadline_wall)
            if token:
                headers["Authorization"] = f"Bearer {token}"
            try:
                response = self.session.get(
                    url,
                    headers=headers,
                    timeout=(min(self.connect_timeout_s, remaining_s), min(self.read_timeout_s, remaining_s)),
                    allow_redirects=True,
                )
                status = response.status_code
                body = response.content
            except (requests.Timeout, requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
                last_problem = f"{exc.__class__.__name__}: {exc}"
                if self._give_up(attempt, started, deadline_s):
                    raise (OpenSkyHTTPError if answered else OpenSkyBlocked)(
                        f"could not get a response from {url} after {attempt} attempts: {last_problem}"
                    ) from None
                self._backoff(attempt, started, deadline_s)
                continue
            answered = True
            fetch_s = time.monotonic() - started
            remaining_credits = _int_header(response, "X-Rate-Limit-Remaining")
            if remaining_credits is not None:
                self.last_credits_remaining = remaining_credits
            if status == 401 and token and not refreshed:
                # The token expired early or was revoked: one refresh and retry, then it is a real auth error.
                refreshed = True
                self._bearer(deadline_wall, force_refresh=True)
                continue
            if status == 401:
                raise OpenSkyAuthError(
                    "OpenSky answered 401 Unauthorized"
                    + (" even with a fresh token; check the client's access" if token else
                       "; set OPENSKY_CLIENT_ID and OPENSKY_CLIENT_SECRET"),
                    status,
                )
            if status == 403:
                raise OpenSkyBlocked(
                    f"OpenSky answered HTTP 403 for {url}: {body_preview(body, 80, self.secrets())}", status
                )
            if status == 429:
                retry_after = (
                    _int_header(response, "X-Rate-Limit-Retry-After-Seconds")
                    or _int_header(response, "Retry-After")
                    or 60
                )
                raise RateLimited(float(retry_after), time.time() + retry_after, remaining_credits)
            if status in RETRYABLE_STATUSES:
                last_problem = f"HTTP {status}: {body_preview(body, 80, self.secrets())}"
                if self._give_up(attempt, started, deadline_s):
                    raise OpenSkyHTTPError(
                        f"OpenSky kept failing: {last_problem} after {attempt} attempts; the next poll retries",
                        status,
                    )
                self._backoff(attempt, started, deadline_s)
                continue
            if status != 200:
                raise OpenSkyHTTPError(
                    f"OpenSky answered HTTP {status} for {url}: {body_preview(body, secrets=self.secrets())}", status
                )
            parse_started = time.monotonic()
            try:
                parsed = parse_snapshot(body, status=status)
            except SnapshotError as exc:
                raise OpenSkyBadBody(f"unusable response from {url}: {exc}", status) from None
            return FetchedSnapshot(
                body=body,
                parsed=parsed,
                status=status,
                url=url,
                fetched_at=time.time(),
                credits_remaining=remaining_credits,
                attempts=attempt,
                fetch_s=fetch_s,
                parse_s=time.monotonic() - parse_started,
            )

    def _give_up(self, attempt: int, started: float, deadline_s: float) -> bool:
        next_wait = self.backoff_base_s * 2 ** (attempt - 1)
        return attempt >= self.max_attempts or time.monotonic() - started + next_wait >= deadline_s

    def _backoff(self, attempt: int, started: float, deadline_s: float) -> None:
        # Exponential backoff with full jitter, never past the deadline.
        wait = random.uniform(0, self.backoff_base_s * 2 ** (attempt - 1))
        wait = min(wait, max(0.0, deadline_s - (time.monotonic() - started) - 0.1))
        log.info("retrying OpenSky in %.2f s (attempt %d)", wait, attempt + 1)
        time.sleep(wait)


def _coordinate(value: float) -> str:
    """A coordinate exactly as given, in plain decimal: `:g` keeps 6 digits, which turns a box smaller than
    ~0.0001° into an empty one (OpenSky answers 400), and repr's exponent form (1e-05) is not a plain number."""
    return format(Decimal(repr(float(value))), "f")


def _int_header(response: requests.Response, name: str) -> int | None:
    value = response.headers.get(name)
    try:
        return int(float(value)) if value is not None else None
    except ValueError:
        return None
