"""Real servers on 127.0.0.1 for the tests: moto's S3/AWS server and an S3 fault proxy in front of it."""

from __future__ import annotations

import http.client
import http.server
import json
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

from moto.server import ThreadedMotoServer


class MotoServer:
    """moto's standalone server on an ephemeral loopback port."""

    def __init__(self) -> None:
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)

    def start(self) -> MotoServer:
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        self.port = port
        return self

    def stop(self) -> None:
        self._server.stop()


class S3FaultProxy:
    """An HTTP proxy to moto that answers chosen requests with a real S3 error, for S3-failure tests.

    `fail_next(n, when)` makes the next `n` requests for which `when(method, path)` is true answer 403 AccessDenied
    (the XML body S3 sends), without reaching moto. `outage(mode, seconds, when)` makes S3 unavailable for
    `seconds` from the first request for which `when` is true (that one included; None: from now): "drop" closes
    each connection without an answer, "hang" accepts the request and never answers (the connection is closed when
    the outage ends). Everything else is forwarded unchanged.
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self._lock = threading.Lock()
        self._failures: list[Callable[[str, str], bool]] = []
        self.failed: list[tuple[str, str]] = []
        self._outage: tuple[str, float, Callable[[str, str], bool] | None] | None = None
        self._outage_until: float | None = None
        self._outage_mode = ""
        self._stopped = threading.Event()
        self.refused: list[tuple[str, str]] = []  # requests that met an outage
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                mode = proxy._outage_now(self.command, self.path)
                while mode == "hang" and proxy._in_outage() and not proxy._stopped.wait(0.05):
                    pass  # accepted, never answered, until the outage ends (or is ended) or the proxy stops
                if mode:
                    self.close_connection = True
                    return
                if proxy._take_failure(self.command, self.path):
                    error = (
                        b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code>'
                        b"<Message>Access Denied (injected by the test proxy)</Message></Error>"
                    )
                    self.send_response(403)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(error)))
                    self.end_headers()
                    self.wfile.write(error)
                    return
                conn = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                conn.request(self.command, self.path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                self.send_response(response.status)
                for key, value in response.getheaders():
                    if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                conn.close()

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle  # noqa: N815

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _take_failure(self, method: str, path: str) -> bool:
        with self._lock:
            for index, when in enumerate(self._failures):
                if when(method, path):
                    del self._failures[index]
                    self.failed.append((method, path))
                    return True
        return False

    def fail_next(self, count: int, when: Callable[[str, str], bool]) -> None:
        with self._lock:
            self._failures.extend([when] * count)

    def outage(self, mode: str, seconds: float, when: Callable[[str, str], bool] | None = None) -> None:
        assert mode in ("drop", "hang")
        with self._lock:
            self._outage = (mode, seconds, when)
            self._outage_until = None
            if when is None:
                self._start_outage()

    def end_outage(self) -> None:
        with self._lock:
            self._outage, self._outage_until = None, None

    def _start_outage(self) -> None:
        assert self._outage is not None
        self._outage_mode = self._outage[0]
        self._outage_until = time.monotonic() + self._outage[1]

    def _in_outage(self) -> bool:
        with self._lock:
            return self._outage_until is not None and time.monotonic() < self._outage_until

    def _outage_now(self, method: str, path: str) -> str:
        with self._lock:
            if self._outage is None:
                return ""
            when = self._outage[2]
            if self._outage_until is None and when is not None and when(method, path):
                self._start_outage()
            if self._outage_until is not None and time.monotonic() < self._outage_until:
                self.refused.append((method, path))
                return self._outage_mode
            return ""

    def start(self) -> S3FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()  # wakes handlers that hang
        self._server.shutdown()
        self._server.server_close()


class EchoingOpenSky:
    """An OpenSky look-alike whose errors echo the request back, as some gateways and proxies do.

    `token` is what the token endpoint does: "error" (502 whose HTML quotes the form body, client secret and all),
    "json" (500 with the form as JSON), "not-json" (200 page quoting the body) or "ok" (a token). With "ok", the
    API answers 400 quoting the request headers, the bearer token included. The secret sits past the first 100
    characters where it can, so that a message cutting the body there would still show its start.
    """

    TOKEN = "eyJhbGciOiJSUzI1NiJ9.echo-test-token.c2lnbmF0dXJl"

    def __init__(self, token: str = "error") -> None:
        self.token = token
        echo = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _reply(self, status: int, body: bytes, content_type: str = "text/html") -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:  # noqa: N802
                form = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                padding = "<html><body><p>Gateway error; the upstream refused: "  # the secret straddles char 120
                if echo.token == "ok":
                    payload = {"access_token": echo.TOKEN, "expires_in": 1800, "token_type": "Bearer"}
                    self._reply(200, json.dumps(payload).encode(), "application/json")
                elif echo.token == "json":
                    fields = dict(urllib.parse.parse_qsl(form))
                    body = {"request": fields, "error": "server_error"}
                    self._reply(500, json.dumps(body).encode(), "application/json")
                else:
                    self._reply(502 if echo.token == "error" else 200, f"{padding}{form}</p></body></html>".encode())

            def do_GET(self) -> None:  # noqa: N802
                headers = sorted(self.headers.items(), key=lambda item: item[0] != "Authorization")
                echoed = "".join(f"{k}: {v}\n" for k, v in headers)
                self._reply(400, f"Bad request; we received:\n{echoed}".encode(), "text/plain")

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> EchoingOpenSky:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def poll_until(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.5,
               alive: Callable[[], None] | None = None) -> Any:
    """Poll `predicate` until it returns something truthy; `alive()` may raise to stop early (a dead server)."""
    deadline = time.monotonic() + timeout
    while True:
        if alive:
            alive()
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)
