"""The import report: every rejected customer with each missing or invalid field (CSV, one row
per problem, for spreadsheets; JSON, one object per customer, for programs), plus the country
normalisations done."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sync._importable import Rejected

CSV_COLUMNS = ("qbo_customer_id", "display_name", "field", "problem", "value")


@dataclass(frozen=True)
class Normalised:
    qbo_customer_id: str
    display_name: str
    note: str  # e.g. "alpha-3 'GBR' → GB"


def write(
    directory: Path,
    stem: str,
    summary: dict[str, Any],
    rejected: list[Rejected],
    normalised: list[Normalised],
) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    csv_path, json_path = directory / f"{stem}.csv", directory / f"{stem}.json"
    with csv_path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        for customer in rejected:
            for p in customer.problems:
                writer.writerow(
                    (
                        customer.qbo_customer_id,
                        customer.display_name,
                        p.field,
                        p.problem,
                        p.value or "",
                    )
                )
    document = {
        "summary": summary,
        "rejected": [_rejected(r) for r in rejected],
        "normalised": [n.__dict__ for n in normalised],
    }
    json_path.write_text(json.dumps(document, indent=2, ensure_ascii=False), encoding="utf-8")
    return csv_path, json_path


def _rejected(customer: Rejected) -> dict[str, Any]:
    return {
        "qbo_customer_id": customer.qbo_customer_id,
        "display_name": customer.display_name,
        "problems": [
            {"field": p.field, "problem": p.problem, "value": p.value} for p in customer.problems
        ],
    }
