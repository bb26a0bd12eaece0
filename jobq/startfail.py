"""Pools whose worker processes fail to start (an `on_worker_start` hook raised).

The failing process records itself before it exits, under its supervisor's id
(host:supervisor pid), so `jobq stats` and the dashboard can say which pool is stuck and
why; a process of that pool that starts cleanly clears the record. A record left behind
by a pool that was stopped lapses after RECORD_TTL_S. The Redis side is
`AsyncBroker.record_start_failure` / `clear_start_failure` and `Reads.start_failures`;
this module is pure.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

RECORD_TTL_S = 90  # longer than the supervisor's longest wait between two starts
MAX_LISTED = 100


@dataclass(frozen=True)
class StartFailure:
    pool: str
    host: str
    pid: int
    hook: str
    error: str
    failures: int
    last_failed_s: float


def parse(h: Mapping[Any, Any], now: float) -> StartFailure:
    """A StartFailure from its hash (pure: table-tested)."""
    text = {_s(k): _s(v) for k, v in h.items()}

    def number(name: str) -> float:
        try:
            return float(text.get(name, 0))
        except ValueError:
            return 0.0

    return StartFailure(
        pool=text.get("pool", ""),
        host=text.get("host", ""),
        pid=int(number("pid")),
        hook=text.get("hook", ""),
        error=text.get("error", ""),
        failures=int(number("failures")),
        last_failed_s=round(max(0.0, now - number("at")), 3),
    )


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def to_json(f: StartFailure) -> dict[str, Any]:
    return dataclasses.asdict(f)


def describe(f: StartFailure) -> str:
    """One line for the dashboard."""
    return (
        f"pool {f.pool} failing to start: {f.hook} raised {f.error} "
        f"({f.failures} failed start{'s' if f.failures != 1 else ''}, last {f.last_failed_s:.0f}s ago)"
    )
