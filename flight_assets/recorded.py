"""Recorded OpenSky responses on disk: JSON files, folders of them, and zip archives (the DC-metro capture).

Shared by `flight-assets land` and the fake server's `--replay`, so both read recordings the same way.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from pathlib import Path


def iter_recorded_bodies(paths: list[str | Path]) -> Iterator[tuple[str, bytes]]:
    """Yield (name, body bytes) for every `.json` response under `paths`, in a stable order.

    Folders are walked recursively in name order; zip members in name order. Raises FileNotFoundError naming
    the path that does not exist.
    """
    for raw_path in paths:
        path = Path(raw_path)
        if not path.exists():
            raise FileNotFoundError(f"no such file or folder: {path}")
        if path.is_dir():
            for child in sorted(p for p in path.rglob("*") if p.is_file()):
                yield from _iter_file(child)
        else:
            yield from _iter_file(path)


def _iter_file(path: Path) -> Iterator[tuple[str, bytes]]:
    if path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path) as archive:
            for member in sorted(archive.namelist(), key=_natural_key):
                if member.endswith("/") or not member.lower().endswith(".json"):
                    continue
                yield f"{path.name}:{member}", archive.read(member)
    elif path.suffix.lower() == ".json":
        yield str(path), path.read_bytes()


def _natural_key(name: str) -> list[object]:
    """Sort data-2.json before data-10.json."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]
