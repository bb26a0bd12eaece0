"""`jobq stats` reads its snapshot without redis-py where the URL allows
(jobq.broker.lite, over jobq.broker.resp): the same rows and JSON as through redis-py, the
same logins, the same errors, on real Redis."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import redis

import jobq
from jobq.broker.lite import LiteReads, open_reads
from jobq.broker.reads import Reads
from jobq.broker.resp import Endpoint, endpoint
from jobq.broker.snapshot import SnapshotReads
from jobq.config import Config
from jobq.errors import BrokerError, BrokerUnavailable
from jobq.worker import Worker
from tests.support.holding import hold_entries
from tests.support.processes import stats_json
from tests.support.redis_server import RedisServer, free_port
from tests.support.snapshots import run_then_beat, stats_tasks

LITE_URLS = [
    "redis://localhost",
    "redis://127.0.0.1:6390/3",
    "redis://:p%40ss@127.0.0.1:6390/2",
    "redis://someone:pw@db.example:7000/0",
    "redis://127.0.0.1:6390/4?db=5",
    "redis://127.0.0.1:6390/",
    "rediss://127.0.0.1:6390/1?ssl_cert_reqs=none",
    "rediss://u:pw@127.0.0.1:6390/0?ssl_ca_certs=%2Ftmp%2Fca.pem&ssl_check_hostname=false",
    "unix:///tmp/redis.sock",
    "unix://:pw@/tmp/redis.sock?db=3",
]
REDIS_PY_URLS = [  # left to redis-py: Cluster, Sentinel, options the small client lacks, oddities
    "redis+cluster://127.0.0.1:7000,127.0.0.1:7001",
    "redis+sentinel://127.0.0.1:26379/mymaster",
    "redis://127.0.0.1:6390/0?socket_timeout=1",
    "redis://127.0.0.1:6390/0?ssl_cert_reqs=none",
    "redis://someone@127.0.0.1:6390/0",
    "redis://127.0.0.1:6390/x",
    "redis://127.0.0.1:99999/0",
    "unix://",
    "http://127.0.0.1:6390",
]


@pytest.mark.parametrize("url", LITE_URLS)
def test_an_endpoint_is_what_redis_py_reads_of_the_url(url: str) -> None:
    where = endpoint(url)
    assert where is not None
    theirs = redis.connection.parse_url(url)
    defaults = Endpoint()
    assert where.db == theirs.get("db", 0)
    assert (where.username, where.password) == (theirs.get("username"), theirs.get("password"))
    if url.startswith("unix"):
        assert where.path == theirs["path"]
    else:
        host, port = theirs.get("host", defaults.host), theirs.get("port", defaults.port)
        assert (where.host, where.port) == (host, port)
        assert (where.tls is not None) == url.startswith("rediss")


@pytest.mark.parametrize("url", REDIS_PY_URLS)
def test_other_urls_are_left_to_redis_py(url: str) -> None:
    assert endpoint(url) is None


def _busy_namespace(app: jobq.App) -> None:
    """Queues with every kind of number a snapshot shows: backlog on two priority levels,
    in flight, scheduled, dead, counters and histograms, a pause, a live worker."""

    ok, boom, _ = stats_tasks(app)
    ok.delay_many([(i,) for i in range(3)])
    boom.delay()
    asyncio.run(run_then_beat(Worker(app, ["default"], concurrency=4), 4))
    app.submit("ok", [1], queue="mail")
    app.submit("ok", [2], queue="mail", priority=9)
    app.submit("ok", [3], queue="mail", delay=3600)
    app.submit("ok", [4], queue="held")
    app.submit("ok", [5], queue="held")
    hold_entries(app, "held", 1)
    app.pause("held")


def test_both_readers_read_the_same_snapshot(app: jobq.App) -> None:
    _busy_namespace(app)
    lite = open_reads(app.config)
    assert isinstance(lite, LiteReads)
    rows = app.broker.snapshot(None).queues
    assert any(r.levels for r in rows) and any(r.paused_since for r in rows)
    assert any(r.group and r.group.pending for r in rows) and any(r.dead for r in rows)
    assert any(r.scheduled for r in rows) and any(r.counters for r in rows)
    for queues in (None, ["mail", "default"], ["nothing-here"]):
        theirs = app.broker.snapshot(queues)
        ours = lite.snapshot(queues)
        assert theirs.queues and (theirs.workers or queues)
        assert replace(ours, time=theirs.time) == theirs
        assert abs(ours.time - theirs.time) < 60
    assert lite.known_queues() == app.broker.known_queues()
    assert lite.start_failures(time.time()) == app.broker.start_failures(time.time())


def steady_stats_json(url: str, namespace: str) -> dict[str, Any]:
    """`jobq stats --json` with the figures that move with the clock zeroed."""
    data = stats_json(url, namespace)
    data["taken_at"] = 0
    for queue in data["queues"]:
        queue["oldest_age_s"] = 0
    for worker in data["workers"]:
        worker["last_seen_s"] = 0
    return data


def test_the_command_prints_the_same_json_either_way(app: jobq.App, redis_url: str, namespace: str) -> None:
    _busy_namespace(app)
    through_redis_py = f"{redis_url}?socket_timeout=5"  # an option only redis-py takes
    assert endpoint(redis_url) is not None and endpoint(through_redis_py) is None
    ours, theirs = steady_stats_json(redis_url, namespace), steady_stats_json(through_redis_py, namespace)
    assert json.dumps(ours) == json.dumps(theirs)
    assert {q["name"] for q in ours["queues"]} == {"default", "mail", "held"} and ours["workers"]


@pytest.fixture(scope="module")
def locked(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A server that wants a password, on TCP and on a unix socket."""
    socket = tmp_path_factory.mktemp("sock") / "redis.sock"
    unix = ["--unixsocket", str(socket), "--unixsocketperm", "700"]
    server = RedisServer(extra=["--requirepass", "s3cret", *unix])
    server.start()
    admin = redis.Redis(port=server.port, password="s3cret", decode_responses=True)
    admin.execute_command("ACL", "SETUSER", "reader", "on", ">r3ad", "~*", "+@all")
    yield server, socket
    server.close()


