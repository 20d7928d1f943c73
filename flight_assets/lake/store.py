"""The data lake: one root that is a local folder or `s3://bucket/prefix`, with the same keys either way.

Only the standard library and boto3 (present in every Lambda runtime) are imported here, so the Lambda handler can
use it. Writes are atomic: a local file appears by a hard link of a complete temp file, an S3 object by one PUT.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

META_SUFFIX = ".meta.json"  # local stand-in for S3 user metadata: a hidden sidecar `.<name>.meta.json`


class LakeError(RuntimeError):
    """A lake operation failed; the message names the key and what the store said."""


# The monotonic time by which every storage call in this context must have returned (None: no deadline). A poll
# sets it for all it does, so hung storage costs the poll's budget at most, never 3 attempts × a 20-s timeout.
_DEADLINE: ContextVar[float | None] = ContextVar("flight_assets_storage_deadline", default=None)


@contextlib.contextmanager
def storage_deadline(deadline: float | None) -> Iterator[None]:
    """Bound every lake call made inside the block to return by `deadline` (a `time.monotonic()` value).

    Nested blocks keep the earlier of the two deadlines. Local disks are not bounded (a local write does not hang
    the way a remote store can); S3 calls get timeouts and retries that fit in the time left.
    """
    outer = _DEADLINE.get()
    token = _DEADLINE.set(deadline if outer is None else (outer if deadline is None else min(outer, deadline)))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def time_left() -> float | None:
    """Seconds until the storage deadline of this context, None when there is none."""
    deadline = _DEADLINE.get()
    return None if deadline is None else deadline - time.monotonic()


@dataclass(frozen=True)
class LakeObject:
    key: str
    size: int


class Lake:
    """Common interface of the local and S3 lakes. Keys are `/`-separated and relative to the lake root."""

    uri: str

    def put_if_absent(self, key: str, data: bytes, metadata: dict[str, str] | None = None) -> bool:
        """Write `data` at `key` unless an object is already there. True if this call created it."""
        raise NotImplementedError

    def put(self, key: str, data: bytes, metadata: dict[str, str] | None = None) -> None:
        raise NotImplementedError

    def get(self, key: str) -> bytes:
        raise NotImplementedError

    def head(self, key: str) -> dict[str, str] | None:
        """User metadata of the object at `key`, or None when there is no such object."""
        raise NotImplementedError

    def list(self, prefix: str, start_after: str | None = None) -> Iterator[LakeObject]:
        """Objects whose key starts with `prefix`, in key order (metadata sidecars excluded)."""
        raise NotImplementedError

    def delete_prefix(self, prefix: str) -> int:
        raise NotImplementedError

    def update_json(self, key: str, update: Callable[[dict[str, Any] | None], dict[str, Any]]) -> dict[str, Any]:
        """Read-modify-write a small JSON object so that concurrent writers never lose each other's update."""
        raise NotImplementedError

    def object_uri(self, key: str) -> str:
        """The object at `key` as a URI a user can open: s3://bucket/prefix/key (file:///… for a local lake)."""
        return f"{self.uri}/{key}"

    def check_exists(self) -> None:
        """Raise LakeError saying so when the lake's root (folder or bucket) is not there at all."""
        raise NotImplementedError


