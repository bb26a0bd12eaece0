"""Flow-control options, checked where they are given (decoration or enqueue), pure.

A bad value raises `ConfigError` (a `JobqError`) before anything is enqueued.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from jobq.errors import ConfigError

Expiry = float | timedelta | datetime

DEFAULT_PRIORITY = 5
PRIORITIES = range(10)
"""Priority levels within a queue: higher starts first; a job at the default level costs
what it did before priorities existed (same stream, same record)."""

PAUSE_CHECK_S = 0.25
"""How often a worker reads which of its queues are paused; `App.pause` waits a little
longer than this before it returns, so that by then every live worker knows."""
PAUSE_SETTLE_S = PAUSE_CHECK_S + 0.1


def expiry_seconds(value: float | timedelta | None, where: str) -> float | None:
    """A task's `expires` (seconds or timedelta after enqueue) as seconds; > 0."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | timedelta):
        raise ConfigError(f"{where}: expires must be seconds or a timedelta, not {value!r}")
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if not seconds > 0:
        raise ConfigError(f"{where}: expires must be in the future (got {seconds:g} s)")
    return seconds


def expires_at(value: Expiry | None, default_s: float | None, now: float, where: str) -> float | None:
    """The Unix time a job expires at: `value` (seconds or timedelta after `now`, or an aware
    datetime) or else the task's default; None when it never expires. In the past: error."""
    if value is None:
        return None if default_s is None else now + default_s
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ConfigError(f"{where}: expires must be an aware datetime (with a timezone)")
        at = value.timestamp()
        if at <= now:
            raise ConfigError(f"{where}: expires {value.isoformat()} is in the past")
        return at
    seconds = expiry_seconds(value, where)
    assert seconds is not None
    return now + seconds


def queue_weight(spec: str) -> tuple[str, int]:
    """`-q NAME:WEIGHT` as (NAME, WEIGHT); `-q NAME` alone is weight 1. A queue name never
    holds a colon (config.check_queue_name), so the split is unambiguous."""
    name, sep, weight = spec.partition(":")
    if not sep:
        return name, 1
    if not weight.isdigit() or int(weight) < 1:
        raise ConfigError(f"queue weight in {spec!r} must be a whole number >= 1 (NAME:WEIGHT)")
    return name, int(weight)


@dataclass(frozen=True, slots=True)
class Rate:
    """A rate limit: at most `count` starts in any `period_ms` (a sliding window)."""

    count: int
    period_ms: int

    def __str__(self) -> str:
        unit = {1000: "s", 60_000: "m", 3_600_000: "h"}[self.period_ms]
        return f"{self.count}/{unit}"


_PERIODS_MS = {"s": 1000, "m": 60_000, "h": 3_600_000}


def parse_rate(text: str | None, where: str) -> Rate | None:
    """ "20/s", "100/m" or "1000/h" as a Rate; None for None; ConfigError otherwise."""
    if text is None:
        return None
    count, sep, unit = str(text).strip().partition("/")
    if not sep or not count.isdigit() or int(count) < 1 or unit not in _PERIODS_MS:
        raise ConfigError(f'{where}: rate_limit must be "N/s", "N/m" or "N/h" with N >= 1, not {text!r}')
    return Rate(int(count), _PERIODS_MS[unit])


def check_concurrency(value: int | None, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{where}: concurrency must be a whole number >= 1, not {value!r}")
    return value


def check_priority(value: int | None, where: str) -> int:
    """A priority as given (None: the default); 0..9, a whole number, else ConfigError."""
    if value is None:
        return DEFAULT_PRIORITY
    if isinstance(value, bool) or not isinstance(value, int) or value not in PRIORITIES:
        raise ConfigError(f"{where}: priority must be a whole number from 0 to 9, not {value!r}")
    return value


def check_key_function(fn: Callable[..., Any] | None, option: str, where: str) -> None:
    if fn is not None and not callable(fn):
        raise ConfigError(f"{where}: {option} must be a function of the job's arguments")


def limit_key(
    fn: Callable[..., Any] | None, option: str, where: str, args: Sequence[Any], kwargs: Mapping[str, Any]
) -> str:
    """The limiter key of one call: `fn(*args, **kwargs)` as a non-empty str ("" without a
    key function: one limit for the whole task). A function that raises is a ConfigError."""
    if fn is None:
        return ""
    try:
        key = fn(*args, **kwargs)
    except Exception as exc:
        raise ConfigError(f"{where}: {option} raised {type(exc).__name__}: {exc}") from exc
    if not isinstance(key, str) or not key:
        raise ConfigError(f"{where}: {option} must return a non-empty str, not {key!r}")
    return key
