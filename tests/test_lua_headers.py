"""Every Lua script opens with the same header: the `#!lua` line with its flags (how Redis
may run it), then what it does and its KEYS and ARGV."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import jobq
from jobq.cli.inspect import purge_waiting
from tests.support.redis_server import RedisServer

SCRIPTS = sorted((Path(__file__).resolve().parent.parent / "jobq" / "lua").glob("*.lua"))


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_a_script_opens_with_its_flags_then_its_keys(script: Path) -> None:
    lines = script.read_text().splitlines()
    assert lines[0].startswith("#!lua"), f"{script.name}: first line must be '#!lua [flags=...]'"
    header = [line for line in lines[1:] if line.startswith("--")]
    assert any(line.startswith("-- KEYS[1]") for line in header), f"{script.name}: no KEYS line"


def test_purge_runs_on_a_redis_out_of_memory(
    private_redis: Callable[..., RedisServer], namespace: str
) -> None:
    """Emptying a queue is how an operator gets out of OOM, so purge.lua is allow-oom (a
    bare `#!lua` header would make Redis refuse it there)."""
    server = private_redis(extra=["--maxmemory", "4mb", "--maxmemory-policy", "noeviction"])
    app = jobq.App(server.url, namespace=namespace)
    work = app.task(name="work")(lambda payload: None)
    with pytest.raises(jobq.BrokerError, match="out of memory"):
        for _ in range(10_000):
            work.delay("x" * 4000)
    queued, _ = purge_waiting(app, "default", 100_000)
    assert queued > 0
    with server.client() as client:
        assert client.xlen(app.broker.ns.queue("default").stream) == 0
