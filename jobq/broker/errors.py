"""Redis failures in jobq's words: one-line BrokerErrors that name the (redacted) server."""

from __future__ import annotations

import redis
import redis.sentinel

from jobq.config import redact_url
from jobq.errors import BrokerError


def describe_error(url: str, exc: BaseException) -> BrokerError:
    """A BrokerError whose message names the (redacted) server and the cause, on one line."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    safe = redact_url(url)
    if isinstance(exc, redis.AuthenticationError | redis.exceptions.AuthorizationError):
        return BrokerError(f"Redis at {safe} refused the credentials: {text}")
    if isinstance(exc, redis.sentinel.MasterNotFoundError):  # its text ends in a long client repr
        master = text.partition(" : ")[0].removeprefix("No master found for ")
        return BrokerError(f"cannot reach Redis at {safe}: no sentinel answered with a master {master}")
    if isinstance(exc, redis.ConnectionError | redis.TimeoutError | OSError):
        text = text.replace(url, safe)
        return BrokerError(f"cannot reach Redis at {safe}: {text}")
    if isinstance(exc, redis.exceptions.OutOfMemoryError) or "OOM" in text:
        return BrokerError(f"Redis at {safe} is out of memory (maxmemory reached): {text}")
    return BrokerError(f"Redis at {safe} failed: {text}")


def is_nogroup(exc: BaseException) -> bool:
    return "NOGROUP" in str(exc)
