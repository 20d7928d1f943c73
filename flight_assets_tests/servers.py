"""Real servers on 127.0.0.1 for the tests: moto's S3/AWS server and an S3 fault proxy in front of it."""

from __future__ import annotations

import http.client
import http.server
import threading
import time
from collections.abc import Callable

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
    (the XML body S3 sends), without reaching moto. Everything else is forwarded unchanged.
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self._lock = threading.Lock()
        self._failures: list[Callable[[str, str], bool]] = []
        self.failed: list[tuple[str, str]] = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
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

    def start(self) -> S3FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def wait_for(predicate: Callable[[], object], timeout: float, interval: float = 0.2, what: str = "condition") -> object:
    """Poll `predicate` until it returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
