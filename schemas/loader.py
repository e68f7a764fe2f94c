"""Reads the `.avsc` files: the current contract and every released version of it."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

_DIR = Path(__file__).parent
_RELEASED = _DIR / "released"

EVENTS: tuple[str, ...] = tuple(sorted(p.stem for p in _DIR.glob("*.avsc")))


@functools.cache
def load_schema(event: str, version: str | None = None) -> dict[str, Any]:
    """The schema of `event` as JSON: the current one, or a released `version` ("v1", ...)."""
    path = (_RELEASED / version if version else _DIR) / f"{event}.avsc"
    if not path.is_file():
        raise KeyError(f"no schema for event {event!r}" + (f" in {version}" if version else ""))
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def released_versions() -> list[str]:
    """Released contract versions, oldest first ("v1", "v2", ...)."""
    return sorted((p.name for p in _RELEASED.iterdir() if p.is_dir()), key=lambda v: int(v[1:]))


def schema_text(event: str, version: str | None = None) -> str:
    """Canonical JSON text, as registered with a Schema Registry."""
    return json.dumps(load_schema(event, version), separators=(",", ":"), sort_keys=True)
