"""The repository documents itself: no file points at notes outside it, and every link between
the docs (and every `docs/….md#anchor` cited in code) resolves.

Someone who clones the project has only the repository, so a reference to a team note (a spec,
a fact sheet, a style guide, their source tags or bare "§n" section numbers) is a dead end for
them. Markdown links and anchors are checked the way GitHub renders them.
"""

from __future__ import annotations

import json
import re
import subprocess
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
THIS = Path(__file__).resolve().relative_to(ROOT).as_posix()

# Notes that live outside the repository, and the tags and section signs that point into them.
FORBIDDEN = re.compile(
    r"PRODUCT\.md|QBO_FACTS|STYLE\.md|KAFKA\.md|\.\./shared|/work/shared"
    r"|\[(?:PQB|PHP|RB|DN|XSD|LIM|PL)\]"
    r"|§\s*\d"
)
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
DOC_CITATION = re.compile(r"\bdocs/([\w.-]+\.md)(?:#([\w-]+))?")
FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


def tracked_files() -> list[Path]:
    out = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    return [ROOT / name for name in out.split("\0") if name and (ROOT / name).is_file()]


def text_of(path: Path) -> str | None:
    data = path.read_bytes()
    if b"\0" in data:
        return None  # binary
    return data.decode("utf-8", "replace")


def forbidden_references(text: str) -> list[str]:
    """`line: match` for each reference to something outside the repository."""
    return [
        f"{number}: {match.group(0)}"
        for number, line in enumerate(text.splitlines(), 1)
        for match in FORBIDDEN.finditer(line)
    ]


def outside_fences(text: str) -> list[str]:
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        lines.append("" if fenced else line)
    return lines


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces → hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).lower()
    kept = "".join(ch for ch in text if ch in " -_" or unicodedata.category(ch)[0] in "LN")
    return kept.replace(" ", "-")


def anchors(text: str) -> set[str]:
    found: set[str] = set()
    seen: dict[str, int] = {}
    for line in outside_fences(text):
        match = HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def broken_links(text: str, source: Path) -> list[str]:
    """Relative links of a markdown file whose file or anchor does not exist."""
    problems = []
    for line in outside_fences(text):
        for match in LINK.finditer(line):
            target = match.group(1)
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
                continue
            problem = _check(target, source, text)
            if problem:
                problems.append(f"{target}: {problem}")
    return problems


def _check(target: str, source: Path, own_text: str) -> str | None:
    path_part, _, anchor = target.partition("#")
    path = (source.parent / path_part).resolve() if path_part else source
    if not path.exists():
        return "no such file"
    if anchor and path.suffix == ".md":
        text = own_text if path == source else path.read_text()
        if anchor not in anchors(text):
            return f"no heading with anchor #{anchor} in {path.name}"
    return None


def broken_doc_citations(text: str, root: Path = ROOT) -> list[str]:
    """`docs/x.md#anchor` cited in code or docs, whose file or heading does not exist."""
    problems = []
    for match in DOC_CITATION.finditer(text):
        name, anchor = match.group(1), match.group(2)
        doc = root / "docs" / name
        if not doc.is_file():
            problems.append(f"{match.group(0)}: no such file")
        elif anchor and anchor not in anchors(doc.read_text()):
            problems.append(f"{match.group(0)}: no such heading")
    return problems


def mermaid_problems(text: str) -> list[str]:
    """Lines of mermaid blocks that would cut a diagram short: mermaid reads `;` as the end of a
    statement and `#` as the start of an entity code, even inside a message's text."""
    problems, inside = [], False
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip().startswith("```"):
            inside = line.strip() == "```mermaid"
            continue
        if inside and (";" in line or "#" in line):
            problems.append(f"{number}: {line.strip()}")
    return problems


def schema_names(schema: object) -> set[str]:
    """Every field name and enum symbol of an Avro schema, nested records included."""
    found: set[str] = set()
    if isinstance(schema, list):
        for branch in schema:
            found |= schema_names(branch)
    elif isinstance(schema, dict):
        kind = schema.get("type")
        if kind == "record":
            for f in schema["fields"]:
                found |= {f["name"], *schema_names(f["type"])}
        elif kind == "array":
            found |= schema_names(schema["items"])
        elif kind == "enum":
            found |= set(schema["symbols"])
        else:
            found |= schema_names(kind)
    return found


def undocumented(names: set[str], doc: str) -> list[str]:
    """The names the doc never mentions as a word of their own."""
    return sorted(n for n in names if not re.search(rf"(?<![\w.]){re.escape(n)}(?!\w)", doc))


def markdown_docs() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


# -- the repository -------------------------------------------------------------------------------


def test_no_tracked_file_references_notes_outside_the_repository() -> None:
    offenders = {}
    for path in tracked_files():
        rel = path.relative_to(ROOT).as_posix()
        text = text_of(path)
        if rel == THIS or text is None:
            continue
        found = forbidden_references(text)
        if found:
            offenders[rel] = found
    assert offenders == {}, "cite docs/ (or a public URL) instead"


