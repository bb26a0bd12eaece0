"""The pytest fixtures of jobq.testing (loaded by `pytest_plugins = ["jobq.testing"]`)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator, Sequence

import pytest

from jobq.app import App
from jobq.config import Config
from jobq.localredis import HOW_TO_INSTALL, LocalRedis, find_redis_server
from jobq.testing.helpers import BackgroundWorker


@pytest.fixture(scope="session")
def jobq_redis_url() -> Iterator[str]:
    """A real Redis for tests: $JOBQ_TEST_REDIS_URL, else a throwaway local redis-server."""
    url = os.environ.get("JOBQ_TEST_REDIS_URL")
    if url:
        yield url
        return
    if find_redis_server() is None:
        pytest.skip(f"jobq tests need Redis: set JOBQ_TEST_REDIS_URL or {HOW_TO_INSTALL}")
    with LocalRedis() as server:
        yield server.url


@pytest.fixture
def jobq_isolate(jobq_redis_url: str) -> Iterator[Callable[[App], str]]:
    """jobq_isolate(app): `app` on the test Redis under a fresh namespace until the test ends."""
    saved: dict[int, tuple[App, Config]] = {}

    def isolate(app: App) -> str:
        if id(app) not in saved:  # once per app and test: a second call keeps the namespace
            saved[id(app)] = (app, app.config)
            app.reconfigure(redis_url=jobq_redis_url, namespace=f"jobq-test-{uuid.uuid4().hex[:12]}")
        return app.config.namespace

    yield isolate
    for app, config in reversed(saved.values()):
        try:
            app.broker.delete_namespace()
        finally:
            app.reconfigure(redis_url=config.redis_url, namespace=config.namespace)


@pytest.fixture
def jobq_worker(jobq_isolate: Callable[[App], str]) -> Iterator[Callable[..., BackgroundWorker]]:
    """jobq_worker(app, queues=None, concurrency=4): isolate `app`, run a worker for it."""
    workers: list[BackgroundWorker] = []

    def start(
        app: App, queues: Sequence[str] | None = None, concurrency: int = 4, *, isolate: bool = True
    ) -> BackgroundWorker:
        if isolate:
            jobq_isolate(app)
        worker = BackgroundWorker(app, queues, concurrency).start()
        workers.append(worker)
        return worker

    yield start
    errors: list[BaseException] = []
    for worker in workers:
        try:
            worker.stop()
        except (RuntimeError, TimeoutError) as exc:
            errors.append(exc)
    if errors:
        raise errors[0]
