"""settle.lua checks ownership over only the span of stream ids its batch holds (one
XPENDING per level between the batch's lowest and highest id): the span must take in every
id of the batch however the ids are written, and ownership must still be exact."""

from __future__ import annotations

import asyncio

import redis

from jobq import protocol
from jobq.broker import AsyncBroker
from jobq.config import Config
from jobq.keys import GROUP, NamespaceKeys
from jobq.states import SettleOp

# ms parts of different lengths, seq parts of different lengths, listed out of order
IDS = ["10-12", "9-5", "10-3", "10-100", "9-40", "1000-1", "99-7"]


def test_a_batch_with_ids_of_every_length_is_settled_whole(redis_url: str, namespace: str) -> None:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    k = NamespaceKeys(namespace).queue("span")
    client.xgroup_create(k.stream, GROUP, id="0", mkstream=True)
    for sid in sorted(IDS, key=lambda s: tuple(int(p) for p in s.split("-"))):
        client.xadd(k.stream, {"e": "{}"}, id=sid)
    client.xreadgroup(GROUP, "me", {k.stream: ">"})
    client.xclaim(k.stream, GROUP, "other", 0, ["10-3"])  # another worker took this one

    async def settle() -> list[str]:
        broker = AsyncBroker(Config(redis_url=redis_url, namespace=namespace), "me")
        batch = [protocol.Settlement(SettleOp.OK, sid, f"job-{sid}", 60, "{}") for sid in IDS]
        try:
            lost, _ = await broker.settle("span", batch, {})
        finally:
            await broker.close()
        return lost

    assert asyncio.run(settle()) == ["10-3"]  # every other id was found owned and settled
    left = client.xrange(k.stream)
    assert [sid for sid, _ in left] == ["10-3"]
    assert client.xpending(k.stream, GROUP)["consumers"] == [{"name": "other", "pending": 1}]
    assert client.get(k.result("job-1000-1")) == "{}"
