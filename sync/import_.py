"""Import customers from QBO (docs/qbo-mapping.md#importing-customers-from-qbo): page through
the active ones, publish `customer.imported` for each importable one, link it, report the others.

Per page of up to 1000 customers:
  1. examine each (pure: `_importable.examine`); skip those already linked in this realm, so a
     re-run publishes nothing new and changes nothing;
  2. publish `customer.imported` (key = QBO customer id) and wait for the broker's acks;
  3. then, in one transaction, store each snapshot and its link (origin 'import').
A crash between 2 and 3 re-publishes that page on the next run (at-least-once; consumers
dedupe on the key); the reverse order could lose a publication for good.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from qbo.client import QboClient
from qbo.query import MAX_PAGE, Query
from store import customers, links
from store.customers import snapshot_hash
from store.db import Database, Tx
from store.links import Link
from sync import _qbo, _report
from sync._importable import Importable, Rejected, examine
from sync.publish import Publishing

__all__ = ["ImportResult", "import_customers"]

Progress = Callable[[int, int], None]  # (customers examined so far, total)
T = TypeVar("T")


@dataclass
class ImportResult:
    scanned: int = 0
    imported: int = 0
    skipped: int = 0  # already linked
    rejected: list[Rejected] = field(default_factory=list)
    normalised: list[_report.Normalised] = field(default_factory=list)
    report_csv: Path | None = None
    report_json: Path | None = None

    def counts(self) -> dict[str, int]:
        return {
            "scanned": self.scanned,
            "imported": self.imported,
            "skipped": self.skipped,
            "rejected": len(self.rejected),
            "normalised": len(self.normalised),
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.counts(),
            "report_csv": str(self.report_csv),
            "report_json": str(self.report_json),
            "rejected_customers": [_report._rejected(r) for r in self.rejected],
        }


def import_customers(
    db: Database,
    client: QboClient,
    pub: Publishing,
    account_id: str,
    report_dir: Path,
    *,
    progress: Progress | None = None,
    page_size: int = MAX_PAGE,
) -> ImportResult:
    result = ImportResult()
    linked = links.linked_qbo_ids(db, account_id, client.realm_id)
    with _qbo.translated("list customers"):
        total = client.count(Query("Customer"))
        pages = _pages(
            client.query(Query("Customer").order_by("Id"), page_size=page_size), page_size
        )
        for page in pages:
            _import_page(db, client, pub, account_id, page, linked, result)
            if progress is not None:
                progress(result.scanned, max(total, result.scanned))
    _finish(db, account_id, client.realm_id, report_dir, result)
    return result


def _pages(rows: Iterable[T], size: int) -> Iterator[list[T]]:
    page: list[T] = []
    for row in rows:
        page.append(row)
        if len(page) == size:
            yield page
            page = []
    if page:
        yield page


def _import_page(
    db: Database,
    client: QboClient,
    pub: Publishing,
    account_id: str,
    page: list[dict[str, Any]],
    linked: set[str],
    result: ImportResult,
) -> None:
    accepted: list[tuple[dict[str, Any], Importable]] = []
    for obj in page:
        result.scanned += 1
        if str(obj["Id"]) in linked:
            result.skipped += 1
            continue
        verdict = examine(obj, client.realm_id)
        if isinstance(verdict, Rejected):
            result.rejected.append(verdict)
            continue
        accepted.append((obj, verdict))
        result.normalised += [
            _report.Normalised(str(obj["Id"]), str(obj.get("DisplayName")), note)
            for note in verdict.notes
        ]
    records = [_record(account_id, client.realm_id, obj, found) for obj, found in accepted]
    _publish(pub, records)
    _link_all(db, account_id, client, accepted, records)
    linked.update(str(obj["Id"]) for obj, _ in accepted)
    result.imported += len(accepted)


def _record(
    account_id: str, realm_id: str, obj: dict[str, Any], found: Importable
) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "occurred_at": dt.datetime.now(dt.UTC),
        "account_id": account_id,
        "realm_id": realm_id,
        "qbo_customer_id": str(obj["Id"]),
        "customer": found.customer.model_dump(mode="json"),
    }


def _publish(pub: Publishing, records: list[dict[str, Any]]) -> None:
    topic = pub.topics.customer_imported
    for record in records:
        value = pub.serde.encode("customer.imported", topic, record)
        pub.outbox.send(topic, record["qbo_customer_id"], value)
    pub.outbox.flush()


def _link_all(
    db: Database,
    account_id: str,
    client: QboClient,
    accepted: list[tuple[dict[str, Any], Importable]],
    records: list[dict[str, Any]],
) -> None:
    home = _qbo.currency(client).home
    with db.transaction() as tx:
        for (obj, found), record in zip(accepted, records, strict=True):
            _link_one(tx, account_id, client.realm_id, home, obj, found, record)


def _link_one(
    tx: Tx,
    account_id: str,
    realm_id: str,
    home: str,
    obj: dict[str, Any],
    found: Importable,
    record: dict[str, Any],
) -> None:
    snapshot = record["customer"]
    digest = snapshot_hash(snapshot)
    customers.save_snapshot(
        tx,
        account_id=account_id,
        customer_id=found.customer.id,
        snapshot=snapshot,
        event_id=record["event_id"],
        occurred_at=record["occurred_at"],
    )
    # synced_hash = the snapshot's: QBO is where it came from, so an identical
    # customer.updated echoed back by Sequence costs no QBO call.
    links.insert(
        tx,
        Link(
            account_id,
            found.customer.id,
            realm_id,
            str(obj["Id"]),
            str(obj.get("SyncToken", "0")),
            _qbo.ref(obj, "CurrencyRef") or home,
            digest,
            "import",
        ),
    )


def _finish(
    db: Database, account_id: str, realm_id: str, report_dir: Path, result: ImportResult
) -> None:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    summary = {"account_id": account_id, "realm_id": realm_id, **result.counts()}
    result.report_csv, result.report_json = _report.write(
        report_dir,
        f"customer-import-{account_id}-{stamp}",
        summary,
        result.rejected,
        result.normalised,
    )
    links.record_import(
        db,
        account_id=account_id,
        realm_id=realm_id,
        scanned=result.scanned,
        imported=result.imported,
        skipped=result.skipped,
        rejected=len(result.rejected),
        report_csv=str(result.report_csv),
        report_json=str(result.report_json),
    )
