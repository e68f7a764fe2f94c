"""The reconciler's pure core: which invoices a Payment touches, and the paid/partial decision."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from consumers import reconcile

D = Decimal
READ_AT = dt.datetime(2026, 11, 25, 12, tzinfo=dt.UTC)


def _payment(pid: str, txn_date: str, *lines: tuple[str, list[tuple[str, str]]]) -> dict:
    return {
        "Id": pid,
        "TxnDate": txn_date,
        "Line": [
            {"Amount": D(amount), "LinkedTxn": [{"TxnId": i, "TxnType": t} for t, i in links]}
            for amount, links in lines
        ],
    }


def _invoice(total: str, balance: str, *payment_ids: str, qbo_id: str = "68") -> dict:
    return {
        "Id": qbo_id,
        "TotalAmt": D(total),
        "Balance": D(balance),
        "MetaData": {"LastUpdatedTime": "2026-11-20T10:00:00-08:00"},
        "LinkedTxn": [{"TxnId": p, "TxnType": "Payment"} for p in payment_ids],
    }


def test_a_payment_touches_the_invoices_its_lines_link_once_each_and_no_credit_memo() -> None:
    payment = _payment(
        "9",
        "2026-11-20",
        ("10.00", [("Invoice", "68"), ("CreditMemo", "3")]),
        ("5.00", [("Invoice", "70")]),
        ("1.00", [("Invoice", "68")]),
    )
    assert reconcile.invoices_touched(payment) == ["68", "70"]
    assert reconcile.invoices_touched({"Id": "1", "Line": []}) == []
    assert reconcile.invoices_touched({"Id": "1"}) == []  # an unapplied payment has no Line


def test_applied_to_sums_the_lines_linking_the_invoice() -> None:
    payment = _payment(
        "9",
        "2026-11-20",
        ("10.00", [("Invoice", "68")]),
        ("5.50", [("Invoice", "68")]),
        ("7.00", [("Invoice", "70")]),
    )
    assert reconcile.applied_to(payment, "68") == D("15.50")
    assert reconcile.applied_to(payment, "71") == 0


def test_an_invoices_linked_payments_come_from_its_linked_txn() -> None:
    invoice = {
        **_invoice("10", "0", "4", "9", "4"),
        "LinkedTxn": [
            {"TxnId": "4", "TxnType": "Payment"},
            {"TxnId": "2", "TxnType": "Estimate"},
            {"TxnId": "9", "TxnType": "Payment"},
        ],
    }
    assert reconcile.linked_payment_ids(invoice) == ["4", "9"]


@pytest.mark.parametrize(
    ("total", "balance", "status"),
    [
        ("100.00", "0", "paid"),
        ("100.00", "0.00", "paid"),
        ("100.00", "0.01", "partial"),
        ("100.00", "99.99", "partial"),
        ("100.00", "100.00", "unpaid"),
        ("0", "0", None),  # a zero invoice is never "paid"
        ("0.00", "0.00", None),  # nor a voided one (QBO zeroes its amounts)
    ],
)
def test_decide(total: str, balance: str, status: str | None) -> None:
    assert reconcile.decide(D(total), D(balance)) == status


def test_paid_facts_take_the_latest_payment_date_and_every_payment_that_applied_money() -> None:
    invoice = _invoice("122.22", "0", "4", "9", "11")
    payments = [
        _payment("4", "2026-11-10", ("100.00", [("Invoice", "68")])),
        _payment("9", "2026-11-18", ("22.22", [("Invoice", "68")])),
        _payment("11", "2026-11-25", ("0", [("Invoice", "68")])),
    ]  # voided: 0 applied
    facts = reconcile.facts_of(invoice, payments, READ_AT)
    assert facts is not None
    assert (facts.status, facts.amount_paid, facts.total) == ("paid", D("122.22"), D("122.22"))
    assert facts.paid_at == dt.date(2026, 11, 18)
    assert facts.payment_ids == ("4", "9")


def test_partial_facts_record_the_amount_paid_so_far() -> None:
    facts = reconcile.facts_of(
        _invoice("100.00", "60.00", "4"),
        [_payment("4", "2026-11-10", ("40.00", [("Invoice", "68")]))],
        READ_AT,
    )
    assert facts is not None
    assert (facts.status, facts.amount_paid, facts.paid_at) == (
        "partial",
        D("40.00"),
        dt.date(2026, 11, 10),
    )


def test_a_paid_invoice_without_readable_payments_is_dated_by_its_last_change() -> None:
    facts = reconcile.facts_of(_invoice("50", "0"), [], READ_AT)
    assert facts is not None
    assert (facts.status, facts.paid_at, facts.payment_ids) == ("paid", dt.date(2026, 11, 20), ())
    assert facts.updated_at == dt.datetime(2026, 11, 20, 18, 0, tzinfo=dt.UTC)


def test_a_zero_invoice_has_no_facts() -> None:
    assert reconcile.facts_of(_invoice("0", "0"), [], READ_AT) is None


def test_ids_sort_numerically_and_amounts_stay_exact() -> None:
    invoice = _invoice("0.30", "0", "10", "9")
    payments = [
        _payment("10", "2026-11-02", ("0.10", [("Invoice", "68")])),
        _payment("9", "2026-11-01", ("0.20", [("Invoice", "68")])),
    ]
    facts = reconcile.facts_of(invoice, payments, READ_AT)
    assert facts is not None
    assert facts.payment_ids == ("9", "10")
    assert facts.amount_paid == D("0.30") and isinstance(facts.amount_paid, Decimal)


def test_without_metadata_the_read_time_stands_in_for_the_last_change() -> None:
    invoice = {"Id": "68", "TotalAmt": D("5"), "Balance": D("0")}
    facts = reconcile.facts_of(invoice, [], READ_AT)
    assert facts is not None
    assert (facts.updated_at, facts.paid_at) == (READ_AT, READ_AT.date())


# -- payment states: what counts as a change ---------------------------------------------------


def _facts(total: str, balance: str, *payments: tuple[str, str, str]) -> reconcile.Facts:
    ids = [p for p, _, _ in payments]
    found = reconcile.facts_of(
        _invoice(total, balance, *ids),
        [_payment(p, on, (amount, [("Invoice", "68")])) for p, on, amount in payments],
        READ_AT,
    )
    assert found is not None
    return found


def _last(facts: reconcile.Facts, version: int = 1) -> dict:
    """The row the store gives back for a version recorded from `facts`."""
    return {
        "version": version,
        "status": facts.status,
        "amount_paid": facts.amount_paid,
        "payments": reconcile.payments_json(facts),
    }


def test_facts_list_each_payment_with_its_date_and_the_amount_it_applies() -> None:
    facts = _facts("122.22", "0", ("9", "2026-11-18", "22.22"), ("4", "2026-11-10", "100"))
    assert facts.payments == (
        reconcile.Applied("4", dt.date(2026, 11, 10), D("100")),
        reconcile.Applied("9", dt.date(2026, 11, 18), D("22.22")),
    )
    assert facts.balance == 0
    assert reconcile.payments_json(facts) == [
        {"qbo_payment_id": "4", "txn_date": "2026-11-10", "amount": "100"},
        {"qbo_payment_id": "9", "txn_date": "2026-11-18", "amount": "22.22"},
    ]


def test_a_first_read_of_an_unpaid_invoice_is_no_change() -> None:
    assert not reconcile.changed(None, _facts("122.22", "122.22"))
    assert reconcile.changed(None, _facts("122.22", "100", ("4", "2026-11-10", "22.22")))
    assert reconcile.changed(None, _facts("122.22", "0", ("4", "2026-11-10", "122.22")))


def test_the_same_state_read_again_is_no_change() -> None:
    partial = _facts("122.22", "100.00", ("4", "2026-11-10", "22.22"))
    again = _facts("122.22", "100", ("4", "2026-11-10", "22.220"))  # other scale, same amount
    assert not reconcile.changed(_last(partial), again)


def test_a_change_of_status_amount_or_payments_is_a_change() -> None:
    partial = _facts("122.22", "100.00", ("4", "2026-11-10", "22.22"))
    more = _facts("122.22", "90.00", ("4", "2026-11-10", "32.22"))
    paid = _facts("122.22", "0", ("4", "2026-11-10", "22.22"), ("9", "2026-11-18", "100"))
    reopened = _facts("122.22", "122.22")  # the Payments deleted
    replaced = _facts("122.22", "100.00", ("5", "2026-11-10", "22.22"))  # same amount, other
    assert all(reconcile.changed(_last(partial), f) for f in (more, paid, reopened, replaced))
    assert reconcile.changed(_last(paid), reopened)


def test_credit_applied_through_a_payment_counts_only_as_far_as_the_balance_says() -> None:
    # A Payment of 70 applying 100 to the invoice and 30 of a credit memo: QBO's Balance is 0.
    payment = _payment(
        "9", "2026-11-18", ("100", [("Invoice", "68")]), ("30", [("CreditMemo", "3")])
    )
    facts = reconcile.facts_of(_invoice("100", "0", "9"), [payment], READ_AT)
    assert facts is not None and (facts.status, facts.amount_paid) == ("paid", D("100"))
    # The same Payment while QBO still shows 30 open: only what the Balance says is paid.
    facts = reconcile.facts_of(_invoice("100", "30", "9"), [payment], READ_AT)
    assert facts is not None and (facts.status, facts.amount_paid) == ("partial", D("70"))


# -- reading an invoice and its Payments as of one moment ---------------------------------------


class _Racing:
    """A QBO client whose Payment is deleted between the first invoice read and the Payment
    query, as a bookkeeper deleting it while the reconciler reads would."""

    def __init__(self) -> None:
        self.invoices = [_invoice("122.22", "0", "4"), _invoice("122.22", "122.22")]
        self.reads = 0

    def get(self, entity: str, entity_id: str) -> dict:
        assert (entity, entity_id) == ("Invoice", "68")
        self.reads += 1
        return self.invoices[min(self.reads, len(self.invoices)) - 1]

    def query(self, query: object) -> list[dict]:
        return []  # Payment 4 is gone


def test_payments_that_no_longer_add_up_make_the_invoice_be_read_again() -> None:
    client = _Racing()
    reconciler = reconcile.Reconciler(db=None, clients=None)  # type: ignore[arg-type]
    invoice, payments = reconciler._read(client, "68")  # type: ignore[arg-type]
    assert client.reads == 2 and payments == []
    facts = reconcile.facts_of(invoice, payments, READ_AT)
    assert facts is not None and (facts.status, facts.amount_paid) == ("unpaid", 0)


def test_a_lasting_mismatch_is_taken_as_qbos_answer_after_a_few_reads() -> None:
    client = _Racing()
    client.invoices = [_invoice("122.22", "0", "4")]
    reconciler = reconcile.Reconciler(db=None, clients=None)  # type: ignore[arg-type]
    invoice, _ = reconciler._read(client, "68")  # type: ignore[arg-type]
    assert client.reads == reconcile.READS and invoice["Balance"] == 0


def test_consistent_when_the_payments_apply_what_the_balance_says() -> None:
    paid = _payment("4", "2026-11-10", ("122.22", [("Invoice", "68")]))
    voided = _payment("4", "2026-11-10", ("0", [("Invoice", "68")]))
    assert reconcile.consistent(_invoice("122.22", "0", "4"), [paid])
    assert not reconcile.consistent(_invoice("122.22", "0", "4"), [voided])
    assert reconcile.consistent(_invoice("122.22", "122.22"), [])


def test_facts_recorded_before_versions_are_the_baseline() -> None:
    paid = _facts("122.22", "0", ("4", "2026-11-10", "122.22"))
    before = reconcile.baseline(
        {"status": "paid", "amount_paid": D("122.22"), "qbo_payment_ids": ["4"]}
    )
    assert not reconcile.changed(before, paid)
    assert reconcile.changed(before, _facts("122.22", "122.22"))  # the Payment deleted since
    assert reconcile.baseline(None) is None
