"""Maps a document sync's result, or the error it raised, to the runtime's outcomes."""

from __future__ import annotations

from collections.abc import Callable

from consumers.runtime.types import Done, Failed, Outcome, Retry
from qbo import errors as qbo_errors
from store.db import StoreUnavailable
from sync.documents import SyncResult, Waiting


def outcome_of(run: Callable[[], SyncResult]) -> Outcome:
    try:
        result = run()
    except Waiting as exc:
        return Retry(str(exc), after=2.0)
    except qbo_errors.Retryable as exc:
        return Retry(str(exc), after=exc.retry_after or 1.0)
    except (qbo_errors.NotConnected, qbo_errors.ReauthRequired) as exc:
        # Nothing to do until the merchant (re)connects; `resync` replays it afterwards.
        return Failed("qbo_not_connected", str(exc))
    except StoreUnavailable as exc:
        return Retry(f"database unavailable: {exc}", after=2.0)
    if result.outcome == "failed":
        return Failed(result.reason_code or "failed", result.message or "")
    return Done(result.outcome)
