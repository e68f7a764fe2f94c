"""A small consumer process for the crash tests: the concurrent runtime with the test handler.

    python -m tests.integration.runtime.worker BOOTSTRAP TOPIC GROUP DLQ DB_URL

Runs until SIGTERM/SIGINT (graceful: exit 0) or SIGKILL (nothing graceful at all).
"""

from __future__ import annotations

import logging
import sys

from sequence_qbo.commands.run import stop_on_signals
from tests.integration.runtime.support import TestHandler, random_latency, runtime


def main(argv: list[str]) -> int:
    bootstrap, topic, group, dlq_topic, db_url = argv
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(message)s")
    handler = TestHandler(db_url, latency=random_latency(0.005, 0.02))
    stop = stop_on_signals()
    try:
        runtime(bootstrap, topic, group, dlq_topic, handler, max_in_flight=16).run(stop)
    finally:
        handler.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
