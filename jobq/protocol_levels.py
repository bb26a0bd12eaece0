"""Script arguments and replies for priority levels (lib/levels.lua), shared by the sync
and async brokers: the level block every level-aware script receives, the bounded
highest-first read, and aging. Nothing here performs I/O."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from jobq.keys import GROUP, QueueKeys

Call = tuple[list[str], list[Any]]


def level_block(k: QueueKeys) -> list[str]:
    """The keys a script needs to handle jobs of every priority level (lib/levels.lua):
    the streams of levels 0..9, then the set of levels in use."""
    return [*k.level_streams, k.levels]


def fetch_levels(k: QueueKeys, consumer: str, levels: Sequence[int], count: int) -> Call:
    """`levels`: highest first."""
    return [k.level_stream(level) for level in levels], [GROUP, consumer, count]


def age_levels(k: QueueKeys, age_ms: int, limit: int) -> Call:
    return [k.jobs, *level_block(k)], [GROUP, age_ms, limit]


def parse_fetch_levels(levels: Sequence[int], reply: Any) -> list[tuple[int, str, str | None]]:
    """(level, stream id, envelope or None) of each entry read, in the order to start them."""
    return [(levels[int(i) - 1], str(sid), env or None) for i, sid, env in reply]
