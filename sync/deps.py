"""What both doors (CLI, admin API) hand the services: the database, QBO clients per account
and the publishing side. Built at the edge (`commands/_common.py`, `sequence-qbo serve`, tests).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from qbo.client import QboClient
from store.db import Database
from sync import _qbo
from sync.publish import Publishing

__all__ = ["Clients", "Deps", "from_factory"]

# account id → a client bound to that account's realm (raises qbo.errors.NotConnected).
Clients = Callable[[str], QboClient]


class _Factory(Protocol):
    def for_account(self, account_id: str) -> tuple[str, QboClient]: ...


def from_factory(factory: _Factory) -> Clients:
    """`qbo.connection.ClientFactory` gives (realm, client); the services need the client."""
    return lambda account_id: factory.for_account(account_id)[1]


@dataclass(frozen=True)
class Deps:
    db: Database
    clients: Clients
    pub: Publishing

    def client(self, account_id: str) -> QboClient:
        """The account's client; a missing or dead connection is `NotConnected`."""
        return _qbo.client_for(self.clients, account_id)
