"""Redis failures in jobq's words.

Every call of the package runs inside `Translating`, so a Redis or socket error leaves it
as one of jobq.errors' BrokerError subclasses, with a one-line message that names the
(redacted) server; nothing outside the package sees a redis exception or matches an
error string.
"""

from __future__ import annotations

import redis
import redis.sentinel

from jobq.broker import translating
from jobq.config import redact_url
from jobq.errors import (
    BrokerError,
    BrokerGroupMissing,
    BrokerOutOfMemory,
    BrokerRefused,
    BrokerUnavailable,
)


def describe_error(url: str, exc: BaseException) -> BrokerError:
    """The BrokerError subclass for `exc`, whose message names the (redacted) server and
    the cause, on one line."""
    if isinstance(exc, BrokerError):
        return exc
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    safe = redact_url(url)
    if isinstance(exc, redis.AuthenticationError | redis.exceptions.AuthorizationError):
        return BrokerUnavailable(f"Redis at {safe} refused the credentials: {text}")
    if isinstance(exc, redis.sentinel.MasterNotFoundError):  # its text ends in a long client repr
        master = text.partition(" : ")[0].removeprefix("No master found for ")
        return BrokerUnavailable(f"cannot reach Redis at {safe}: no sentinel answered with a master {master}")
    if isinstance(exc, redis.ConnectionError | redis.TimeoutError | OSError):
        text = text.replace(url, safe)
        return BrokerUnavailable(f"cannot reach Redis at {safe}: {text}")
    if isinstance(exc, redis.exceptions.OutOfMemoryError) or "OOM" in text:
        return BrokerOutOfMemory(f"Redis at {safe} is out of memory (maxmemory reached): {text}")
    if "NOGROUP" in text:
        return BrokerGroupMissing(f"Redis at {safe} lost a consumer group: {text}")
    if isinstance(exc, redis.ResponseError):
        return BrokerRefused(f"Redis at {safe} failed: {text}")
    # Any other client-side failure (a Cluster that cannot agree, a garbled reply) is
    # waited out like a lost connection.
    return BrokerUnavailable(f"Redis at {safe} failed: {text}")


def redis_failure(url: str, exc: BaseException) -> BrokerError | None:
    """describe_error's BrokerError for a Redis or socket error; None for anything else."""
    return describe_error(url, exc) if isinstance(exc, redis.RedisError | OSError) else None


class Translating(translating.Translating):
    """Context manager: a Redis or socket error raised inside leaves as a BrokerError."""

    __slots__ = ()

    def __init__(self, url: str) -> None:
        super().__init__(url, redis_failure)
