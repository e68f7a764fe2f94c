"""Intuit webhook bodies in both formats, shaped like Intuit's examples
(docs/qbo-behaviours.md#webhooks)."""

from __future__ import annotations

import json
import uuid
from typing import Any

JSON = "application/json"
CLOUDEVENTS = "application/cloudevents+json"


def legacy_body(*changes: tuple[str, str, str, str, str]) -> bytes:
    """(realm, entity, id, operation, lastUpdated) → one eventNotification per realm."""
    by_realm: dict[str, list[dict[str, str]]] = {}
    for realm, name, id_, operation, last_updated in changes:
        by_realm.setdefault(realm, []).append(
            {"name": name, "id": id_, "operation": operation, "lastUpdated": last_updated}
        )
    return json.dumps(
        {
            "eventNotifications": [
                {"realmId": realm, "dataChangeEvent": {"entities": entities}}
                for realm, entities in by_realm.items()
            ]
        }
    ).encode()


def cloudevent(
    realm: str,
    type_: str,
    entity_id: str,
    *,
    id_: str | None = None,
    time: str | None = "2026-11-25T10:00:00.123456789Z",
    **extra: Any,
) -> dict:
    event = {
        "specversion": "1.0",
        "id": id_ or str(uuid.uuid4()),
        "source": "intuit.dsnBgbseACLLRZNxo2dfc4evmEJdxde58xeeYcZliOU=",
        "type": type_,
        "datacontenttype": "application/json",
        "intuitentityid": entity_id,
        "intuitaccountid": realm,
        **extra,
    }
    if time is not None:
        event["time"] = time
    return event


def cloudevents_body(*events: object) -> bytes:
    return json.dumps(list(events)).encode()
