"""Transaction lines: item refs, Qty x UnitPrice = Amount, and QBO's appended SubTotal line."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sandbox import faults, money, refs
from sandbox.realm import Realm

DETAIL_TYPES = {
    "SalesItemLineDetail",
    "SubTotalLineDetail",
    "DiscountLineDetail",
    "DescriptionOnly",
    "GroupLineDetail",
}


def _num(detail: dict[str, Any], key: str) -> Decimal | None:
    raw = detail.get(key)
    try:
        return None if raw in (None, "") else money.dec(raw)
    except money.NotANumber as exc:
        raise faults.invalid(key, f"{key} is not a number") from exc


def _amount(line: dict[str, Any], qty: Decimal | None, price: Decimal | None) -> Decimal:
    supplied = _num(line, "Amount")
    if supplied is None:
        return money.round2((qty if qty is not None else 1) * (price or money.ZERO))
    # python-quickbooks sends Qty 0 and UnitPrice 0 for unset fields and QBO accepts such lines
    # (its README example), so the check only applies when both are set.
    if qty and price and money.round2(qty * price) != money.round2(supplied):
        raise faults.QboFault(
            "6070",
            "Business Validation Error",
            f"Amount is not equal to UnitPrice * Qty. Supplied value:{supplied}",
            element="Amount",
        )
    return money.round2(supplied)


def _sales_line(realm: Realm, line: dict[str, Any]) -> dict[str, Any]:
    detail = dict(line.get("SalesItemLineDetail") or {})
    if refs.value(detail, "ItemRef") is None:
        # "A line without ItemRef is treated as documentation and its Amount is ignored."
        return {**line, "Amount": money.ZERO, "SalesItemLineDetail": detail}
    item = refs.resolve(realm, "Item", refs.value(detail, "ItemRef"), "ItemRef")
    qty, price = _num(detail, "Qty"), _num(detail, "UnitPrice")
    amount = _amount(line, qty, price)
    if price is None and qty:
        # QBO derives the unit price when only Qty and Amount are sent.
        detail["UnitPrice"] = amount / qty
    detail["ItemRef"] = refs.named("Item", item)
    if realm.is_us and refs.value(detail, "TaxCodeRef") is None:
        # A US line sent without TaxCodeRef comes back with the item's: TAX when the item is
        # taxable, else NON (recorded invoices always carry one).
        detail["TaxCodeRef"] = {"value": "TAX" if item.get("Taxable") else "NON"}
    return {**line, "Amount": amount, "SalesItemLineDetail": detail}


def _discount_line(line: dict[str, Any], subtotal: Decimal) -> dict[str, Any]:
    detail = dict(line.get("DiscountLineDetail") or {})
    if detail.get("PercentBased"):
        percent = _num(detail, "DiscountPercent") or money.ZERO
        return {
            **line,
            "Amount": money.round2(subtotal * percent / 100),
            "DiscountLineDetail": detail,
        }
    return {
        **line,
        "Amount": money.round2(_num(line, "Amount") or money.ZERO),
        "DiscountLineDetail": detail,
    }


def build(realm: Realm, raw_lines: Any) -> tuple[list[dict[str, Any]], Decimal, Decimal]:
    """Normalised lines (with Ids and a trailing SubTotal line), the subtotal and discount."""
    if not isinstance(raw_lines, list) or not raw_lines:
        raise faults.business("You must fill out at least one split line.", "Line")
    out, subtotal = [], money.ZERO
    for line in raw_lines:
        kind = line.get("DetailType")
        if kind not in DETAIL_TYPES:
            raise faults.invalid("DetailType", f"DetailType value {kind} is not supported")
        if kind == "SalesItemLineDetail":
            line = _sales_line(realm, line)
            subtotal += line["Amount"]
        elif kind in ("DescriptionOnly", "GroupLineDetail"):
            line = {**line, "Amount": money.ZERO}
        if kind != "SubTotalLineDetail":
            out.append(line)
    discount = money.ZERO
    for i, line in enumerate(out):
        if line["DetailType"] == "DiscountLineDetail":
            out[i] = _discount_line(line, subtotal)
            discount += out[i]["Amount"]
    _number(out)
    out.append({"Amount": subtotal, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}})
    return out, subtotal, discount


def _number(lines: list[dict[str, Any]]) -> None:
    # Existing Ids are kept ("an existing Id greater than 0 updates that line"); new lines get
    # the next free Id.
    used = [int(ln["Id"]) for ln in lines if str(ln.get("Id", "")).isdigit()]
    next_id = max(used, default=0) + 1
    for num, line in enumerate(lines, start=1):
        if not str(line.get("Id", "")).isdigit():
            line["Id"] = str(next_id)
            next_id += 1
        line["Id"] = str(line["Id"])
        line["LineNum"] = num


def item_lines(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        ln
        for ln in lines
        if ln["DetailType"] == "SalesItemLineDetail"
        and refs.value(ln["SalesItemLineDetail"], "ItemRef") is not None
    ]
