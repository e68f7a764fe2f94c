"""Private PostgreSQL and Schema Registry instances started with the project's own infra scripts
(`infra/postgres/*.sh`, `infra/registry/*.sh`) on a free port and a data folder of the test's
own, so they can be stopped and restarted mid-run without touching the shared ones."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sandbox.testing import free_port

ROOT = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class Instance:
    """One private server: its URL and the environment its infra scripts need."""

    url: str
    env: dict[str, str]
    kind: str  # "postgres" | "registry"

    def _script(self, name: str, timeout: float) -> None:
        script = ROOT / "infra" / self.kind / name
        done = subprocess.run(
            [str(script)], env=self.env, capture_output=True, timeout=timeout, check=False
        )
        assert done.returncode == 0, f"{script} failed: {done.stderr.decode()[-2000:]}"

    def up(self) -> None:
        self._script("up.sh", timeout=180)

    def down(self) -> None:
        self._script("down.sh", timeout=90)


@contextmanager
def _data_dir(prefix: str) -> Iterator[Path]:
    # World-readable so the `postgres` user can reach its data under it when the tests run as
    # root (otherwise infra/env.sh moves the cluster to /var/lib/sequence-qbo).
    data = Path(tempfile.mkdtemp(prefix=prefix))
    data.chmod(0o755)
    try:
        yield data
    finally:
        shutil.rmtree(data, ignore_errors=True)


@contextmanager
def private_postgres() -> Iterator[Instance]:
    """A PostgreSQL cluster of its own (infra/postgres/up.sh with PG_PORT and INFRA_DATA_DIR)."""
    port = free_port()
    with _data_dir("sqbo-rainy-pg-") as data:
        env = {**os.environ, "PG_PORT": str(port), "INFRA_DATA_DIR": str(data)}
        url = f"postgresql://sequence_qbo:sequence_qbo@127.0.0.1:{port}/sequence_qbo"
        pg = Instance(url, env, "postgres")
        pg.up()
        try:
            yield pg
        finally:
            pg.down()


@contextmanager
def private_registry() -> Iterator[Instance]:
    """An Apicurio registry of its own (infra/registry/up.sh with REGISTRY_PORT and
    INFRA_DATA_DIR). Its H2 database is a file rather than memory, so a restart keeps every
    schema id, as a deployed registry's storage does."""
    port, management = free_port(), free_port()
    with _data_dir("sqbo-rainy-registry-") as data:
        env = {
            **os.environ,
            "REGISTRY_PORT": str(port),
            "REGISTRY_MANAGEMENT_PORT": str(management),
            "INFRA_DATA_DIR": str(data),
            # Later -D options win: this replaces up.sh's in-memory URL.
            "REGISTRY_JAVA_OPTS": f"-Dapicurio.datasource.url=jdbc:h2:file:{data}/h2/registry",
        }
        registry = Instance(f"http://127.0.0.1:{port}/apis/ccompat/v7", env, "registry")
        registry.up()
        try:
            yield registry
        finally:
            registry.down()
