"""Look-ups kept up to date on every write, so rules stay O(1) as a realm grows (names,
DocNumbers, a customer's transactions, the payments linked to a document)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

NAME_FIELDS = {"Customer": "DisplayName", "Item": "Name", "Account": "Name"}
DOC_ENTITIES = ("Invoice", "CreditMemo")
TXN_ENTITIES = ("Invoice", "CreditMemo", "Payment")
Obj = dict[str, Any] | None


def _ref(obj: dict[str, Any], key: str) -> str | None:
    ref = obj.get(key)
    return str(ref["value"]) if isinstance(ref, dict) and "value" in ref else None


class Indexes:
    def __init__(self) -> None:
        self.names: dict[str, dict[str, str]] = defaultdict(dict)
        self.docs: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        self.max_doc: dict[str, int] = defaultdict(lambda: 1000)
        self.by_customer: dict[str, set[tuple[str, str]]] = defaultdict(set)
        self.links: dict[tuple[str, str], set[str]] = defaultdict(set)

    def update(self, entity: str, old: Obj, new: Obj) -> None:
        if old is not None:
            self._apply(entity, old, add=False)
        if new is not None:
            self._apply(entity, new, add=True)

    def name_owner(self, entity: str, name: str) -> str | None:
        return self.names[entity].get(name.casefold())

    def doc_owners(self, entity: str, number: str) -> set[str]:
        return self.docs[entity].get(number, set())

    def _apply(self, entity: str, obj: dict[str, Any], add: bool) -> None:
        ident = obj["Id"]
        if entity in NAME_FIELDS and obj.get(NAME_FIELDS[entity]):
            self._name(entity, str(obj[NAME_FIELDS[entity]]).casefold(), ident, add)
        if entity in DOC_ENTITIES and obj.get("DocNumber"):
            self._doc(entity, str(obj["DocNumber"]), ident, add)
        customer = _ref(obj, "CustomerRef")
        if entity in TXN_ENTITIES and customer:
            self._toggle(self.by_customer[customer], (entity, ident), add)
        if entity == "Payment":
            for line in obj.get("Line", []):
                for link in line.get("LinkedTxn", []):
                    key = (link.get("TxnType"), str(link.get("TxnId")))
                    self._toggle(self.links[key], ident, add)

    def _name(self, entity: str, folded: str, ident: str, add: bool) -> None:
        if add:
            self.names[entity][folded] = ident
        elif self.names[entity].get(folded) == ident:
            del self.names[entity][folded]

    def _doc(self, entity: str, number: str, ident: str, add: bool) -> None:
        self._toggle(self.docs[entity][number], ident, add)
        if add and number.isdigit():
            self.max_doc[entity] = max(self.max_doc[entity], int(number))

    @staticmethod
    def _toggle(bucket: set[Any], item: Any, add: bool) -> None:
        if add:
            bucket.add(item)
        else:
            bucket.discard(item)
