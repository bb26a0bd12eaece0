"""Cell formatting for the dashboard: short, fixed-width, plain text (pure).

Every formatter returns text that reads well in a narrow column and stays exact where
people compare numbers (a backlog is shown digit for digit while it fits its column).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from jobq.jobtext import span

BARS = "▁▂▃▄▅▆▇█"
ELLIPSIS = "…"


def clip(text: str, width: int) -> str:
    """`text` cut to `width` cells, marking the cut with an ellipsis."""
    if width <= 0:
        return ""
    if len(text) <= width:
        return text
    return text[: width - 1] + ELLIPSIS if width > 1 else text[:1]


def count(n: int, width: int = 7) -> str:
    """An exact integer while it fits `width`, else a short form (12.3k, 4.5M, 6.7G)."""
    text = str(n)
    if len(text) <= width:
        return text
    for unit, scale in (("k", 1e3), ("M", 1e6), ("G", 1e9), ("T", 1e12)):
        value = n / scale
        if abs(value) >= 999.5 and unit != "T":
            continue
        short = f"{value:.1f}{unit}" if abs(value) < 99.95 else f"{value:.0f}{unit}"
        if len(short) <= width:
            return short
        return clip(f"{value:.0f}{unit}", width)
    return clip(text, width)


def age(seconds: float | None) -> str:
    """A duration as its two leading units: 9s, 4m05s, 3h07m, 2d03h."""
    if seconds is None:
        return "-"
    s = max(0, int(seconds))
    return f"{s}s" if s < 60 else span(s)  # whole seconds: the screen redraws every second


def rate(per_s: float | None) -> str:
    """Events per second: '-' when not known yet, 0, 0.3, 12, 1.2k."""
    if per_s is None:
        return "-"
    if per_s <= 0:
        return "0"
    if per_s < 10:
        return f"{per_s:.1f}"
    if per_s < 1000:
        return f"{per_s:.0f}"
    return f"{per_s / 1000:.1f}k"


def latency(pair: tuple[float, float] | None) -> str:
    """p50/p95 in one unit chosen by the p95: '12/340ms', '1.2/4.5s', '3/12m'."""
    if pair is None:
        return "-"
    p50, p95 = pair
    if p95 < 1000:
        return f"{p50:.0f}/{p95:.0f}ms"
    if p95 < 100_000:
        return f"{p50 / 1000:.1f}/{p95 / 1000:.1f}s"
    return f"{p50 / 60_000:.0f}/{p95 / 60_000:.0f}m"


def resample(values: Sequence[float | None], n: int) -> list[float | None]:
    """`values` averaged down to `n` slots (or padded on the left with unknowns)."""
    m = len(values)
    if m <= n:
        return [None] * (n - m) + list(values)
    out: list[float | None] = []
    for i in range(n):
        known = [v for v in values[i * m // n : (i + 1) * m // n] if v is not None]
        out.append(sum(known) / len(known) if known else None)
    return out


def sparkline(values: Sequence[float | None], width: int | None = None) -> str:
    """One bar per value, scaled to the largest; a blank where nothing is known yet."""
    if width is not None:
        values = resample(values, width)
    known = [v for v in values if v is not None]
    top = max(known, default=0.0)
    out = []
    for v in values:
        if v is None:
            out.append(" ")
        elif top <= 0 or v <= 0:
            out.append(BARS[0])
        else:
            out.append(BARS[max(1, min(len(BARS) - 1, round(v / top * (len(BARS) - 1))))])
    return "".join(out)


def clock(unix_s: float) -> str:
    """Local wall-clock time of day, HH:MM:SS."""
    return time.strftime("%H:%M:%S", time.localtime(unix_s))


def stamp(unix_s: float, now: float) -> str:
    """HH:MM:SS for today's times, MM-DD HH:MM for older ones."""
    if unix_s <= 0:
        return "-"
    if time.localtime(unix_s)[:3] == time.localtime(now)[:3]:
        return clock(unix_s)
    return time.strftime("%m-%d %H:%M", time.localtime(unix_s))


def moment(unix_s: float) -> str:
    """Full local date and time, for detail views."""
    return "-" if unix_s <= 0 else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(unix_s))
