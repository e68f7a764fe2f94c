"""QBO's query language: SELECT * | count(*) | fields FROM Entity [WHERE a AND b ...]
[ORDERBY f [ASC|DESC], ...] [STARTPOSITION n] [MAXRESULTS m]. No OR, no joins."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox import faults

TOKEN = re.compile(
    r"""\s*(?:
    (?P<str>'(?:[^'\\]|\\.)*')
  | (?P<num>-?\d+(?:\.\d+)?)(?![\w.])
  | (?P<op><=|>=|!=|<>|=|<|>)
  | (?P<punct>[(),*])
  | (?P<word>[A-Za-z_][\w.]*)
)""",
    re.VERBOSE,
)
OPS = {"=", "<", ">", "<=", ">=", "!=", "<>", "IN", "LIKE"}
MAX_RESULTS, DEFAULT_RESULTS = 1000, 100


@dataclass
class Query:
    entity: str
    count: bool = False
    fields: list[str] | None = None
    where: list[tuple[str, str, Any]] = field(default_factory=list)
    order: list[tuple[str, bool]] = field(default_factory=list)
    start: int = 1
    limit: int = DEFAULT_RESULTS


def tokenize(text: str) -> list[tuple[str, Any]]:
    out, pos, text = [], 0, text.strip().rstrip(";")
    while pos < len(text):
        match = TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise faults.query_error(f'Encountered "{text[pos : pos + 10]}" at column {pos + 1}')
        kind = match.lastgroup or ""
        raw = match.group(kind)
        out.append((kind, _literal(kind, raw)))
        pos = match.end()
    return out


def _literal(kind: str, raw: str) -> Any:
    if kind == "str":
        # Single-quoted, with backslash escapes: 'O\'Brien'.
        return re.sub(r"\\(.)", r"\1", raw[1:-1])
    if kind == "num":
        return Decimal(raw)
    return raw


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens, self.i = tokenize(text), 0

    def peek(self) -> tuple[str, Any] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def at(self, text: str) -> bool:
        tok = self.peek()
        return tok is not None and tok[1] == text

    def keyword(self, *words: str) -> bool:
        tok = self.peek()
        if tok and tok[0] == "word" and tok[1].upper() in words:
            self.i += 1
            return True
        return False

    def take(self, kind: str | None = None) -> Any:
        tok = self.peek()
        if tok is None or (kind and tok[0] != kind):
            found = "end of query" if tok is None else str(tok[1])
            raise faults.query_error(f'Encountered "{found}" at token {self.i + 1}')
        self.i += 1
        return tok[1]

    def expect(self, word: str) -> None:
        if not self.keyword(word):
            raise faults.query_error(f"Expected {word} at token {self.i + 1}")


def parse(text: str) -> Query:
    p = _Parser(text)
    p.expect("SELECT")
    count, fields = _projection(p)
    p.expect("FROM")
    query = Query(entity=p.take("word"), count=count, fields=fields)
    if p.keyword("WHERE"):
        query.where.append(_condition(p))
        while p.keyword("AND"):
            query.where.append(_condition(p))
        if p.keyword("OR"):
            raise faults.query_error("OR is not supported")
    _tail(p, query)
    rest = p.peek()
    if rest is not None:
        raise faults.query_error(f'Encountered "{rest[1]}" at token {p.i + 1}')
    return query


def _projection(p: _Parser) -> tuple[bool, list[str] | None]:
    if p.keyword("COUNT"):
        p.take("punct"), p.take("punct"), p.take("punct")
        return True, None
    fields: list[str] = []
    while True:
        fields.append(str(p.take()))
        if not p.at(","):
            break
        p.take()
    # "SELECT *, Sku FROM Item" (python-quickbooks) is still everything.
    return False, None if "*" in fields else fields


def _condition(p: _Parser) -> tuple[str, str, Any]:
    name = p.take("word")
    if p.keyword("IN"):
        p.take("punct")
        values = [p.take()]
        while p.take("punct") == ",":
            values.append(p.take())
        return name, "IN", [_bool(v) for v in values]
    if p.keyword("LIKE"):
        return name, "LIKE", p.take("str")
    op = p.take("op")
    return name, op, _bool(p.take())


def _bool(value: Any) -> Any:
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def _tail(p: _Parser, query: Query) -> None:
    if p.keyword("ORDERBY") or (p.keyword("ORDER") and p.keyword("BY")):
        while True:
            name = p.take("word")
            desc = p.keyword("DESC")
            if not desc:
                p.keyword("ASC")
            query.order.append((name, desc))
            if not p.at(","):
                break
            p.take()
    if p.keyword("STARTPOSITION"):
        query.start = max(1, int(p.take("num")))
    if p.keyword("MAXRESULTS"):
        # QBO returns at most 1000 entities per response.
        query.limit = min(MAX_RESULTS, max(0, int(p.take("num"))))


def _as_number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
