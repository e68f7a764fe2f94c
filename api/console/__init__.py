"""The operator console: server-rendered pages for a person with a browser (see routes)."""

from api.console.routes import router

__all__ = ["router"]
