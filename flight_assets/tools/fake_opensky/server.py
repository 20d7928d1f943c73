"""The HTTP server: OAuth2 tokens, per-identity credits, 429s, faults, history, and the control endpoints."""

from __future__ import annotations

import base64
import contextlib
import json
import math
import random
import secrets
import socket
import socketserver
import struct
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from flight_assets.config import TOKEN_PATH
from flight_assets.opensky.credits import (
    HISTORY_S,
    TIER_BUDGETS,
    BBox,
    call_cost,
)
from flight_assets.opensky.snapshot import SnapshotError
from flight_assets.tools.fake_opensky.faults import normalize_fault
from flight_assets.tools.fake_opensky.replay import _Replay
from flight_assets.tools.fake_opensky.replies import (
    _MAINTENANCE_PAGE,
    _error_page,
    _json_reply,
    _Reply,
    _text_reply,
    _too_many_requests,
    _unauthorized,
)
from flight_assets.tools.fake_opensky.rows import _dump, _history_time, _parse_states_query, _select_rows
from flight_assets.tools.fake_opensky.settings import (
    ANONYMOUS,
    API_PREFIX,
    DEFAULT_SIMULATE,
    HTML_TYPE,
    JSON_TYPE,
    REDIRECT_PREFIX,
    STATES_PATH,
    TEXT_TYPE,
    FakeOpenSkyConfig,
)
from flight_assets.tools.fake_opensky.simulation import _Fleet


