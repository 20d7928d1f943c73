"""The spool: snapshots that were paid for but could not be landed, kept on local disk until a later poll lands them.

A fetched body has cost OpenSky credits and cannot be fetched again (the next call returns a newer snapshot), so
when the lake refuses it within the poll's deadline it is kept here, and every poll lands what is spooled first,
through the same landing code (keyed by the body's own time, so a body that did land after all is a no-op).
Pure standard library: the Lambda uses it too (its spool is /tmp, which lives as long as the warm instance).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

_DATA_SUFFIX = ".json.gz"
_META_SUFFIX = ".meta.json"
_DAMAGED_SUFFIX = ".damaged"


class SpoolError(OSError):
    """The spool folder could not be written or read; the message names the path."""


@dataclass(frozen=True)
class SpooledSnapshot:
    name: str  # <time>_<sha8>, the raw key's file name without its suffix
    data: bytes  # the gzip data that would have been landed
    metadata: dict[str, str]


class Spool:
    """One folder per lake under `root`, so a spool shared by several lakes lands each body in its own lake."""

    def __init__(self, root: str | os.PathLike[str], lake_uri: str) -> None:
        slug = re.sub(r"[^A-Za-z0-9]+", "_", lake_uri).strip("_")[-40:]
        self.path = Path(root).expanduser().resolve() / f"{slug}-{hashlib.sha256(lake_uri.encode()).hexdigest()[:8]}"

    def keep(self, name: str, data: bytes, metadata: dict[str, str]) -> Path:
        """Write atomically (temp file + rename; metadata first, so a listed body always has it)."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            self._write(self.path / f"{name}{_META_SUFFIX}", json.dumps(metadata, sort_keys=True).encode())
            target = self.path / f"{name}{_DATA_SUFFIX}"
            self._write(target, data)
        except OSError as exc:
            raise SpoolError(f"could not write the spool at {self.path}: {exc}") from exc
        return target

    def _write(self, path: Path, data: bytes) -> None:
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())  # durable: this copy is the only one
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    def pending(self) -> list[str]:
        """Names of the spooled snapshots, oldest snapshot time first."""
        if not self.path.is_dir():
            return []
        names = [p.name[: -len(_DATA_SUFFIX)] for p in self.path.iterdir()
                 if p.name.endswith(_DATA_SUFFIX) and not p.name.startswith(".")]
        return sorted(names, key=lambda name: (int(name.split("_", 1)[0]) if name.split("_", 1)[0].isdigit() else 0,
                                               name))

    def read(self, name: str) -> SpooledSnapshot:
        try:
            data = (self.path / f"{name}{_DATA_SUFFIX}").read_bytes()
            meta_path = self.path / f"{name}{_META_SUFFIX}"
            metadata = json.loads(meta_path.read_bytes()) if meta_path.exists() else {}
        except FileNotFoundError:
            raise  # gone: another poller sharing the spool landed it
        except (OSError, ValueError) as exc:
            raise SpoolError(f"could not read {name} from the spool at {self.path}: {exc}") from exc
        return SpooledSnapshot(name, data, metadata)

    def remove(self, name: str) -> None:
        """After the body landed (or was already in the lake)."""
        (self.path / f"{name}{_DATA_SUFFIX}").unlink(missing_ok=True)
        (self.path / f"{name}{_META_SUFFIX}").unlink(missing_ok=True)

    def set_aside(self, name: str) -> Path:
        """A spooled file that is not a usable body: kept for inspection under `.damaged`, never retried."""
        data = self.path / f"{name}{_DATA_SUFFIX}"
        target = data.with_name(data.name + _DAMAGED_SUFFIX)
        os.replace(data, target)
        return target
