"""A stateful QuickBooks Online v3 emulator (see docs/sandbox.md).

Entry points: `sandbox.app.create_app`, `sandbox.server.serve`, `sandbox.testing.running_sandbox`,
configured by `sandbox.config.SandboxConfig`. It shares nothing with `qbo/` but the QBO contract.
"""