class FakeOpenSky:
    """An OpenSky-compatible server on loopback; `start()` serves from a daemon thread, `stop()` ends it."""

    def __init__(self, config: FakeOpenSkyConfig | None = None) -> None:
        self.config = config if config is not None else FakeOpenSkyConfig()
        self._clock = self.config.clock
        self._lock = threading.Lock()
        self._replay = _Replay(self.config.replay, self.config.loop) if self.config.replay else None
        count = self.config.simulate
        if count is None and self._replay is None:
            count = DEFAULT_SIMULATE
        self._fleet = _Fleet(count, self.config.seed, self._clock()) if count is not None else None
        self._fault_rng = random.Random(self.config.seed)
        self._faults: deque[dict[str, Any]] = deque()
        self._tokens: dict[str, tuple[str, float]] = {}
        self._credits: dict[str, int] = {}
        self._requests_served = 0
        self._served: deque[tuple[int, int, int, int]] = deque()  # replay: (body time, index, shift, served at)
        self._history_requests: deque[int] = deque(maxlen=100_000)  # bounded: the demo server runs for days
        self._connections: set[socket.socket] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle

    def start(self) -> FakeOpenSky:
        if self._server is not None:
            return self
        self._server = _Server((self.config.host, self.config.port), self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="fake-opensky", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        server.shutdown()
        server.server_close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:  # keep-alive clients must not be served by a stopped server
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        if thread is not None:
            thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeOpenSky:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- addresses

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the fake OpenSky server is not started")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        host = self.config.host
        if host in ("", "0.0.0.0"):
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def api_url(self) -> str:
        return self.base_url + API_PREFIX

    @property
    def token_url(self) -> str:
        return self.base_url + TOKEN_PATH

    def describe_source(self) -> str:
        if self._replay is not None:
            return (
                f"{len(self._replay.bodies)} recorded response(s)"
                f"{', re-timed' if self.config.retime else ''}{', cycling' if self._replay.loop else ''}"
            )
        assert self._fleet is not None
        return f"{len(self._fleet.aircraft)} simulated aircraft (seed {self.config.seed})"

    # -- test helpers

    def enqueue(self, *faults: Mapping[str, Any] | str) -> None:
        """Script faults, consumed one per /api/states/all request in FIFO order (checked before queueing)."""
        checked = [normalize_fault(fault) for fault in faults]
        with self._lock:
            self._faults.extend(checked)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    @property
    def faults_pending(self) -> int:
        with self._lock:
            return len(self._faults)

    @property
    def requests_served(self) -> int:
        with self._lock:
            return self._requests_served

    def credits_remaining(self, client_id: str | None = None) -> int:
        identity = client_id or ANONYMOUS
        with self._lock:
            return self._credits.get(identity, self._initial_credits(identity))

    def expire_tokens(self) -> int:
        """Make every token issued so far expired (the next request with one gets 401); returns how many."""
        with self._lock:
            for token, (client, _) in self._tokens.items():
                self._tokens[token] = (client, -math.inf)
            return len(self._tokens)

    def state(self) -> dict[str, Any]:
        with self._lock:
            credits = {ANONYMOUS: self._initial_credits(ANONYMOUS)}
            if self.config.client_id:
                credits[self.config.client_id] = self._initial_credits(self.config.client_id)
            credits.update(self._credits)
            return {
                "requests_served": self._requests_served,
                "credits": credits,
                "faults_pending": len(self._faults),
                "history_requests": len(self._history_requests),
            }

    # -- internals

    def _initial_credits(self, identity: str) -> int:
        if self.config.credits is not None:
            return self.config.credits
        return TIER_BUDGETS[ANONYMOUS if identity == ANONYMOUS else self.config.tier][0]

    def _track(self, connection: socket.socket, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def _random_fault(self) -> dict[str, Any] | None:
        cfg = self.config
        if not (cfg.error_rate or cfg.truncate_rate or cfg.html_rate):
            return None
        roll = self._fault_rng.random()
        if roll < cfg.error_rate:
            return {"kind": "status", "status": 503}
        if roll < cfg.error_rate + cfg.truncate_rate:
            return {"kind": "truncate"}
        if roll < cfg.error_rate + cfg.truncate_rate + cfg.html_rate:
            return {"kind": "html"}
        return None

    def _fault_reply(self, fault: dict[str, Any], target: str) -> _Reply:
        kind = fault["kind"]
        if kind == "status":
            return _error_page(fault["status"])
        if kind == "html":
            return _Reply(200, _MAINTENANCE_PAGE, HTML_TYPE)
        if kind == "reset":
            return _Reply(0, reset=True)
        if kind == "body":
            body = fault["body"]
            return _Reply(
                fault["status"], body if isinstance(body, bytes) else body.encode(), fault["content_type"]
            )
        if kind == "429":
            retry_after = fault["retry_after"]
            return _too_many_requests(self.config.retry_after if retry_after is None else retry_after)
        if kind == "redirect":
            return _Reply(302, b"Found", TEXT_TYPE, {"Location": target})
        raise AssertionError(f"unhandled fault {fault!r}")

    def _identify(self, authorization: str | None) -> tuple[str, _Reply | None]:
        if not authorization or not authorization.strip():
            return ANONYMOUS, None
        scheme, _, credentials = authorization.strip().partition(" ")
        if scheme.lower() != "bearer":
            return ANONYMOUS, _unauthorized(
                f"{scheme} authentication is not supported; use an OAuth2 client-credentials Bearer token"
            )
        with self._lock:
            entry = self._tokens.get(credentials.strip())
        if entry is None:
            return ANONYMOUS, _unauthorized("unknown access token")
        client, expires_at = entry
        if self._clock() >= expires_at:
            return ANONYMOUS, _unauthorized("access token expired")
        return client, None

    def handle_states(self, target: str, authorization: str | None) -> _Reply:
        query = urlsplit(target).query
        with self._lock:
            self._requests_served += 1
            fault = self._faults.popleft() if self._faults else self._random_fault()
        if self.config.latency_ms:
            time.sleep(self.config.latency_ms / 1000.0)
        kind = fault["kind"] if fault else None
        if kind == "delay":
            time.sleep(fault["seconds"])  # type: ignore[index]
        elif fault is not None and kind != "truncate":
            return self._fault_reply(fault, target)
        identity, refusal = self._identify(authorization)
        if refusal is not None:
            return refusal
        try:
            bbox, icaos, extended = _parse_states_query(query)
            # Like OpenSky: `time` is for users only (anonymous calls get the newest state), within the last hour.
            at = _history_time(query, self._clock()) if identity != ANONYMOUS else None
        except ValueError as exc:
            return _text_reply(400, f"Bad request: {exc}\n")
        cost = call_cost(bbox)
        index: int | None = None
        with self._lock:
            remaining = self._credits.get(identity, self._initial_credits(identity))
            if remaining < cost:
                return _too_many_requests(self.config.retry_after)
            if at is not None:
                self._history_requests.append(at)
                if self._replay is not None and not any(entry[0] <= at for entry in self._served):
                    # A replay has no history before what it served: say so rather than invent an empty sky.
                    return _text_reply(404, f"No state vectors at time={at}: nothing was served at or before it "
                                            "within the last hour\n")
            elif self._replay is not None:
                index = self._replay.next_index()
                if index is None:
                    return _text_reply(
                        404,
                        f"Replay exhausted: all {len(self._replay.bodies)} recorded responses "
                        "were served and looping is off (--no-loop)\n",
                    )
            remaining -= cost
            self._credits[identity] = remaining
        try:
            if at is not None:
                body = self._history_body(at, bbox, icaos, extended)
            else:
                body = self._states_body(index, bbox, icaos, extended)
        except SnapshotError as exc:
            with self._lock:
                self._credits[identity] += cost
            return _text_reply(500, f"{exc}\n")
        if kind == "truncate":
            body = body[: max(1, len(body) // 2)]
        return _Reply(200, body, JSON_TYPE, {"X-Rate-Limit-Remaining": str(remaining)})

    def _states_body(
        self, index: int | None, bbox: BBox | None, icaos: set[str] | None, extended: bool
    ) -> bytes:
        now = int(self._clock())
        if self._replay is None:
            assert self._fleet is not None
            return _dump(now, _select_rows(self._fleet.rows(now), bbox, icaos, extended))
        assert index is not None
        shift = now - self._replay.time_of(index) if self.config.retime else 0
        with self._lock:
            # What was served, so that `time=` can answer it again within the hour.
            self._served.append((self._replay.time_of(index) + shift, index, shift, now))
            while self._served and self._served[0][3] < now - HISTORY_S:
                self._served.popleft()
        return self._replay_body(index, shift, bbox, icaos, extended)

    def _replay_body(
        self, index: int, shift: int, bbox: BBox | None, icaos: set[str] | None, extended: bool
    ) -> bytes:
        assert self._replay is not None
        filtered = bbox is not None or icaos is not None or extended
        if not filtered and not shift and not self._replay.is_bare_array(index):
            return self._replay.bodies[index][1]  # byte-exact
        snapshot_time, rows = self._replay.parsed(index)
        return _dump(snapshot_time + shift, _select_rows(rows, bbox, icaos, extended, shift))

    def _history_body(self, at: int, bbox: BBox | None, icaos: set[str] | None, extended: bool) -> bytes:
        """The state at `at`: the simulated fleet then, or the newest replayed body served with time <= at."""
        if self._replay is None:
            assert self._fleet is not None
            return _dump(at, _select_rows(self._fleet.rows(at), bbox, icaos, extended))
        with self._lock:
            earlier = [entry for entry in self._served if entry[0] <= at]
        _, index, shift, _ = max(earlier, key=lambda entry: (entry[0], entry[3]))
        return self._replay_body(index, shift, bbox, icaos, extended)

    @property
    def history_requests(self) -> list[int]:
        """The (rounded) `time=` of every history request answered so far, in order (for tests)."""
        with self._lock:
            return list(self._history_requests)

    def handle_token(self, body: bytes, authorization: str | None) -> _Reply:
        form = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)

        def value(name: str) -> str | None:
            return form.get(name, [None])[0]

        client_id, client_secret = value("client_id"), value("client_secret")
        if authorization and authorization.strip().lower().startswith("basic "):
            try:
                decoded = base64.b64decode(authorization.strip()[6:]).decode("utf-8")
                client_id, _, client_secret = decoded.partition(":")
            except (ValueError, UnicodeDecodeError):
                pass
        grant_type = value("grant_type")
        if grant_type is None:
            return _json_reply(
                400, {"error": "invalid_request", "error_description": "Missing form parameter: grant_type"}
            )
        if grant_type != "client_credentials":
            return _json_reply(
                400, {"error": "unsupported_grant_type", "error_description": "Unsupported grant_type"}
            )
        if not self._client_ok(client_id, client_secret):
            return _json_reply(
                401,
                {
                    "error": "invalid_client",
                    "error_description": "Invalid client or Invalid client credentials",
                },
            )
        assert client_id is not None
        now = self._clock()
        ttl = int(self.config.token_ttl)
        token = self._new_token(client_id, now, ttl)
        with self._lock:
            self._tokens[token] = (client_id, now + ttl)
        return _json_reply(
            200,
            {
                "access_token": token,
                "expires_in": ttl,
                "refresh_expires_in": 0,
                "token_type": "Bearer",
                "not-before-policy": 0,
                "scope": "profile email",
            },
        )

    def _client_ok(self, client_id: str | None, client_secret: str | None) -> bool:
        if not client_id or not client_secret:
            return False
        if self.config.client_id is None:
            return True  # no credentials configured: any client may obtain a token
        return secrets.compare_digest(
            client_id.encode(), self.config.client_id.encode()
        ) and secrets.compare_digest(client_secret.encode(), str(self.config.client_secret).encode())

    def _new_token(self, client_id: str, now: float, ttl: int) -> str:
        """A JWT-shaped opaque token (clients may read `exp`; nobody can verify the signature)."""

        def part(data: bytes) -> str:
            return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

        header = {"alg": "RS256", "typ": "JWT", "kid": "fake-opensky"}
        claims = {
            "exp": int(now + ttl),
            "iat": int(now),
            "jti": secrets.token_hex(8),
            "iss": f"{self.base_url}/auth/realms/opensky-network",
            "typ": "Bearer",
            "azp": client_id,
            "clientId": client_id,
            "scope": "profile email",
        }
        return ".".join(
            (
                part(json.dumps(header).encode()),
                part(json.dumps(claims).encode()),
                part(secrets.token_bytes(32)),
            )
        )

    def handle_control(self, method: str, path: str, body: bytes) -> _Reply:
        if path == "/_control/state" and method == "GET":
            return _json_reply(200, self.state())
        if path == "/_control/faults" and method == "POST":
            try:
                doc = json.loads(body or b"[]")
                self.enqueue(*(doc if isinstance(doc, list) else [doc]))
            except ValueError as exc:
                return _text_reply(400, f"Bad request: {exc}\n")
            return _json_reply(200, {"faults_pending": self.faults_pending})
        if path == "/_control/faults" and method == "DELETE":
            self.clear_faults()
            return _json_reply(200, {"faults_pending": 0})
        if path == "/_control/expire-tokens" and method == "POST":
            return _json_reply(200, {"expired": self.expire_tokens()})
        return _text_reply(404, f"Not Found: {method} {path}\n")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: FakeOpenSky) -> None:
        self.app = app
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)  # skip HTTPServer's getfqdn(): a DNS lookup on every start
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError) and not self.app.config.verbose:
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-opensky/1.0"
    timeout = 120  # idle keep-alive connections
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.app._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.app._track(self.connection, add=False)

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.app.config.verbose:
            super().log_message(format, *args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _dispatch(self, method: str) -> None:
        app = self.server.app
        try:
            body = self._read_body()
            split = urlsplit(self.path)
            path = split.path.rstrip("/") or "/"
            if path == STATES_PATH:
                reply = (
                    app.handle_states(self.path, self.headers.get("Authorization"))
                    if method == "GET"
                    else _text_reply(405, "Method Not Allowed\n", {"Allow": "GET"})
                )
            elif path == TOKEN_PATH:
                reply = (
                    app.handle_token(body, self.headers.get("Authorization"))
                    if method == "POST"
                    else _text_reply(405, "Method Not Allowed\n", {"Allow": "POST"})
                )
            elif path.startswith(REDIRECT_PREFIX + "/"):
                location = split.path[len(REDIRECT_PREFIX) :] + (f"?{split.query}" if split.query else "")
                reply = _Reply(302, b"Found", TEXT_TYPE, {"Location": location})
            elif path.startswith("/_control/"):
                reply = app.handle_control(method, path, body)
            else:
                reply = _text_reply(404, f"Not Found: {split.path}\n")
        except (ConnectionError, TimeoutError):
            raise
        except Exception:  # a bug here must show up as a 500 with its traceback, not a hung client
            text = traceback.format_exc()
            print(text, file=sys.stderr, flush=True)
            reply = _text_reply(500, text)
        self._send(reply)

    def _send(self, reply: _Reply) -> None:
        if reply.reset:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()  # RST once finish() releases the stream; no byte of response is sent
            return
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(reply.body)
