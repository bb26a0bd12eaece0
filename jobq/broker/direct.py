"""A connection held for the producer's hot call, fed commands packed once.

redis-py's per-call path (a pool checkout that polls the socket for stale data, the retry
wrapper, observability hooks, encoding every argument) cost about three times the client
CPU of the enqueue itself, paid by every `delay()` in a web request. `DirectLine` keeps
one connection out of the pool and sends bytes the caller packed (most of them cached per
queue), then reads the replies with the connection's own parser. Whenever it cannot
answer plainly (another thread holds it, the script is not loaded, the connection was
lost) it says MISSED and the caller takes redis-py's ordinary path, with its retries.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Sequence
from typing import Any, Final

import redis


class _Missed:
    def __repr__(self) -> str:
        return "MISSED"


MISSED: Final = _Missed()
"""The line did not run the call (or cannot say what it returned): take the ordinary path."""

_LINES: weakref.WeakSet[DirectLine] = weakref.WeakSet()


def bulk(value: str | bytes | int) -> bytes:
    """One RESP bulk string."""
    if value.__class__ is int and 0 <= value < 10:  # type: ignore[operator]
        return _DIGITS[value]  # type: ignore[index]
    if value.__class__ is str:
        data = value.encode()  # type: ignore[union-attr]
    elif value.__class__ is int:
        data = b"%d" % value
    else:
        data = bytes(value)  # type: ignore[arg-type]
    return b"$%d\r\n%s\r\n" % (len(data), data)


_DIGITS = [b"$1\r\n%d\r\n" % i for i in range(10)]


def bulks(values: Sequence[str | bytes | int]) -> bytes:
    return b"".join([bulk(v) for v in values])


class ScriptHead:
    """EVALSHA of one script with the keys every call of it starts with, packed once."""

    __slots__ = ("_packed_keys", "keys", "sha")

    def __init__(self, sha: str, keys: Sequence[str]) -> None:
        self.sha = sha.encode()
        self.keys = list(keys)
        self._packed_keys = bulks(self.keys)

    def call(self, keys: Sequence[str], args: Sequence[str | bytes | int]) -> bytes:
        """The packed call with these keys (which start with this head's) and arguments."""
        more = bulks(keys[len(self.keys) :]) if len(keys) > len(self.keys) else b""
        return b"*%d\r\n$7\r\nEVALSHA\r\n$40\r\n%s\r\n%s%s%s%s" % (
            3 + len(keys) + len(args),
            self.sha,
            bulk(len(keys)),
            self._packed_keys,
            more,
            bulks(args),
        )


class DirectLine:
    """One connection of `client`'s pool kind, used by one thread at a time."""

    def __init__(self, client: redis.Redis) -> None:
        self._make = client.connection_pool.make_connection
        self._conn: Any = None
        self._lock = threading.Lock()
        _LINES.add(self)

    def call(self, packed: Sequence[bytes], replies: int) -> list[Any] | _Missed:
        """Send `packed` (whole commands) and read `replies` replies. A reply that is an
        error comes back in the list as its exception (a NoScriptError: the caller runs
        that command again through the ordinary path, which loads the script); a timeout
        raises, since the command may have run."""
        if not self._lock.acquire(blocking=False):
            return MISSED  # another thread is on the line: redis-py's pool serves this one
        try:
            conn = self._conn
            if conn is None:
                conn = self._conn = self._make()
            try:
                conn.send_packed_command(packed)
                out: list[Any] = []
                for _ in range(replies):
                    try:
                        out.append(conn.read_response())
                    except redis.ResponseError as exc:
                        out.append(exc)
                return out
            except redis.TimeoutError:
                raise  # the command may have run: never sent twice (as redis-py's own path)
            except redis.ConnectionError:
                conn.disconnect()
                return MISSED  # lost before the reply: redis-py's path retries, as it would
        finally:
            self._lock.release()

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.disconnect()

    def _after_fork(self) -> None:
        """In a forked child the socket is the parent's: never use it, make a new one."""
        self._conn = None
        self._lock = threading.Lock()


def _forget_lines_after_fork() -> None:
    for line in list(_LINES):
        line._after_fork()


os.register_at_fork(after_in_child=_forget_lines_after_fork)
