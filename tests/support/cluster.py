"""Real multi-server Redis topologies on loopback, for the scale-out tests.

`RedisClusterSet`: three masters with `cluster-enabled yes`, joined by `redis-cli --cluster
create`; `SentinelSet`: a master, one replica and one sentinel watching them. Both are
built from `LocalRedis` (free ports, temp dirs, killable) and torn down with `close()`.
"""

from __future__ import annotations

import random
import shutil
import socket
import subprocess

import redis

from tests.support.redis_server import RedisServer
from tests.support.waiting import wait_for

CLUSTER_VT = 3.0  # visibility timeout (s) of the apps the cluster tests use
SENTINEL_SERVICE = "jobq-primary"


def cluster_port() -> int:
    """A free port whose cluster bus port (port + 10000) is free too; both must be < 65536."""
    for _ in range(200):
        port = random.randint(20000, 55000)
        try:
            for candidate in (port, port + 10000):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", candidate))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port pair for a cluster node")


def _info_field(text: str, field: str) -> str:
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return line.split(":", 1)[1].strip()
    return ""


class RedisClusterSet:
    """A three-master Redis Cluster (no replicas) on loopback."""

    def __init__(self, masters: int = 3, *, aof: bool = False) -> None:
        self.nodes = [
            RedisServer(
                aof=aof,
                extra=[
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                    "--cluster-node-timeout",
                    "2000",
                ],
                port=cluster_port(),
            )
            for _ in range(masters)
        ]

    @property
    def url(self) -> str:
        """The jobq URL: any one node is enough, the client discovers the rest."""
        return f"redis+cluster://127.0.0.1:{self.nodes[0].port}"

    def start(self) -> RedisClusterSet:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def _start(self) -> None:
        for node in self.nodes:
            node.start()
        addresses = [f"127.0.0.1:{n.port}" for n in self.nodes]
        subprocess.run(
            [
                shutil.which("redis-cli") or "redis-cli",
                *["--cluster", "create", *addresses, "--cluster-replicas", "0", "--cluster-yes"],
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=60,
        )
        wait_for(self.healthy, 30, "the cluster to reach cluster_state:ok on every node")

    def restart_all(self) -> None:
        """kill -9 every node, start them again (same ports and node ids), wait for ok."""
        for node in self.nodes:
            node.kill()
        for node in self.nodes:
            node.start()
        wait_for(self.healthy, 30, "the restarted cluster to reach cluster_state:ok")

    def healthy(self) -> bool:
        for node in self.nodes:
            try:
                info = str(node.client().execute_command("CLUSTER", "INFO"))
            except redis.RedisError:
                return False
            if _info_field(info, "cluster_state") != "ok":
                return False
            if _info_field(info, "cluster_known_nodes") != str(len(self.nodes)):
                return False
        return True

    def port_of(self, key: str) -> int:
        """The port of the master that serves `key`'s slot."""
        client = self.nodes[0].client()
        slot = int(client.execute_command("CLUSTER", "KEYSLOT", key))
        for start, end, master, *_replicas in client.execute_command("CLUSTER", "SLOTS"):
            if int(start) <= slot <= int(end):
                return int(master[1])
        raise AssertionError(f"no node serves slot {slot}")

    def client(self) -> redis.RedisCluster:
        return redis.RedisCluster(
            host="127.0.0.1", port=self.nodes[0].port, decode_responses=True, socket_timeout=5
        )

    def close(self) -> None:
        for node in self.nodes:
            node.close()


class Sentinel(RedisServer):
    """One redis-server in sentinel mode, monitoring `SENTINEL_SERVICE`."""

    def __init__(self, master_port: int, down_after_ms: int = 1000) -> None:
        super().__init__(
            config=[
                f"sentinel monitor {SENTINEL_SERVICE} 127.0.0.1 {master_port} 1",
                f"sentinel down-after-milliseconds {SENTINEL_SERVICE} {down_after_ms}",
                f"sentinel failover-timeout {SENTINEL_SERVICE} 10000",
                f"sentinel parallel-syncs {SENTINEL_SERVICE} 1",
            ],
            extra=["--sentinel"],
        )

    def master_port(self) -> int:
        _host, port = self.client().execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", SENTINEL_SERVICE)
        return int(port)

    def knows_healthy_replica(self) -> bool:
        try:
            replicas = self.client().execute_command("SENTINEL", "REPLICAS", SENTINEL_SERVICE)
        except redis.RedisError:
            return False
        for entry in replicas:
            fields = dict(zip(entry[::2], entry[1::2], strict=False)) if isinstance(entry, list) else entry
            flags = str(fields.get("flags", ""))
            if "down" not in flags and fields.get("master-link-status") == "ok":
                return True
        return False


class SentinelSet:
    """A master, a replica of it, and one sentinel (quorum 1) that fails over on its own."""

    def __init__(self) -> None:
        self.master = RedisServer()
        self.replica: RedisServer | None = None
        self.sentinel: Sentinel | None = None

    @property
    def url(self) -> str:
        assert self.sentinel is not None
        return f"redis+sentinel://127.0.0.1:{self.sentinel.port}/{SENTINEL_SERVICE}/0"

    def start(self) -> SentinelSet:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def _start(self) -> None:
        self.master.start()
        self.replica = RedisServer(extra=["--replicaof", "127.0.0.1", str(self.master.port)]).start()
        wait_for(self.replica_in_sync, 20, "the replica to finish its first sync")
        self.sentinel = Sentinel(self.master.port).start()
        wait_for(self.sentinel.knows_healthy_replica, 30, "the sentinel to discover the replica")

    def replica_in_sync(self) -> bool:
        assert self.replica is not None
        try:
            return self.replica.client().info("replication").get("master_link_status") == "up"
        except redis.RedisError:
            return False

    def failed_over(self) -> bool:
        """The sentinel now names the former replica as master, and it accepts writes."""
        assert self.sentinel is not None and self.replica is not None
        try:
            if self.sentinel.master_port() != self.replica.port:
                return False
            return self.replica.client().info("replication").get("role") == "master"
        except redis.RedisError:
            return False

    def close(self) -> None:
        if self.sentinel is not None:
            self.sentinel.close()
        if self.replica is not None:
            self.replica.close()
        self.master.close()
