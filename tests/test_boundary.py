"""The Redis boundary speaks jobq: only jobq.broker touches redis, and its failures leave
it as jobq's own BrokerErrors (issue 16, item 3)."""

from __future__ import annotations

import ast
import asyncio
import inspect
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
import redis

import jobq
from jobq import protocol, protocol_cron
from jobq.broker import AsyncBroker, Broker, describe_error
from jobq.config import Config
from jobq.errors import (
    BrokerError,
    BrokerGroupMissing,
    BrokerOutOfMemory,
    BrokerRefused,
    BrokerUnavailable,
)
from jobq.keys import GROUP
from jobq.states import SettleOp
from tests.support.redis_server import RedisServer, free_port

PACKAGE = Path(__file__).resolve().parent.parent / "jobq"
BOUNDARY = PACKAGE / "broker"
REDIS_REPLY_CODES = ("OOM", "NOGROUP", "BUSYGROUP", "NOSCRIPT", "NOPERM", "WRONGTYPE")


def outside_modules() -> Iterator[tuple[Path, ast.AST]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        if BOUNDARY not in path.parents:
            yield path.relative_to(PACKAGE.parent), ast.parse(path.read_text(), str(path))


def redis_imports(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            names = [node.module or ""]
        lines += [node.lineno for n in names if n == "redis" or n.startswith("redis.")]
    return lines


def reply_code_matches(tree: ast.AST) -> list[int]:
    """Lines that test an error's text for a Redis reply code: `"OOM" in str(exc)`."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and isinstance(node.left, ast.Constant):
            text = node.left.value
            if isinstance(text, str) and any(code in text for code in REDIS_REPLY_CODES):
                found.append(node.lineno)
    return found


def client_reaches(tree: ast.AST) -> list[int]:
    """Lines that reach past a broker to its redis client: `broker.client`, `x.broker.raw()`."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("client", "raw"):
            owner = node.value
            name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
            if name == "broker":
                found.append(node.lineno)
    return found


@pytest.mark.parametrize("rule", [redis_imports, reply_code_matches, client_reaches])
def test_only_the_boundary_touches_redis(rule: object) -> None:
    assert callable(rule)
    offenders = [f"{path}:{line}" for path, tree in outside_modules() for line in rule(tree)]
    assert not offenders, f"{rule.__name__} outside jobq/broker/: {offenders}"


def test_the_rules_catch_what_they_look_for() -> None:
    source = (
        "import redis.asyncio\nfrom redis import exceptions\n"
        "if 'NOGROUP' in str(exc): pass\nx = self.broker.client.get('k')\ny = broker.raw()\n"
    )
    tree = ast.parse(source)
    assert redis_imports(tree) == [1, 2]
    assert reply_code_matches(tree) == [3]
    assert sorted(client_reaches(tree)) == [4, 5]


# translation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exc", "kind", "says"),
    [
        (
            redis.ConnectionError("Error 111 connecting. Connection refused."),
            BrokerUnavailable,
            "cannot reach",
        ),
        (redis.TimeoutError("Timeout reading from socket"), BrokerUnavailable, "cannot reach"),
        (ConnectionResetError("reset by peer"), BrokerUnavailable, "cannot reach"),
        (redis.AuthenticationError("invalid username-password pair"), BrokerUnavailable, "credentials"),
        (redis.exceptions.OutOfMemoryError("OOM command not allowed"), BrokerOutOfMemory, "out of memory"),
        (redis.ResponseError("Error running script: OOM command not allowed"), BrokerOutOfMemory, "memory"),
        (
            redis.ResponseError("NOGROUP No such key 'x' or consumer group 'jobq'"),
            BrokerGroupMissing,
            "group",
        ),
        (redis.ResponseError("WRONGTYPE Operation against a key"), BrokerRefused, "failed"),
        (redis.RedisError("Cluster cannot agree"), BrokerUnavailable, "failed"),
    ],
)
def test_redis_failures_become_broker_errors(exc: BaseException, kind: type, says: str) -> None:
    url = "redis://user:s3cret@127.0.0.1:6390/0"
    error = describe_error(url, exc)
    assert type(error) is kind and isinstance(error, BrokerError)
    assert says in str(error) and "s3cret" not in str(error)
    assert "\n" not in str(error)


def test_a_server_that_is_gone_is_unavailable() -> None:
    broker = Broker(Config(redis_url=f"redis://127.0.0.1:{free_port()}/0"))
    with pytest.raises(BrokerUnavailable, match="cannot reach Redis"):
        broker.known_queues()


def test_worker_calls_raise_jobq_errors(redis_server: RedisServer, namespace: str) -> None:
    """A lost consumer group and a full Redis reach the worker as BrokerGroupMissing and
    BrokerOutOfMemory, the refusals it recovers from, never as redis exceptions."""
    config = Config(redis_url=redis_server.url, namespace=namespace)
    stream = Broker(config).queue_keys("q").stream

    async def scenario() -> None:
        broker = AsyncBroker(config, "c1")
        try:
            await broker.ensure_groups(["q"])
            redis_server.client().xgroup_destroy(stream, GROUP)
            with pytest.raises(BrokerGroupMissing):
                await broker.read({stream: ">"}, 1, 0)
            assert await broker.eviction_policy() == "noeviction"
        finally:
            await broker.close()

    asyncio.run(scenario())


def test_a_full_redis_refuses_with_out_of_memory(private_redis: type[RedisServer], namespace: str) -> None:
    server = private_redis()
    app = jobq.App(server.url, namespace=namespace)

    @app.task()
    def noop() -> None: ...

    noop.delay()  # the queue and its group exist before Redis fills up
    server.client().config_set("maxmemory", "1")
    with pytest.raises(BrokerOutOfMemory, match="out of memory"):
        noop.delay()


# every call of the boundary translates a lost server ----------------------------------

TICK = protocol_cron.CronTick("entry", 0, "job", "{}", 1000, 1000)
SYNC_CALLS: dict[str, Callable[[Broker], object]] = {
    "cancel": lambda b: b.cancel("q", "id", 60, "{}"),
    "cron_fire": lambda b: b.cron_fire("q", TICK),
    "cron_register_queues": lambda b: b.cron_register_queues(["q"]),
    "cron_states": lambda b: b.cron_states([("q", "entry")]),
    "cron_trigger": lambda b: b.cron_trigger("q", "entry", "id", "{}"),
    "dead_entries": lambda b: b.dead_entries("q"),
    "dead_entry_of": lambda b: b.dead_entry_of("q", "id"),
    "dead_last_id": lambda b: b.dead_last_id("q"),
    "delete_namespace": lambda b: b.delete_namespace(),
    "enqueue": lambda b: b.enqueue("q", [protocol.NewJob("id", "{}")]),
    "find_queue": lambda b: b.find_queue("id", ["q"]),
    "job_facts": lambda b: b.job_facts("q", "id"),
    "known_queues": lambda b: b.known_queues(),
    "limit_facts": lambda b: b.limit_facts("q", "id", "t:", "t:"),
    "pause": lambda b: b.pause("q"),
    "paused": lambda b: b.paused(["q"]),
    "ping": lambda b: b.ping(),
    "progress": lambda b: b.progress("q", "id"),
    "purge_dead": lambda b: b.purge_dead("q"),
    "purge_waiting": lambda b: b.purge_waiting("q", 10, 60, "{}"),
    "requeue_dead": lambda b: b.requeue_dead("q", [("id", "1-0", "{}")]),
    "resume": lambda b: b.resume("q"),
    "server_time": lambda b: b.server_time(),
    "snapshot": lambda b: b.snapshot(None),
    "start_failures": lambda b: b.start_failures(0.0),
    "status": lambda b: b.status("q", "id"),
    "wait_result": lambda b: b.wait_result("q", "id", 0.1),
    "links": lambda b: b.links("q", "id"),
    "wf_admit": lambda b: b.wf_admit("q", [protocol.Admit("wait", "id", "w")], 0),
    "wf_apply": lambda b: b.wf_apply("w", [("id", "succeeded", "1")]),
    "wf_create": lambda b: b.wf_create("w", {"kind": "group"}, 60),
    "wf_delete": lambda b: b.wf_delete("w"),
    "wf_members": lambda b: b.wf_members("w", 10),
    "wf_state": lambda b: b.wf_state("w", ["n"]),
    "wf_results": lambda b: b.wf_results("w", 1),
    "wf_created": lambda b: b.wf_created("w"),
    "outbox_read": lambda b: b.outbox_read("q", "+", 10),
    "outbox_delete": lambda b: b.outbox_delete("q", ["1-0"]),
}
SETTLEMENT = protocol.Settlement(SettleOp.OK, "1-0", "id", 60, "{}")
ASYNC_CALLS: dict[str, Callable[[AsyncBroker], Awaitable[object]]] = {
    "acquire": lambda b: b.acquire(
        "q", [protocol.Limited("1-0", "id", "t:", cap=1, cap_limiter="t:")], 1000, 250
    ),
    "clear_start_failure": lambda b: b.clear_start_failure("pool"),
    "deregister": lambda b: b.deregister("w", ["q"]),
    "drop_idle_consumer": lambda b: b.drop_idle_consumer(["q"], "c"),
    "ensure_groups": lambda b: b.ensure_groups(["q"]),
    "eviction_policy": lambda b: b.eviction_policy(),
    "heartbeat": lambda b: b.heartbeat("w", {"pid": 1}, 10),
    "hold_slots": lambda b: b.hold_slots([("q", "t:", "1-0")], None),
    "paused": lambda b: b.paused(["q"]),
    "queue_state": lambda b: b.queue_state(["q"]),
    "read_levels": lambda b: b.read_levels("q", (9, 5), 10),
    "age_levels": lambda b: b.age_levels("q", 1000, 10),
    "promote": lambda b: b.promote("q", 10),
    "read": lambda b: b.read({"s": ">"}, 1, 10),
    "read_counts": lambda b: b.read_counts({"s": 1}),
    "reclaim": lambda b: b.reclaim("q", 1000, "0-0", 10),
    "record_start_failure": lambda b: b.record_start_failure("pool", {"hook": "h"}),
    "renew": lambda b: b.renew("q", [("1-0", "id")]),
    "server_time_ms": lambda b: b.server_time_ms(),
    "settle": lambda b: b.settle("q", [SETTLEMENT], {}),
    "write_progress": lambda b: b.write_progress({("q", "id"): ("{}", 60)}),
    "outbox_delete": lambda b: b.outbox_delete("q", ["1-0"]),
    "outbox_entries": lambda b: b.outbox_entries("q", ["1-0"]),
    "outbox_read": lambda b: b.outbox_read("q", 0, 10),
    "wf_admit": lambda b: b.wf_admit("q", [protocol.Admit("wait", "id", "w")], 0),
    "wf_apply": lambda b: b.wf_apply("w", [("id", "succeeded", "1")]),
    "wf_results": lambda b: b.wf_results("w", 1),
    "waiting_page": lambda b: b.waiting_page("q", 0, 10),
}
NO_REDIS = ("close", "queue_keys")  # local only: nothing to translate


def public_methods(cls: type) -> set[str]:
    return {n for n, _ in inspect.getmembers(cls, inspect.isfunction) if not n.startswith("_")}


def test_every_boundary_call_is_listed_here() -> None:
    """A new call of Broker or AsyncBroker needs a line in SYNC_CALLS / ASYNC_CALLS, so the
    tests below prove it fails with a BrokerError, not a redis exception."""
    assert public_methods(Broker) - set(NO_REDIS) == set(SYNC_CALLS)
    assert public_methods(AsyncBroker) - set(NO_REDIS) == set(ASYNC_CALLS)


@pytest.fixture(scope="module")
def gone_url() -> str:
    return f"redis://127.0.0.1:{free_port()}/0"


@pytest.mark.parametrize("name", sorted(SYNC_CALLS))
def test_a_sync_call_to_a_lost_server_raises_broker_unavailable(name: str, gone_url: str) -> None:
    broker = Broker(Config(redis_url=gone_url, namespace="gone"))
    with pytest.raises(BrokerUnavailable):
        SYNC_CALLS[name](broker)


@pytest.mark.parametrize("name", sorted(ASYNC_CALLS))
def test_a_worker_call_to_a_lost_server_raises_broker_unavailable(name: str, gone_url: str) -> None:
    async def call() -> None:
        broker = AsyncBroker(Config(redis_url=gone_url, namespace="gone"), "c")
        try:
            with pytest.raises(BrokerUnavailable):
                await ASYNC_CALLS[name](broker)
        finally:
            await broker.close()

    asyncio.run(call())
