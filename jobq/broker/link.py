"""The synchronous connection every role of the Redis boundary shares.

`Link` owns the client, the namespace's keys and the registered scripts; the role classes
(Producer, CronCalls, DeadLetters, Reads) each add the calls of one kind of caller on top,
and `jobq.broker.Broker` is all of them over one connection.
"""

from __future__ import annotations

from typing import Any

import redis

from jobq import protocol
from jobq.broker.connection import connect, connect_checked, register_scripts
from jobq.broker.errors import Translating
from jobq.config import Config
from jobq.keys import NamespaceKeys, QueueKeys


class Link:
    """One synchronous client for one App's namespace, with the Lua scripts registered."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.url = config.redis_url
        self.ns = NamespaceKeys(config.namespace)
        self.client: redis.Redis = connect_checked(connect, self.url)
        self.cluster = isinstance(self.client, redis.RedisCluster)
        self._scripts = register_scripts(self.client)
        self._known_queues: set[str] = set()
        self._translating = Translating(self.url)

    def _errors(self) -> Translating:
        """`with self._errors():` around every call: Redis errors leave as BrokerErrors."""
        return self._translating

    def _run(self, name: str, call: protocol.Call, client: Any = None) -> Any:
        keys, args = call
        return self._scripts[name](keys=keys, args=args, client=client)

    def queue_keys(self, queue: str) -> QueueKeys:
        return self.ns.queue(queue)

    def ping(self) -> None:
        with self._errors():
            self.client.ping()

    def close(self) -> None:
        self.client.close()
