"""The HTTP app: Intuit webhook receiver (`webhooks`), admin API (`admin`, `documents`) and
status page (`status_page`).

Entry point: `api.app.create_app(api.app.Deps(...))`.
"""
