"""What both doors (CLI, admin API) hand the services: the database, QBO clients per account
and the publishing side. Built at the edge (`commands/_common.py`, `sequence-qbo serve`, tests).
"""

from __future__ import annotations

from dataclasses import dataclass

from qbo.client import ClientProvider, QboClient
from store.db import Database
from sync import _qbo
from sync.publish import Publishing

__all__ = ["Deps"]


@dataclass(frozen=True)
class Deps:
    db: Database
    clients: ClientProvider  # a `qbo.connection.ClientFactory`
    pub: Publishing

    def client(self, account_id: str) -> QboClient:
        """The account's client; a missing or dead connection is `NotConnected`."""
        return _qbo.client_for(self.clients, account_id)
