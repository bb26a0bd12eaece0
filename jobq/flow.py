"""Flow-control options, checked where they are given (decoration or enqueue), pure.

A bad value raises `ConfigError` (a `JobqError`) before anything is enqueued.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from jobq.errors import ConfigError

Expiry = float | timedelta | datetime

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
