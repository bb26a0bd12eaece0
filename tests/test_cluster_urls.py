"""The Cluster and Sentinel URL forms (pure parsing, no Redis)."""

from __future__ import annotations

import pytest

from jobq.config import redact_url
from jobq.errors import ConfigError
from jobq.redis_urls import Topology, parse_topology


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://localhost:6379/0", Topology("server")),
        ("rediss://:pw@h/1", Topology("server")),
        ("unix:///tmp/redis.sock", Topology("server")),
        ("redis+cluster://10.0.0.1:7000", Topology("cluster", (("10.0.0.1", 7000),))),
        (
            "rediss+cluster://app:s%40cret@a:7000,b:7001/0",
            Topology("cluster", (("a", 7000), ("b", 7001)), username="app", password="s@cret", ssl=True),
        ),
        ("redis+cluster://node", Topology("cluster", (("node", 6379),))),
        ("REDIS+CLUSTER://[::1]:7000", Topology("cluster", (("::1", 7000),))),
        (
            "redis+sentinel://s1:26379,s2/jobq-primary",
            Topology("sentinel", (("s1", 26379), ("s2", 26379)), service="jobq-primary"),
        ),
        (
            "redis+sentinel://:pw@s1:5000/main/3?sentinel_password=spw&sentinel_username=sen",
            Topology(
                "sentinel",
                (("s1", 5000),),
                service="main",
                db=3,
                password="pw",
                sentinel_username="sen",
                sentinel_password="spw",
            ),
        ),
        (
            "rediss+sentinel://s1/main",
            Topology("sentinel", (("s1", 26379),), service="main", ssl=True),
        ),
    ],
)
def test_url_forms(url: str, expected: Topology) -> None:
    assert parse_topology(url) == expected


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis+cluster://a:7000/1", "database 0 only"),
        ("redis+cluster://a:notaport", "invalid port"),
        ("redis+cluster://a:70000", "invalid port"),
        ("redis+cluster://a:7000,,b:7001", "host is missing"),
        ("redis+cluster://a:7000?sentinel_password=x", "unknown Redis URL option"),
        ("redis+sentinel://s1:26379", "service name"),
        ("redis+sentinel://s1:26379/", "service name"),
        ("redis+sentinel://s1/main/x", "/service/db"),
        ("redis+sentinel://s1/main/0/extra", "/service/db"),
        ("redis+sentinel://s1/main?timeout=3", "unknown Redis URL option 'timeout'"),
    ],
)
def test_bad_urls_are_one_clear_config_error(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_topology(url)


def test_redaction_keeps_every_host_and_hides_the_password() -> None:
    assert redact_url("redis+sentinel://:pw@s1:1,s2:2/svc") == "redis+sentinel://:***@s1:1,s2:2/svc"
    assert redact_url("redis+cluster://u:pw@a:7000,b:7001") == "redis+cluster://u:***@a:7000,b:7001"
    assert redact_url("redis://u:p@[::1]:6379/1") == "redis://u:***@[::1]:6379/1"
