"""The synchronous connection every role of the Redis boundary shares.

`Link` owns the client, the namespace's keys and the registered scripts; the role classes
(Producer, CronCalls, DeadLetters, Reads) each add the calls of one kind of caller on top,
and `jobq.broker.Broker` is all of them over one connection.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis
import redis.sentinel

from jobq import protocol
from jobq.broker.connection import connect, connect_checked, register_scripts
from jobq.broker.direct import DirectLine, ScriptHead
from jobq.broker.errors import Translating
from jobq.config import Config
from jobq.keys import NamespaceKeys, QueueKeys


@dataclass(frozen=True, slots=True)
class EnqueueTarget:
    """A queue at one priority level, as the producer's enqueue needs it: its keys and the
    packed heads of enqueue.lua and (at the default level) enqueue_now.lua."""

    keys: QueueKeys
    later: ScriptHead
    now: ScriptHead | None


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
        # (queue, level) -> its EnqueueTarget, made once the queue was registered
        self._enqueue_targets: dict[tuple[str, int], EnqueueTarget] = {}
        self._translating = Translating(self.url)
        # the producer's enqueue path; redis-py's path only for a Cluster (it routes by
        # key) and Sentinel (its pool finds the master per connection, which a connection
        # made outside the pool does not: it would talk to localhost:6379)
        self._line = None if self.cluster or self._behind_sentinel() else DirectLine(self.client)

    def _behind_sentinel(self) -> bool:
        pool = getattr(self.client, "connection_pool", None)  # a Cluster has none
        return isinstance(pool, redis.sentinel.SentinelConnectionPool)

    def _errors(self) -> Translating:
        """`with self._errors():` around every call: Redis errors leave as BrokerErrors."""
        return self._translating

    def _run(self, name: str, call: protocol.Call, client: Any = None) -> Any:
        keys, args = call
        return self._scripts[name](keys=keys, args=args, client=client)

    def _scripted(self, name: str, calls: Sequence[protocol.Call], packed: Sequence[bytes]) -> list[Any]:
        """The replies of several calls of one script, in one round trip: sent as `packed`
        (ScriptHead.call of each) on the direct line when it is free (jobq.broker.direct),
        else through redis-py."""
        line = self._line
        if not calls:
            return []
        if line is not None:
            replies = line.call(packed, len(calls))
            if isinstance(replies, list):
                out = []
                for call, reply in zip(calls, replies, strict=True):
                    if isinstance(reply, redis.exceptions.NoScriptError):
                        reply = self._run(name, call)  # loads the script, then runs it
                    elif isinstance(reply, redis.RedisError):
                        raise reply
                    out.append(reply)
                return out
        if self.cluster or len(calls) == 1:  # redis-py refuses EVALSHA in a Cluster pipeline
            return [self._run(name, call) for call in calls]
        pipe = self.client.pipeline(transaction=False)
        for call in calls:
            self._run(name, call, pipe)
        return list(pipe.execute())

    def _forget_queues(self) -> None:
        """After the namespace was deleted: register each queue again at its next use."""
        self._known_queues.clear()
        self._enqueue_targets.clear()

    def _script_head(self, name: str, keys: Sequence[str]) -> ScriptHead:
        return ScriptHead(self._scripts[name].sha, keys)

    def queue_keys(self, queue: str) -> QueueKeys:
        return self.ns.queue(queue)

    def ping(self) -> None:
        with self._errors():
            self.client.ping()

    def close(self) -> None:
        if self._line is not None:
            self._line.close()
        self.client.close()
