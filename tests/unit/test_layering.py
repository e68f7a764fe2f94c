"""Dependencies point one way: edges → sync → qbo, store, schemas, publishing.

    consumers/ (Kafka handlers)   api/ (HTTP)   sequence_qbo/ (CLI, wiring: the composition root)
                 \\                  |                  /
                                   sync/  (the domain services)
                 /              |              |              \\
    qbo/ (client, builders)   store/ (SQL)   schemas/ (Avro)   publishing/ (Kafka producing)

Every import counts: module level, inside functions, under `if TYPE_CHECKING:`. psycopg is the
store's business alone. `sandbox/` (the QBO emulator) shares nothing with the service.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# package → the project packages it may import (besides itself).
ALLOWED: dict[str, frozenset[str]] = {
    # The composition root; `sandbox` for `sequence-qbo sandbox` and the demo's emulator.
    "sequence_qbo": frozenset(
        {"consumers", "api", "sync", "qbo", "store", "schemas", "publishing", "sandbox"}
    ),
    "consumers": frozenset({"sync", "qbo", "store", "schemas", "publishing"}),
    "api": frozenset({"sync", "qbo", "store", "schemas", "publishing"}),
    "sync": frozenset({"qbo", "store", "schemas", "publishing"}),
    "qbo": frozenset({"schemas"}),  # the builders take the event models as plain data
    "store": frozenset(),
    "schemas": frozenset(),
    "publishing": frozenset(),
    "sandbox": frozenset(),
}
# Third-party packages only some packages may import.
RESTRICTED = {"psycopg": "store", "psycopg_pool": "store"}


def imported(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """(line, top-level name) of every absolute import anywhere in the module."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module.split(".")[0]


def violations(package: str, source: str) -> list[str]:
    """The imports of a module of `package` that point where they may not."""
    found = []
    for line, name in imported(ast.parse(source)):
        upward = name in ALLOWED and name != package and name not in ALLOWED[package]
        restricted = name in RESTRICTED and RESTRICTED[name] != package
        if upward or restricted:
            found.append(f"line {line}: {package} imports {name}")
    return found


def _modules() -> Iterator[tuple[str, Path]]:
    for package in ALLOWED:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield package, path


def test_every_package_is_checked() -> None:
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")}
    assert packages - {"tests", "bench"} == set(ALLOWED)


@pytest.mark.parametrize(
    ("package", "path"),
    [pytest.param(pkg, path, id=str(path.relative_to(ROOT))) for pkg, path in _modules()],
)
def test_no_import_points_up(package: str, path: Path) -> None:
    assert violations(package, path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    ("package", "source"),
    [
        ("sync", "from consumers.runtime import kafka"),
        ("sync", "def f():\n    import sequence_qbo.settings\n"),
        ("qbo", "from store.db import Database"),
        ("qbo", "if TYPE_CHECKING:\n    from sequence_qbo.settings import Settings\n"),
        ("api", "from consumers.runtime import kafka"),
        ("api", "import psycopg"),
        ("sync", "from psycopg.types.json import Jsonb"),
        ("publishing", "from schemas.serde import Serde"),
        ("sandbox", "from qbo import errors"),
    ],
)
def test_an_upward_import_is_reported(package: str, source: str) -> None:
    assert len(violations(package, source)) == 1


@pytest.mark.parametrize(
    ("package", "source"),
    [
        ("sequence_qbo", "from consumers.runtime import kafka"),
        ("consumers", "from sync.documents import DocumentSync"),
        ("sync", "from store import ledger\nfrom qbo.client import QboClient"),
        ("store", "import psycopg\nfrom store.db import Database"),
        ("qbo", "from schemas.models import Invoice\nfrom . import errors"),
        ("api", "import fastapi"),
    ],
)
def test_an_allowed_import_is_not_reported(package: str, source: str) -> None:
    assert violations(package, source) == []
