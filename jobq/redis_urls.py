"""The Redis URL forms jobq understands: one server, a Redis Cluster, or a Sentinel-watched
master. Pure parsing, no I/O; `jobq.broker` turns the result into clients.

    redis://[[user]:password@]host[:port][/db]     one server (redis-py's own forms:
    rediss://...  unix://...                         also TLS and unix sockets)
    redis+cluster://[[user]:password@]host:port[,host:port...]
    rediss+cluster://...                             Redis Cluster; any reachable nodes to
                                                     start from, the client finds the rest
    redis+sentinel://[[user]:password@]host:port[,host:port...]/service[/db]
    rediss+sentinel://...                            the sentinels, then the name of the
                                                     master they watch (`sentinel monitor`)

The user and password are those of the Redis servers. Sentinels that require AUTH of their
own take `?sentinel_username=...&sentinel_password=...`. A port may be left out (6379 for
Cluster nodes, 26379 for sentinels). Cluster has database 0 only.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, unquote

from jobq.errors import ConfigError

CLUSTER_SCHEMES = {"redis+cluster": False, "rediss+cluster": True}
SENTINEL_SCHEMES = {"redis+sentinel": False, "rediss+sentinel": True}
SENTINEL_QUERY = ("sentinel_username", "sentinel_password")

Address = tuple[str, int]


@dataclass(frozen=True, slots=True)
class Topology:
    """Where the broker's data lives: kind is "server", "cluster" or "sentinel"."""

    kind: str
    nodes: tuple[Address, ...] = ()
    service: str = ""
    db: int = 0
    username: str | None = None
    password: str | None = None
    ssl: bool = False
    sentinel_username: str | None = None
    sentinel_password: str | None = None


def parse_topology(url: str) -> Topology:
    """Classify `url`; plain redis:// (and anything else) is left to redis-py as one server."""
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if not sep or (scheme not in CLUSTER_SCHEMES and scheme not in SENTINEL_SCHEMES):
        return Topology("server")
    rest = rest.partition("#")[0]
    rest, _, query = rest.partition("?")
    netloc, _, path = rest.partition("/")
    userinfo, _, hosts = netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    cluster = scheme in CLUSTER_SCHEMES
    nodes = tuple(_address(h, 6379 if cluster else 26379) for h in hosts.split(","))
    username, secret = unquote(user) or None, unquote(password) or None
    options = _query(query, () if cluster else SENTINEL_QUERY)
    segments = [unquote(s) for s in path.split("/") if s]
    if cluster:
        if segments not in ([], ["0"]):
            raise ConfigError("a Redis Cluster URL takes no path: Cluster has database 0 only")
        return Topology("cluster", nodes, "", 0, username, secret, CLUSTER_SCHEMES[scheme])
    service, db = _service_and_db(segments)
    return Topology(
        "sentinel",
        nodes,
        service,
        db,
        username,
        secret,
        SENTINEL_SCHEMES[scheme],
        options.get("sentinel_username"),
        options.get("sentinel_password"),
    )


def _address(text: str, default_port: int) -> Address:
    """`host`, `host:port` or `[v6]:port`."""
    text = unquote(text.strip())
    if text.startswith("["):
        host, _, tail = text[1:].partition("]")
        port_text = tail[1:] if tail.startswith(":") else tail
    else:
        host, _, port_text = text.partition(":")
    if not host:
        raise ConfigError("a host is missing in the list of Redis nodes")
    if not port_text:
        return host, default_port
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigError(f"invalid port {port_text!r} for Redis node {host!r}")
    return host, int(port_text)


def _query(query: str, allowed: tuple[str, ...]) -> dict[str, str]:
    try:
        pairs = parse_qs(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise ConfigError("malformed query string in the Redis URL") from None
    unknown = sorted(set(pairs) - set(allowed))
    if unknown:
        known = ", ".join(allowed) or "none"
        raise ConfigError(f"unknown Redis URL option {unknown[0]!r} (known: {known})")
    return {name: values[-1] for name, values in pairs.items()}


def _service_and_db(segments: list[str]) -> tuple[str, int]:
    if not segments:
        raise ConfigError("a Sentinel URL needs the master's service name: redis+sentinel://host:port/NAME")
    if len(segments) > 2 or (len(segments) == 2 and not segments[1].isdigit()):
        raise ConfigError("a Sentinel URL path is /service or /service/db (db a number)")
    return segments[0], int(segments[1]) if len(segments) == 2 else 0
