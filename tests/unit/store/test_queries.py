from __future__ import annotations

import pytest

from store import queries


def test_named_blocks() -> None:
    text = "-- name: a\nselect 1;\n\n-- name: b\n-- a comment\nselect 2;\n"
    assert queries.parse(text) == {"a": "select 1;", "b": "-- a comment\nselect 2;"}


def test_a_name_defined_twice_is_an_error() -> None:
    with pytest.raises(ValueError, match="twice"):
        queries.parse("-- name: a\nselect 1;\n-- name: a\nselect 2;")


def test_project_queries_and_migrations_load() -> None:
    assert "upsert_customer_snapshot" in queries.all_queries()
    numbers = [n for n, _, _ in queries.migrations()]
    assert numbers == sorted(numbers) and numbers[0] == 1
