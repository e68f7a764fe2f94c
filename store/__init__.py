"""PostgreSQL storage: SQL in .sql files, a thin psycopg 3 layer, numbered migrations."""

from store.db import Database, StoreError

__all__ = ["Database", "StoreError"]
