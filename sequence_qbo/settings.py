"""Service configuration: one frozen object, read from `SEQUENCE_QBO_*` environment variables.

Nothing reads the environment anywhere else; the settings object is built once at the edge
(the CLI) and passed in.
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Topics(BaseSettings):
    """Topic names (docs/events.md#topics); each can be renamed, e.g.
    SEQUENCE_QBO_TOPIC_INVOICE_PAID."""

    model_config = SettingsConfigDict(env_prefix="SEQUENCE_QBO_TOPIC_", frozen=True)

    customer_updated: str = "customer.updated"
    invoice_finalized: str = "invoice.finalized"
    invoice_sent: str = "invoice.sent"
    invoice_voided: str = "invoice.voided"
    credit_note_sent: str = "credit_note.sent"
    invoice_paid: str = "invoice.paid"
    invoice_payment_status_changed: str = "invoice.payment_status_changed"
    customer_imported: str = "customer.imported"
    sync_status: str = "qbo.sync_status"
    qbo_changes: str = "qbo.changes"
    resync: str = "sequence-qbo.resync"  # internal: re-sync requests (manual, on link)
    dlq: str = "sequence-qbo.dlq"

    def by_event(self) -> dict[str, str]:
        """Event name (the .avsc stem) → configured topic name."""
        return {
            "customer.updated": self.customer_updated,
            "invoice.finalized": self.invoice_finalized,
            "invoice.sent": self.invoice_sent,
            "invoice.voided": self.invoice_voided,
            "credit_note.sent": self.credit_note_sent,
            "invoice.paid": self.invoice_paid,
            "invoice.payment_status_changed": self.invoice_payment_status_changed,
            "customer.imported": self.customer_imported,
            "qbo.sync_status": self.sync_status,
            "qbo.changes": self.qbo_changes,
            "qbo.resync": self.resync,
        }

    def all(self) -> list[str]:
        return [*self.by_event().values(), self.dlq]


class Settings(BaseSettings):
    """Everything the service needs to run. Secrets are `SecretStr` so they never print."""

    model_config = SettingsConfigDict(env_prefix="SEQUENCE_QBO_", frozen=True, extra="ignore")

    # Kafka
    kafka_bootstrap: str = "127.0.0.1:9092"
    consumer_group: str = "sequence-qbo"
    # Static group membership (Kafka's group.instance.id): a `run` process restarted with the
    # same id gets its partitions back at once instead of after the 45 s session timeout.
    # Unique per process in the group; `run` defaults it to the host name.
    instance_id: str | None = None
    topic_partitions: int = Field(default=6, ge=1)
    # None → local schema mode: schemas from schemas/, no registry needed (development).
    schema_registry_url: str | None = None
    topics: Topics = Field(default_factory=Topics)

    # PostgreSQL
    database_url: SecretStr = SecretStr(
        "postgresql://sequence_qbo:sequence_qbo@127.0.0.1:55432/sequence_qbo"
    )
    db_pool_min: int = 1
    db_pool_max: int = 20  # a document sync uses one for short transactions, never across QBO
    qbo_db_pool_max: int = 10  # QBO tokens and quota (a pool of their own, see wiring)

    # QuickBooks Online
    qbo_environment: str = Field(default="sandbox", pattern="^(production|sandbox|emulator)$")
    qbo_base_url: str | None = None  # overrides the environment's API base URL (the emulator)
    qbo_client_id: str | None = None
    qbo_client_secret: SecretStr | None = None
    qbo_redirect_uri: str = "http://127.0.0.1:8765/callback"
    token_encryption_key: SecretStr | None = None  # Fernet key for tokens at rest
    # QBO's per-realm limits (shared by every process through PostgreSQL); lower them for a
    # realm that shares its quota with other apps, raise them only against the emulator.
    qbo_requests_per_second: int = Field(default=10, ge=1)
    qbo_requests_per_minute: int = Field(default=500, ge=1)
    qbo_concurrent_requests: int = Field(default=10, ge=1)
    qbo_batch_per_minute: int = Field(default=40, ge=1)  # /batch requests per realm
    # A realm's backlog of creates goes out in /batch requests of up to 30 (sync/batching.py);
    # false sends every create alone (500 a minute per realm at most instead of 1,200).
    qbo_batch_creates: bool = True
    webhook_verifier_token: SecretStr | None = None
    cdc_interval_seconds: float = Field(default=60.0, gt=0)  # CDC poll of each realm

    # HTTP surface (webhooks, admin API, status page)
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    admin_token: SecretStr | None = None  # the admin API is served only when set
    # Where `GET /oauth/callback` sends the merchant's browser after connecting (Sequence's
    # dashboard), with account_id and status=connected (or status=error&reason=…).
    oauth_return_url: str | None = None
    report_dir: str = "reports"  # customer import reports (CSV and JSON)
    metrics_port: int = 9464


def load() -> Settings:
    """Build settings from the environment (the only place that reads it)."""
    return Settings()
