"""The operations merchants and operators run (link, create, import, map, settings): one
service layer behind both the CLI and the admin HTTP API."""
