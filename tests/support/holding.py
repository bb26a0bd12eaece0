"""Make entries 'in flight' without a worker: a bare consumer reads them and never acks."""

from __future__ import annotations

import contextlib

import redis

import jobq
from jobq.keys import GROUP, NamespaceKeys


def hold_entries(app: jobq.App, queue: str, count: int, consumer: str = "someone") -> None:
    """XREADGROUP `count` entries of `queue` as `consumer` (the group is made if missing)."""
    client = redis.Redis.from_url(app.config.redis_url, decode_responses=True)
    stream = NamespaceKeys(app.config.namespace).queue(queue).stream
    with contextlib.suppress(redis.ResponseError):  # BUSYGROUP: it exists already
        client.xgroup_create(stream, GROUP, id="0", mkstream=True)
    client.xreadgroup(GROUP, consumer, {stream: ">"}, count=count)
    client.close()