@pytest.mark.parametrize("doc", markdown_docs(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_of_the_docs_resolves(doc: Path) -> None:
    assert broken_links(doc.read_text(), doc) == []


@pytest.mark.parametrize("doc", markdown_docs(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_mermaid_diagrams_have_no_statement_breakers(doc: Path) -> None:
    assert mermaid_problems(doc.read_text()) == []


@pytest.mark.parametrize("avsc", sorted((ROOT / "schemas").glob("*.avsc")), ids=lambda p: p.name)
def test_events_md_describes_every_field_of_every_contract(avsc: Path) -> None:
    doc = (ROOT / "docs" / "events.md").read_text()
    assert avsc.name in doc
    assert undocumented(schema_names(json.loads(avsc.read_text())), doc) == []


def test_events_md_lists_every_topic() -> None:
    from sequence_qbo.settings import Topics

    doc = (ROOT / "docs" / "events.md").read_text()
    assert [t for t in Topics().all() if f"| `{t}` |" not in doc] == []


def test_every_docs_citation_in_tracked_files_resolves() -> None:
    offenders = {}
    for path in tracked_files():
        rel = path.relative_to(ROOT).as_posix()
        text = text_of(path)
        if rel == THIS or text is None:
            continue
        found = broken_doc_citations(text)
        if found:
            offenders[rel] = found
    assert offenders == {}


# -- the checks themselves can fail -----------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Rules (PRODUCT" + ".md §3):",
        "CDC looks back 30 days (QBO_" + "FACTS §9)",
        "split by what the caller should do (STYLE" + ".md habit 2)",
        "see ../" + "shared/KAFKA" + ".md",
        "python-quickbooks does this ([P" + "QB] mixins)",
        "OAuth2AccessToken comment ([P" + "HP])",
        "the first rule of §" + "7 that applies",
    ],
)
def test_an_outside_reference_is_found(text: str) -> None:
    assert forbidden_references(text) != []


@pytest.mark.parametrize(
    "text",
    ["see docs/architecture.md#exactly-once", "a § sign alone", "a [PQBX] tag", "index [1]"],
)
def test_a_reference_inside_the_repository_passes(text: str) -> None:
    assert forbidden_references(text) == []


def test_links_to_missing_files_and_headings_are_found(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Other\n\n## Exactly once\n")
    doc = tmp_path / "doc.md"
    text = (
        "# Title\n"
        "[ok](other.md#exactly-once) [ok too](#title) [web](https://example.com/x.md)\n"
        "[gone](missing.md) [bad anchor](other.md#exactly-twice) [bad own](#nowhere)\n"
        "```\n[in a fence](ignored.md)\n```\n"
    )
    doc.write_text(text)
    assert broken_links(text, doc) == [
        "missing.md: no such file",
        "other.md#exactly-twice: no heading with anchor #exactly-twice in other.md",
        "#nowhere: no heading with anchor #nowhere in doc.md",
    ]


def test_docs_citations_to_missing_files_and_headings_are_found(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# A\n## How `invoice.paid` works\n")
    text = "docs/a.md#how-invoicepaid-works docs/a.md#nope docs/b.md"
    assert broken_doc_citations(text, tmp_path) == [
        "docs/a.md#nope: no such heading",
        "docs/b.md: no such file",
    ]


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("A payment back to `invoice.paid`", "a-payment-back-to-invoicepaid"),
        ("Dead letters (sequence-qbo.dlq)", "dead-letters-sequence-qbodlq"),
        ("qbo.sync_status", "qbosync_status"),
        ("[Linked](x.md) heading", "linked-heading"),
    ],
)
def test_anchors_are_githubs(heading: str, anchor: str) -> None:
    assert slug(heading) == anchor


def test_repeated_headings_get_numbered_anchors() -> None:
    assert anchors("## Notes\n## Notes\n") == {"notes", "notes-1"}


def test_a_semicolon_in_a_mermaid_message_is_found() -> None:
    text = "```mermaid\nsequenceDiagram\n  A->>B: verify; route\n```\nprose; fine\n"
    assert mermaid_problems(text) == ["3: A->>B: verify; route"]


def test_an_undocumented_field_is_found() -> None:
    schema = {
        "type": "record",
        "name": "R",
        "fields": [
            {"name": "amount", "type": "string"},
            {"name": "kind", "type": {"type": "enum", "name": "K", "symbols": ["A", "B_C"]}},
            {
                "name": "lines",
                "type": {
                    "type": "array",
                    "items": {
                        "type": "record",
                        "name": "L",
                        "fields": [{"name": "qty", "type": ["null", "string"]}],
                    },
                },
            },
        ],
    }
    assert schema_names(schema) == {"amount", "kind", "A", "B_C", "lines", "qty"}
    doc = "`amount`, `kind` (`A`), `lines[]` and the line's `total_qty`"
    assert undocumented(schema_names(schema), doc) == ["B_C", "qty"]
