"""The one redis-server launcher (jobq.localredis.LocalRedis) that the demo, jobq.testing,
the benchmarks and these tests share: ports, AOF restarts, pauses, failures, cleanup."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
import redis

from jobq.localredis import LocalRedis, ServerFailed, free_port


@pytest.fixture
def listening() -> Iterator[int]:
    """A loopback port someone else already listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield int(s.getsockname()[1])


def refuses(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def test_restart_comes_back_on_the_same_port_with_the_aof_data() -> None:
    with LocalRedis(aof=True, extra=["--appendfsync", "always"]) as server:
        port = server.port
        with redis.Redis.from_url(server.url, decode_responses=True) as client:
            client.set("kept", "yes")
        server.kill()
        assert not server.ping()
        server.restart()
        assert server.port == port
        with redis.Redis.from_url(server.url, decode_responses=True) as client:
            assert client.get("kept") == "yes"


def test_a_paused_server_hangs_then_close_ends_it_and_removes_its_directory() -> None:
    server = LocalRedis().start()
    server.pause()
    assert not server.ping(timeout=0.3)  # the port is open, but nothing answers
    server.close()
    assert server.proc is None and not server.dir.exists()
    assert refuses(server.port)
    server.close()  # twice is fine


def test_a_port_taken_before_the_server_binds_it_is_replaced(listening: int) -> None:
    server = LocalRedis()
    server.port = listening  # as if someone took the free port between picking and binding
    with server:
        assert server.port != listening and server.ping()


def test_a_port_asked_for_is_never_silently_changed(listening: int) -> None:
    server = LocalRedis(port=listening)
    with pytest.raises(ServerFailed, match="could not start redis-server"):
        server.start(timeout=5)
    assert not server.dir.exists()


def test_a_server_that_refuses_its_options_says_why() -> None:
    server = LocalRedis(extra=["--no-such-directive", "1"])
    with pytest.raises(ServerFailed) as failed:
        server.start(timeout=5)
    assert "no-such-directive" in failed.value.output
    assert "\n" not in str(failed.value)  # one line for the demo's error message


def test_config_lines_go_to_a_file_the_server_reads() -> None:
    with (
        LocalRedis(config=["maxmemory-policy allkeys-lru"]) as server,
        redis.Redis.from_url(server.url, decode_responses=True) as client,
    ):
        assert client.config_get("maxmemory-policy") == {"maxmemory-policy": "allkeys-lru"}
        assert (server.dir / "redis.conf").exists()


def test_a_password_protected_server_counts_as_up() -> None:
    with LocalRedis(extra=["--requirepass", "secret"]) as server:
        assert server.ping()


def test_free_port_is_free() -> None:
    assert refuses(free_port())
