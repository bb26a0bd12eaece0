"""Shared fixtures: a session-wide redis-server, private ones for fault tests, and a fresh
namespace per test so tests never see each other's keys."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import jobq
from tests.support.cluster import CLUSTER_VT, RedisClusterSet
from tests.support.processes import JobqProcess, env_for
from tests.support.redis_server import RedisServer


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer().start()
    yield server
    server.close()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    return redis_server.url


@pytest.fixture
def namespace() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
def app(redis_url: str, namespace: str) -> jobq.App:
    return jobq.App(redis_url, namespace=namespace, visibility_timeout=5.0)


@pytest.fixture(scope="session")
def cluster() -> Iterator[RedisClusterSet]:
    """A 3-master Redis Cluster shared by tests/test_cluster*.py (a namespace per test keeps
    them apart; the whole-cluster restart keeps its ports and node ids). Built once: each
    build takes 3-7 s. A test that needs its own, with AOF, makes a RedisClusterSet itself."""
    topology = RedisClusterSet().start()
    yield topology
    topology.close()


@pytest.fixture
def capp(cluster: RedisClusterSet, namespace: str) -> jobq.App:
    return jobq.App(cluster.url, namespace=namespace, visibility_timeout=CLUSTER_VT)


@pytest.fixture
def private_redis() -> Iterator[Callable[..., RedisServer]]:
    """Factory for servers a test may kill, restart (with AOF) or stop."""
    servers: list[RedisServer] = []

    def make(**kwargs: object) -> RedisServer:
        server = RedisServer(**kwargs).start()  # type: ignore[arg-type]
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


@pytest.fixture
def jobq_cli(tmp_path: Path) -> Iterator[Callable[..., JobqProcess]]:
    """Start real `jobq` commands; every one left running is killed with its group."""
    started: list[JobqProcess] = []

    def start(args: list[str], redis_url: str, **env: str) -> JobqProcess:
        log = tmp_path / f"jobq-{len(started)}.log"
        proc = JobqProcess(args, env_for(redis_url, **env), log)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.proc.poll() is None:
            proc.kill_group()


@pytest.fixture
def report(request: pytest.FixtureRequest) -> Iterator[dict[str, object]]:
    """Figures a test measured, printed in the run log (`-s` or the -rA summary)."""
    figures: dict[str, object] = {}
    yield figures
    if figures:
        print(f"\nFIGURES {request.node.name}: {figures}")


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    """Where core_app's tasks record their starts and ends (see tests/support/runlog.py)."""
    return tmp_path / "runs.log"
