"""The stats snapshot's reads without redis-py, where the URL allows: what `jobq stats` uses.

`open_reads` gives a LiteReads (jobq.broker.resp's client) for one server named by a plain
redis://, rediss:// or unix:// URL, and redis-py's Reads for everything else (Cluster,
Sentinel, URL options the small client does not know, no hiredis). Both feed the same
SnapshotReads code, so a snapshot reads alike either way (tests/test_stats_lite.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jobq.broker.snapshot import SnapshotReads
from jobq.broker.translating import Translating
from jobq.config import Config, redact_url
from jobq.errors import BrokerError, BrokerGroupMissing, BrokerOutOfMemory, BrokerRefused, BrokerUnavailable
from jobq.keys import NamespaceKeys

if TYPE_CHECKING:
    from jobq.broker.resp import RespClient

# reply codes redis-py takes off an error's text, and those that mean the login failed
STRIPPED = ("ERR", "OOM", "WRONGPASS", "EXECABORT", "LOADING", "NOSCRIPT", "READONLY", "NOAUTH", "NOPERM")
LOGIN_REFUSED = ("WRONGPASS", "NOAUTH")


def open_reads(config: Config) -> SnapshotReads:
    """The cheapest reader of snapshots for `config.redis_url` (see the module's docstring)."""
    try:
        from jobq.broker.resp import RespClient, endpoint
    except ImportError:  # no hiredis: redis-py's own parser then
        where = None
    else:
        where = endpoint(config.redis_url)
    if where is None:
        from jobq.broker.connection import check_url
        from jobq.broker.reads import Reads

        check_url(config.redis_url)
        return Reads(config)
    return LiteReads(config, RespClient(where))


class LiteReads(SnapshotReads):
    """SnapshotReads over jobq.broker.resp's client."""

    def __init__(self, config: Config, client: RespClient) -> None:
        self.config = config
        self.ns = NamespaceKeys(config.namespace)
        self.client = client
        self._translating = Translating(config.redis_url, describe)

    def _errors(self) -> Translating:
        return self._translating

    def close(self) -> None:
        self.client.close()


def describe(url: str, exc: BaseException) -> BrokerError | None:
    """The BrokerError for a failure of the small client, worded as
    jobq.broker.errors.describe_error words redis-py's (None: not a Redis failure)."""
    from hiredis import HiredisError, ReplyError

    safe = redact_url(url)
    if isinstance(exc, OSError):
        return BrokerUnavailable(f"cannot reach Redis at {safe}: {_first_line(exc)}")
    if isinstance(exc, ReplyError):
        code, _, rest = str(exc).partition(" ")
        text = _first_line(rest if code in STRIPPED else str(exc))
        if code in LOGIN_REFUSED or str(exc).startswith("ERR invalid password"):
            return BrokerUnavailable(f"Redis at {safe} refused the credentials: {text}")
        if code == "OOM":
            return BrokerOutOfMemory(f"Redis at {safe} is out of memory (maxmemory reached): {text}")
        if code == "NOGROUP":
            return BrokerGroupMissing(f"Redis at {safe} lost a consumer group: {text}")
        return BrokerRefused(f"Redis at {safe} failed: {text}")
    if isinstance(exc, HiredisError):  # a garbled reply
        return BrokerUnavailable(f"Redis at {safe} failed: {_first_line(exc)}")
    return None


def _first_line(exc: object) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
