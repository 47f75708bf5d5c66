from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.pgcluster import PgCluster


@pytest.fixture
def pg_cluster() -> Iterator[PgCluster]:
    """A PostgreSQL of the test's own, running; it may stop, kill or restart it."""
    cluster = PgCluster().init()
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.destroy()
