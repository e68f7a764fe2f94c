"""Moved to `sync.publish`; kept only until `sync/customer_sync.py` and `sync/documents.py`
import `Publishing` from there."""

from sync.publish import Publishing

__all__ = ["Publishing"]