class LocalLake(Lake):
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).expanduser().resolve()
        self.uri = str(self.root)

    def _path(self, key: str) -> Path:
        return self.root / key

    def object_uri(self, key: str) -> str:
        return self._path(key).as_uri()

    def _error(self, action: str, key: str, exc: OSError) -> LakeError:
        # One sentence naming the setting: a traceback from deep in mkdir tells the user nothing about FLIGHT_LAKE.
        if isinstance(exc, FileExistsError | NotADirectoryError):
            what = "a file stands where a folder is needed"  # mkdir's own words name neither the file nor the fix
        else:
            what = exc.strerror or exc.__class__.__name__
        where = f" ({exc.filename})" if exc.filename else ""
        return LakeError(f"could not {action} {key} in the lake FLIGHT_LAKE={self.uri}: {what}{where}")

    def check_exists(self) -> None:
        if not self.root.is_dir():
            raise LakeError(f"there is no lake at FLIGHT_LAKE={self.uri}: the folder does not exist")

    @staticmethod
    def _meta_path(path: Path) -> Path:
        return path.with_name(f".{path.name}{META_SUFFIX}")

    def _write_temp(self, path: Path, data: bytes) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
        except BaseException:
            os.unlink(temp)
            raise
        return Path(temp)

    def _write_meta(self, path: Path, metadata: dict[str, str] | None) -> None:
        if metadata:
            meta_path = self._meta_path(path)
            temp = self._write_temp(meta_path, json.dumps(metadata, sort_keys=True).encode())
            os.replace(temp, meta_path)

    def put_if_absent(self, key: str, data: bytes, metadata: dict[str, str] | None = None) -> bool:
        path = self._path(key)
        try:
            temp = self._write_temp(path, data)
        except OSError as exc:
            raise self._error("write", key, exc) from exc
        try:
            # Metadata first, so the object is never visible without it.
            if not path.exists():
                self._write_meta(path, metadata)
            os.link(temp, path)  # atomic create-if-absent: fails when another writer got there first
            return True
        except FileExistsError:
            return False
        except OSError as exc:
            raise self._error("write", key, exc) from exc
        finally:
            os.unlink(temp)

    def put(self, key: str, data: bytes, metadata: dict[str, str] | None = None) -> None:
        path = self._path(key)
        try:
            temp = self._write_temp(path, data)
            self._write_meta(path, metadata)
            os.replace(temp, path)
        except OSError as exc:
            raise self._error("write", key, exc) from exc

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise LakeError(f"no object {key} under {self.uri}") from None

    def head(self, key: str) -> dict[str, str] | None:
        path = self._path(key)
        if not path.exists():
            return None
        try:
            return json.loads(self._meta_path(path).read_bytes())
        except FileNotFoundError:
            return {}

    def list(self, prefix: str, start_after: str | None = None) -> Iterator[LakeObject]:
        # Walk only the folders that can hold matching keys, in key order like S3's listing.
        base, _, leaf = prefix.rpartition("/")
        folder = self._path(base) if base else self.root
        if not folder.is_dir():
            return
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            if not entry.name.startswith(leaf) or entry.name.startswith("."):
                continue
            key = f"{base}/{entry.name}" if base else entry.name
            if entry.is_dir():
                yield from self.list(key + "/", start_after)
            elif start_after is None or key > start_after:
                yield LakeObject(key, entry.stat().st_size)

    def delete_prefix(self, prefix: str) -> int:
        removed = 0
        for obj in list(self.list(prefix)):
            path = self._path(obj.key)
            path.unlink(missing_ok=True)
            self._meta_path(path).unlink(missing_ok=True)
            removed += 1
        return removed

    def update_json(self, key: str, update: Callable[[dict[str, Any] | None], dict[str, Any]]) -> dict[str, Any]:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            lock = open(path.with_name(f".{path.name}.lock"), "a+b")  # noqa: SIM115 (the with below closes it)
        except OSError as exc:
            raise self._error("update", key, exc) from exc
        with lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # local pollers share one budget: serialise their updates
            try:
                current = json.loads(path.read_bytes()) if path.exists() else None
            except json.JSONDecodeError:
                current = None  # a damaged state file must not stop ingestion; it is rebuilt from scratch
            new = update(current)
            self.put(key, json.dumps(new, sort_keys=True).encode())
            return new


