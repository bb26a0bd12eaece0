"""How one job reads to a person: a time, a span, how long a run took, the call it makes.

Pure text helpers shared by `jobq explain`, `jobq job show` and the other commands.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jobq.envelope import Envelope


def when(ts: float) -> str:
    """A UTC timestamp a human reads at a glance: 2026-01-02 03:04:05Z."""
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")


def span(seconds: float) -> str:
    """2.5s, 4m10s, 3h02m, 2d04h: short, and precise where it matters."""
    s = max(0.0, seconds)
    if s < 60:
        return f"{s:.1f}s"
    if s < 3600:
        return f"{int(s // 60)}m{int(s % 60):02d}s"
    if s < 86400:
        return f"{int(s // 3600)}h{int(s % 3600 // 60):02d}m"
    return f"{int(s // 86400)}d{int(s % 86400 // 3600):02d}h"


def call_text(env: Envelope | None, cut: int = 0, limit: int = 200) -> str | None:
    """The call a job makes, as a person would write it: task(1, "a", retries=2); with
    `cut`, its arguments were not kept (jobq.envelope.kept_text) and show as "..."."""
    if env is None:
        return None
    if cut:
        return f"{env.task}(...)"
    parts = [_value(a) for a in env.args] + [f"{k}={_value(v)}" for k, v in env.kwargs.items()]
    text = f"{env.task}({', '.join(parts)})"
    return text if len(text) <= limit else text[: limit - 4] + " ..."


def _value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def took(seconds: float) -> str:
    """A run's duration: milliseconds under a second (no-op jobs take a fraction of one)."""
    if seconds < 0.01:
        return f"{max(0.0, seconds) * 1000:.1f} ms"
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else span(seconds)
