"""Recorded OpenSky responses on disk: JSON files, folders of them, and zip archives (the DC-metro capture).

Shared by `flight-assets land` and the fake server's `--replay`, so both read recordings the same way.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

RESPONSE_SUFFIXES = (".json", ".zip")  # what holds recorded responses; anything else is ignored, and said so


class RecordingError(ValueError):
    """A recording cannot be read (a damaged zip archive); the message names the file."""


@dataclass(frozen=True)
class IgnoredFile:
    path: str
    reason: str


def scan_recorded(paths: list[str | Path]) -> tuple[list[Path], list[IgnoredFile]]:
    """The files under `paths` that can hold responses, and the ones that are ignored with the reason.

    Opens each zip archive's directory, so a damaged archive is reported (RecordingError naming it) before anything
    lands. Raises FileNotFoundError naming a path that does not exist.
    """
    usable: list[Path] = []
    ignored: list[IgnoredFile] = []
    for path in _files(paths):
        suffix = path.suffix.lower()
        if suffix not in RESPONSE_SUFFIXES:
            ignored.append(IgnoredFile(str(path), "not a .json response or a .zip archive of them"))
        elif suffix == ".zip" and not any(_is_json_member(m) for m in _zip_members(path)):
            ignored.append(IgnoredFile(str(path), "the zip archive holds no .json file"))
        else:
            usable.append(path)
    return usable, ignored


def iter_recorded_bodies(paths: list[str | Path]) -> Iterator[tuple[str, bytes]]:
    """Yield (name, body bytes) for every `.json` response under `paths`, in a stable order.

    Folders are walked recursively in name order; zip members in name order. Raises FileNotFoundError naming
    the path that does not exist, RecordingError naming a damaged zip archive.
    """
    for path in _files(paths):
        yield from _iter_file(path)


def _files(paths: list[str | Path]) -> Iterator[Path]:
    for raw_path in paths:
        path = Path(raw_path)
        if not path.exists():
            raise FileNotFoundError(f"no such file or folder: {path}")
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file())
        else:
            yield path


def _is_json_member(member: str) -> bool:
    return not member.endswith("/") and member.lower().endswith(".json")


def _zip_members(path: Path) -> list[str]:
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.namelist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise _damaged(path, exc) from None


def _damaged(path: Path, exc: Exception) -> RecordingError:
    what = "an empty file (0 bytes)" if path.stat().st_size == 0 else f"damaged ({exc})"
    return RecordingError(f"{path} is not a readable zip archive: it is {what}")


def _iter_file(path: Path) -> Iterator[tuple[str, bytes]]:
    if path.suffix.lower() == ".zip":
        try:
            with zipfile.ZipFile(path) as archive:
                for member in sorted(archive.namelist(), key=_natural_key):
                    if _is_json_member(member):
                        yield f"{path.name}:{member}", archive.read(member)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError) as exc:
            raise _damaged(path, exc) from None
    elif path.suffix.lower() == ".json":
        yield str(path), path.read_bytes()


def _natural_key(name: str) -> list[object]:
    """Sort data-2.json before data-10.json."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]