class S3Lake(Lake):
    def __init__(self, uri: str, endpoint_url: str | None = None, client: Any = None) -> None:
        bucket, _, prefix = uri[len("s3://") :].partition("/")
        self.uri = uri.rstrip("/")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self._endpoint_url = endpoint_url
        self._client = client
        # key -> (ETag, body) of the small JSON objects this lake last wrote with update_json: the next update of
        # the same key tries a PUT conditional on that ETag first, without reading the object again.
        self._written_json: dict[str, tuple[str, bytes]] = {}

    @property
    def client(self) -> Any:
        """The client with the default timeouts (connect 5 s, read 20 s)."""
        return self._client or s3_client(self._endpoint_url)

    def _client_within(self, remaining: float | None) -> Any:
        """A client whose connect + read timeouts fit in `remaining` seconds (the default ones without a deadline)."""
        if self._client is not None or remaining is None:
            return self.client
        for connect_s, read_s in S3_TIMEOUT_STEPS:
            if connect_s + read_s <= remaining:
                return s3_client(self._endpoint_url, connect_s, read_s)
        return None

    def _call(self, request: Callable[[Any], T]) -> T:
        """One S3 request, retried on connection errors, timeouts, throttling and 5xx.

        Without a deadline: S3_ATTEMPTS attempts. Inside `storage_deadline`: attempts continue until the deadline,
        each with timeouts that fit in the time left, so an outage shorter than the deadline costs nothing and a
        hung server costs the deadline, not more. Errors S3 meant (404, 412, AccessDenied) are raised at once.
        """
        started = time.monotonic()
        attempt = 0
        while True:
            remaining = time_left()
            client = self._client_within(remaining)
            if client is None:
                raise _S3GaveUp(
                    f"no time left within the poll's deadline ({attempt} attempt(s) in "
                    f"{time.monotonic() - started:.1f} s)"
                )
            attempt += 1
            try:
                return request(client)
            except Exception as exc:
                if not _retryable(exc):
                    raise
                wait = min(S3_BACKOFF_CAP_S, S3_BACKOFF_BASE_S * 2 ** (attempt - 1))
                remaining = time_left()
                out_of_attempts = attempt >= S3_ATTEMPTS if remaining is None else (
                    remaining - wait < sum(S3_TIMEOUT_STEPS[-1])
                )
                if out_of_attempts:
                    raise _S3GaveUp(
                        f"{_describe_s3_error(exc)} (gave up after {attempt} attempt(s) in "
                        f"{time.monotonic() - started:.1f} s)"
                    ) from exc
                time.sleep(wait)

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    @property
    def endpoint(self) -> str:
        """Where the bucket is looked for: AWS_ENDPOINT_URL, else the client's regional AWS endpoint."""
        return self._endpoint_url or str(self.client.meta.endpoint_url)

    def _no_bucket(self) -> LakeError:
        return LakeError(f"bucket {self.bucket} does not exist at {self.endpoint} (FLIGHT_LAKE={self.uri})")

    def _error(self, action: str, key: str, exc: Exception) -> LakeError:
        if _s3_code(exc) == "NoSuchBucket":
            return self._no_bucket()
        return LakeError(f"S3 {action} of s3://{self.bucket}/{self._key(key)} failed: {_describe_s3_error(exc)}")

    def check_exists(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except Exception as exc:
            if _s3_code(exc) in ("404", "NoSuchBucket", "NotFound"):
                raise self._no_bucket() from None
            raise LakeError(f"S3 HEAD of bucket {self.bucket} at {self.endpoint} failed: {_describe_s3_error(exc)}") from exc

    def put_if_absent(self, key: str, data: bytes, metadata: dict[str, str] | None = None) -> bool:
        try:
            self._call(lambda c: c.put_object(
                Bucket=self.bucket, Key=self._key(key), Body=data, Metadata=metadata or {}, IfNoneMatch="*"
            ))
            return True
        except Exception as exc:
            if _s3_code(exc) in _CONDITION_REFUSED:
                return False
            raise self._error("PUT", key, exc) from exc

    def put(self, key: str, data: bytes, metadata: dict[str, str] | None = None) -> None:
        try:
            self._call(lambda c: c.put_object(
                Bucket=self.bucket, Key=self._key(key), Body=data, Metadata=metadata or {}
            ))
        except Exception as exc:
            raise self._error("PUT", key, exc) from exc

    def get(self, key: str) -> bytes:
        try:
            # The body is read inside the retried request: a stream that stalls is bounded like the call.
            return self._call(lambda c: c.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read())
        except Exception as exc:
            raise self._error("GET", key, exc) from exc

    def head(self, key: str) -> dict[str, str] | None:
        try:
            return self._call(lambda c: c.head_object(Bucket=self.bucket, Key=self._key(key)))["Metadata"]
        except Exception as exc:
            if _s3_code(exc) in _NO_OBJECT:
                return None
            raise self._error("HEAD", key, exc) from exc

    def list(self, prefix: str, start_after: str | None = None) -> Iterator[LakeObject]:
        strip = len(self.prefix) + 1 if self.prefix else 0
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": self._key(prefix)}
        if start_after:
            kwargs["StartAfter"] = self._key(start_after)
        try:
            client = self._client_within(time_left())
            if client is None:
                raise _S3GaveUp("no time left within the poll's deadline")
            for page in client.get_paginator("list_objects_v2").paginate(**kwargs):
                for item in page.get("Contents", []):
                    yield LakeObject(item["Key"][strip:], item["Size"])
        except Exception as exc:
            raise self._error("LIST", prefix, exc) from exc

    def delete_prefix(self, prefix: str) -> int:
        keys = [obj.key for obj in self.list(prefix)]
        for start in range(0, len(keys), 1000):
            batch = [{"Key": self._key(k)} for k in keys[start : start + 1000]]
            try:
                self._call(lambda c, batch=batch: c.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True}
                ))
            except Exception as exc:
                raise self._error("DELETE", prefix, exc) from exc
        return len(keys)

    def update_json(self, key: str, update: Callable[[dict[str, Any] | None], dict[str, Any]]) -> dict[str, Any]:
        # Optimistic concurrency: PUT with If-Match on the ETag we read (If-None-Match when there was none);
        # a concurrent ingester that wrote in between makes S3 answer 412 and we redo the update on its state.
        # What this lake wrote last stands in for the first read (the balance update right after a claim, a warm
        # Lambda's next claim): a PUT on its ETag saves the GET, and S3 refuses it if anyone wrote since.
        written = self._written_json.pop(key, None)
        if written is not None:
            etag, body = written
            new = update(json.loads(body))
            if self._put_json(key, new, {"IfMatch": etag}):
                return new
        for _ in range(8):
            try:
                etag, body = self._call(lambda c: _etag_and_body(
                    c.get_object(Bucket=self.bucket, Key=self._key(key))
                ))
                try:
                    current = json.loads(body)
                except json.JSONDecodeError:
                    current = None
            except Exception as exc:
                if _s3_code(exc) not in _NO_OBJECT:
                    raise self._error("GET", key, exc) from exc
                etag, current = None, None
            new = update(current)
            if self._put_json(key, new, {"IfMatch": etag} if etag else {"IfNoneMatch": "*"}):
                return new
        raise LakeError(f"s3://{self.bucket}/{self._key(key)} kept changing under 8 concurrent updates; try again")

    def _put_json(self, key: str, new: dict[str, Any], condition: dict[str, str]) -> bool:
        """PUT `new` at `key` on `condition`; False when S3 refused the condition (another writer, or no object)."""
        data = json.dumps(new, sort_keys=True).encode()
        try:
            response = self._call(lambda c: c.put_object(
                Bucket=self.bucket, Key=self._key(key), Body=data, **condition
            ))
        except Exception as exc:
            if _s3_code(exc) in _CONDITION_REFUSED | _NO_OBJECT:
                return False
            raise self._error("PUT", key, exc) from exc
        self._written_json[key] = (response["ETag"], data)
        return True


