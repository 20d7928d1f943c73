"""Replaying recorded responses, one per request, byte-exact unless a filter or `--retime` asks otherwise."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Any

from flight_assets.opensky.recorded import iter_recorded_bodies
from flight_assets.opensky.snapshot import SnapshotError, parse_snapshot

_TIME_HEAD = re.compile(rb'\s*\{\s*"time"\s*:\s*(\d+)\s*,')


class _Replay:
    """Recorded bodies served in order; parsed (and cached) only when a request needs re-serialising."""

    def __init__(self, paths: list[str | Path], loop: bool) -> None:
        self.bodies = list(iter_recorded_bodies(list(paths)))
        if not self.bodies:
            raise ValueError(f"no .json responses found in {', '.join(str(p) for p in paths)}")
        self.loop = loop
        self._cursor = 0
        self._parsed: dict[int, tuple[int, list[list[Any]], bool]] = {}
        self._parse_lock = threading.Lock()

    def next_index(self) -> int | None:
        """The next body to serve (caller holds the server lock); None when exhausted and not looping."""
        if self._cursor >= len(self.bodies):
            if not self.loop:
                return None
            self._cursor = 0
        index = self._cursor
        self._cursor += 1
        return index

    def time_of(self, index: int) -> int:
        """The body's own `time` (bare arrays: max last_contact); read from the head when it leads the body, so
        serving a recorded global body byte-exact does not parse it."""
        head = _TIME_HEAD.match(self.bodies[index][1])
        return int(head[1]) if head else self.parsed(index)[0]

    def is_bare_array(self, index: int) -> bool:
        return self.bodies[index][1].lstrip()[:1] == b"["

    def parsed(self, index: int) -> tuple[int, list[list[Any]]]:
        with self._parse_lock:
            cached = self._parsed.get(index)
        if cached is None:
            name, body = self.bodies[index]
            try:
                snapshot = parse_snapshot(body, allow_bare_array=True)
            except SnapshotError as exc:
                raise SnapshotError(f"recorded response {name} cannot be re-served: {exc}") from None
            doc = json.loads(body)
            rows = doc if isinstance(doc, list) else (doc.get("states") or [])
            cached = (snapshot.time, rows, isinstance(doc, list))
            with self._parse_lock:
                self._parsed[index] = cached
        return cached[0], cached[1]
