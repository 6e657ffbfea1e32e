"""A throwaway real PostgreSQL (16, from the pgserver wheel) for tests and benchmarks.

Starts without root and without system packages; the server and its files are removed on exit.
Production uses a real server named by JIANFU_DATABASE_URL instead.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def local_postgres() -> Iterator[str]:
    """Yield a SQLAlchemy URL of a fresh PostgreSQL database, or the one in JIANFU_TEST_POSTGRES_URL."""
    given = os.environ.get("JIANFU_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    import pgserver  # the dev extra; imported here so the service never needs it

    with tempfile.TemporaryDirectory(prefix="jianfu-pg-") as folder:
        server = pgserver.get_server(folder, cleanup_mode="stop")
        try:
            uri = server.get_uri()
            yield uri.replace("postgresql://", "postgresql+psycopg://", 1)
        finally:
            server.cleanup()