# (connect, read) timeouts, largest first: a call inside a deadline gets the largest pair that fits in the time
# left. A few fixed steps rather than exact values, because each pair is its own client (~50 ms to create).
S3_TIMEOUT_STEPS: tuple[tuple[float, float], ...] = (
    (5.0, 20.0), (2.0, 8.0), (1.0, 4.0), (0.5, 2.0), (0.25, 1.0), (0.1, 0.4),
)
S3_ATTEMPTS = 3  # without a deadline (sensors, assets): what botocore's standard retry mode did here before
S3_BACKOFF_BASE_S = 0.1
S3_BACKOFF_CAP_S = 1.0

_S3_CLIENTS: dict[tuple[str | None, float, float], Any] = {}
_RETRYABLE_CODES = frozenset({"SlowDown", "Throttling", "ThrottlingException", "RequestTimeout", "InternalError",
                              "ServiceUnavailable", "RequestLimitExceeded"})
# S3 meant these: a conditional write refused (If-None-Match, If-Match), and an object that is not there.
_CONDITION_REFUSED = frozenset({"PreconditionFailed", "412", "ConditionalRequestConflict"})
_NO_OBJECT = frozenset({"404", "NoSuchKey", "NotFound"})


class _S3GaveUp(Exception):
    """Retries of one S3 call ran out (of attempts or of the deadline); the message says after what."""


def s3_client(endpoint_url: str | None = None, connect_timeout: float = 5.0, read_timeout: float = 20.0) -> Any:
    """One boto3 S3 client per endpoint and timeouts per process (creating one costs ~50 ms).

    botocore's own retries are off: `S3Lake` retries itself, so that retries stop at the caller's deadline.
    """
    cache_key = (endpoint_url, connect_timeout, read_timeout)
    if cache_key not in _S3_CLIENTS:
        import boto3
        from botocore.config import Config

        _S3_CLIENTS[cache_key] = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            config=Config(retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=connect_timeout,
                          read_timeout=read_timeout),
        )
    return _S3_CLIENTS[cache_key]


def _retryable(exc: Exception) -> bool:
    from botocore.exceptions import ConnectionError as BotoConnectionError
    from botocore.exceptions import HTTPClientError, IncompleteReadError

    if isinstance(exc, BotoConnectionError | HTTPClientError | IncompleteReadError):
        return True  # refused, reset, closed, connect or read timeout: nothing (or not all) came back
    response = getattr(exc, "response", None) or {}
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
    return status >= 500 or status == 429 or _s3_code(exc) in _RETRYABLE_CODES


def _etag_and_body(response: dict[str, Any]) -> tuple[str, bytes]:
    return response["ETag"], response["Body"].read()


def _s3_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def _describe_s3_error(exc: Exception) -> str:
    if isinstance(exc, _S3GaveUp):
        return str(exc)
    response = getattr(exc, "response", None)
    if response:
        error = response.get("Error", {})
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return f"{error.get('Code', 'error')} (HTTP {status}): {error.get('Message', '')}".strip()
    return f"{exc.__class__.__name__}: {exc}"


def open_lake(uri: str, endpoint_url: str | None = None) -> Lake:
    """The lake at `uri`: `s3://bucket[/prefix]` or a local folder."""
    if uri.startswith("s3://"):
        return S3Lake(uri, endpoint_url=endpoint_url)
    return LocalLake(uri)