def _reads(url: str, namespace: str) -> SnapshotReads:
    return open_reads(Config(redis_url=url, namespace=namespace))


@pytest.mark.parametrize("form", ["password", "user and password", "unix socket"])
def test_logs_in_and_selects_the_database(
    form: str, locked: tuple[RedisServer, Path], namespace: str
) -> None:
    server, socket = locked
    url = {
        "password": f"redis://:s3cret@127.0.0.1:{server.port}/3",
        "user and password": f"redis://reader:r3ad@127.0.0.1:{server.port}/3",
        "unix socket": f"unix://:s3cret@{socket}?db=3",
    }[form]
    jobq.App(url, namespace).submit("ok", [1], queue="db3")
    reads = _reads(url, namespace)
    assert isinstance(reads, LiteReads)
    (queue,) = reads.snapshot(None).queues
    assert (queue.name, queue.length) == ("db3", 1)
    elsewhere = _reads(url.replace("/3", "/4").replace("db=3", "db=4"), namespace)
    assert elsewhere.snapshot(None).queues == ()


@pytest.mark.parametrize("trouble", ["wrong password", "no password", "nothing listening"])
def test_failures_read_as_through_redis_py(trouble: str, locked: tuple[RedisServer, Path]) -> None:
    server, _ = locked
    url = {
        "wrong password": f"redis://:nope@127.0.0.1:{server.port}/0",
        "no password": f"redis://127.0.0.1:{server.port}/0",
        "nothing listening": f"redis://127.0.0.1:{free_port()}/0",
    }[trouble]
    messages = []
    for reads in (_reads(url, "x"), Reads(Config(redis_url=url, namespace="x"))):
        with pytest.raises(BrokerError) as info:
            reads.snapshot(None)
        messages.append((type(info.value), str(info.value)))
    if trouble == "no password":  # redis-py's HELLO is refused in other words than a command
        assert [(kind, text.partition(": ")[0]) for kind, text in messages] == [
            (BrokerUnavailable, f"Redis at {url} refused the credentials")
        ] * 2
    else:
        assert messages[0] == messages[1]
    assert "nope" not in messages[0][1]


def test_a_dropped_connection_is_opened_again(app: jobq.App, redis_server: RedisServer) -> None:
    """`jobq stats --watch` keeps one reader: a connection Redis closed is made anew."""
    app.submit("ok", [1], queue="mail")
    lite = open_reads(app.config)
    assert [q.name for q in lite.snapshot(None).queues] == ["mail"]
    assert redis_server.client().client_kill_filter(_type="normal", skipme=True) >= 1
    assert [q.name for q in lite.snapshot(None).queues] == ["mail"]
