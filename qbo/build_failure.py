"""Why a QBO payload cannot be built: `BuildFailure`, with a stable reason code.

Raised by the pure builders (tax, amounts, invoice, customer) when a document cannot be
expressed in QBO until someone fixes data, mappings or settings.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["BuildFailure", "Reason"]


class Reason(StrEnum):
    """Reason codes of business failures (`qbo.sync_status`, ledger `reason_code`)."""

    TAX_CODE_MISSING = "tax_code_missing"
    TAX_CODE_CONFLICT = "tax_code_conflict"
    ITEM_NOT_MAPPED = "item_not_mapped"
    CURRENCY_MISMATCH = "currency_mismatch"
    EXCHANGE_RATE_MISSING = "exchange_rate_missing"
    DOC_NUMBER_TOO_LONG = "doc_number_too_long"
    CUSTOM_TXN_NUMBERS_OFF = "custom_txn_numbers_off"
    AMOUNT_PRECISION = "amount_precision"
    TOTALS_MISMATCH = "totals_mismatch"
    DISPLAY_NAME_EMPTY = "display_name_empty"


class BuildFailure(Exception):
    """The document cannot be expressed in QBO until someone fixes data, mappings or settings.

    Permanent for this snapshot: the caller marks the document `failed` (no retry, no DLQ).
    """

    def __init__(self, reason_code: Reason, message: str) -> None:
        super().__init__(f"{reason_code}: {message}")
        self.reason_code = reason_code
        self.message = message
