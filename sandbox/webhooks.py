"""Webhook delivery: batched, signed like Intuit (`intuit-signature`), retried on non-200.

Deliveries are sequential: a batch that keeps failing holds back the later ones, as Intuit says
("later events may wait until the first event is acknowledged").
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel

from sandbox.config import WebhookConfig

VERBS = {
    "Create": "created",
    "Update": "updated",
    "Delete": "deleted",
    "Void": "voided",
    "Emailed": "emailed",
    "Merge": "merged",
}


class WebhookSettings(BaseModel):
    url: str | None = None
    format: Literal["legacy", "cloudevents"] = "legacy"
    verifier_token: str = ""
    batch_window_seconds: float = 0.5
    enabled: bool = True
    retry_delays: list[float] = []
    timeout_seconds: float = 3.0


def sign(body: bytes, verifier: str) -> str:
    """base64(HMAC-SHA256(key=verifier token, msg=raw body))."""
    return base64.b64encode(hmac.new(verifier.encode(), body, hashlib.sha256).digest()).decode()


def legacy_body(events: list[dict[str, Any]]) -> list[dict[str, Any]] | dict[str, Any]:
    by_realm: dict[str, list[dict[str, Any]]] = {}
    for e in events:
        # Intuit's sample writes the offset without a colon: 2015-10-05T14:42:19-0700.
        stamp = e["lastUpdated"][:-3] + e["lastUpdated"][-2:]
        by_realm.setdefault(e["realm"], []).append(
            {"name": e["name"], "id": e["id"], "operation": e["operation"], "lastUpdated": stamp}
        )
    return {
        "eventNotifications": [
            {"realmId": realm, "dataChangeEvent": {"entities": ents}}
            for realm, ents in by_realm.items()
        ]
    }


def cloud_body(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": "intuit.sandboxX2Fqbo0emulatorSourceOpaqueId=",
            "type": f"qbo.{e['name'].lower()}.{VERBS.get(e['operation'], 'updated')}.v1",
            "datacontenttype": "application/json",
            "time": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "intuitentityid": e["id"],
            "intuitaccountid": e["realm"],
            "data": {},
        }
        for e in events
    ]


class Dispatcher:
    def __init__(self, config: WebhookConfig) -> None:
        self.config = config
        self.settings = self._defaults()
        self.pending: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.deliveries: list[dict[str, Any]] = []
        self.last_batch: tuple[bytes, dict[str, str]] | None = None
        self.queue: asyncio.Queue[tuple[bytes, dict[str, str]]] = asyncio.Queue()
        self._timer: asyncio.TimerHandle | None = None
        self._worker: asyncio.Task[None] | None = None

    def _defaults(self) -> WebhookSettings:
        return WebhookSettings(
            **{**self.config.model_dump(), "retry_delays": list(self.config.retry_delays)}
        )

    def reset(self) -> None:
        self.settings = self._defaults()
        self.pending.clear()
        self.events.clear()
        self.deliveries.clear()
        self.last_batch = None

    def on_change(self, realm: str, name: str, ident: str, operation: str, stamp: str) -> None:
        event = {
            "realm": realm,
            "name": name,
            "id": ident,
            "operation": operation,
            "lastUpdated": stamp,
        }
        self.events.append(event)
        if not (self.settings.enabled and self.settings.url):
            return
        self.pending.append(event)
        if self._timer is None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self.settings.batch_window_seconds, self.flush)

    def flush(self) -> int:
        """Turn pending events into one signed batch; returns how many events it holds."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        events, self.pending = self.pending, []
        if not events:
            return 0
        shaped = legacy_body(events) if self.settings.format == "legacy" else cloud_body(events)
        body = json.dumps(shaped, separators=(",", ":")).encode()
        ctype = (
            "application/json"
            if self.settings.format == "legacy"
            else "application/cloudevents+json"
        )
        headers = {
            "content-type": ctype,
            "intuit-signature": sign(body, self.settings.verifier_token),
            "user-agent": "Intuit-Webhooks-Sandbox",
        }
        self.last_batch = (body, headers)
        self.queue.put_nowait(self.last_batch)
        return len(events)

    def redeliver(self, times: int) -> int:
        if self.last_batch is None:
            return 0
        for _ in range(times):
            self.queue.put_nowait(self.last_batch)
        return times

    def start(self) -> None:
        self._worker = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._worker is not None:
            self._worker.cancel()

    async def _run(self) -> None:
        while True:
            body, headers = await self.queue.get()
            await self._deliver(body, headers)

    async def _deliver(self, body: bytes, headers: dict[str, str]) -> None:
        delays = [0.0, *self.settings.retry_delays]
        for attempt, delay in enumerate(delays, start=1):
            await asyncio.sleep(delay)
            url = self.settings.url
            if not url:
                return
            status, error = await asyncio.to_thread(self._post, url, body, headers)
            self.deliveries.append(
                {
                    "attempt": attempt,
                    "status": status,
                    "error": error,
                    "time": time.time(),
                    "url": url,
                    "body": body.decode(),
                    "signature": headers["intuit-signature"],
                }
            )
            if status == 200:
                return

    def _post(self, url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str]:
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.settings.timeout_seconds) as resp:
                return resp.status, ""
        except urllib.error.HTTPError as exc:
            return exc.code, str(exc)
        except (OSError, ValueError) as exc:
            return None, str(exc)
