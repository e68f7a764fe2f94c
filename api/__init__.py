"""The HTTP app: Intuit webhook receiver (`webhooks`), admin API and status page (to come).

Entry point: `api.app.create_app(api.app.Deps(...))`.
"""
