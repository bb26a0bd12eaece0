"""Argument and reply formats of the cron scripts (cron_fire.lua, cron_trigger.lua); the
rest of the script protocol is in jobq.protocol."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jobq.keys import QueueKeys
from jobq.protocol import Call
from jobq.protocol_levels import level_block


@dataclass(frozen=True, slots=True)
class CronTick:
    """One tick of a cron entry, offered to cron_fire.lua."""

    name: str
    due_ms: int
    job_id: str
    envelope: str
    grace_ms: int
    new_grace_ms: int
    catch_up: bool = False
    overlap: str = "allow"


def cron_fire(k: QueueKeys, tick: CronTick) -> Call:
    keys = [k.stream, k.jobs, k.cron(tick.name), k.result(tick.job_id), *level_block(k)]
    args: list[Any] = [tick.due_ms, tick.job_id, tick.envelope, tick.grace_ms]
    return keys, [*args, "1" if tick.catch_up else "0", tick.overlap, tick.new_grace_ms]


def parse_cron_fire(reply: Any) -> tuple[str, int]:
    outcome, late_ms = reply
    return str(outcome), int(late_ms)


def cron_trigger(k: QueueKeys, name: str, job_id: str, envelope: str) -> Call:
    return [k.stream, k.jobs, k.cron(name), *level_block(k)], [job_id, envelope]
