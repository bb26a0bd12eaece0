"""Argument and reply formats of the Lua scripts, shared by the sync and async brokers.

Each builder returns (keys, args) for one script call; each parser turns the raw reply
into Python values. Nothing here performs I/O.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from jobq import luascripts
from jobq.flow import DEFAULT_PRIORITY
from jobq.keys import GROUP, QueueKeys
from jobq.protocol_levels import level_block
from jobq.records import LEVEL_SEP, unlink
from jobq.states import SettleOp

SCRIPT_NAMES = (
    *("enqueue", "enqueue_now", "promote", "settle", "renew", "reclaim", "status", "cancel"),
    *("requeue_dead", "purge", "cron_fire", "cron_trigger", "flow_acquire", "wf_admit"),
    *("wf_apply", "fetch_levels", "age_levels"),
)


def load_script(name: str) -> str:
    """The text Redis runs for script `name`: includes and record formats filled in."""
    return luascripts.load_script(name)


Call = tuple[list[str], list[Any]]


@dataclass(frozen=True, slots=True)
class NewJob:
    """One job to enqueue: envelope text plus when it may run, and its priority level."""

    id: str
    envelope: str
    delay_ms: int = 0
    at_ms: int = 0
    unique: bool = False
    level: int = DEFAULT_PRIORITY


def enqueue(
    k: QueueKeys, jobs: Sequence[NewJob], level: int = DEFAULT_PRIORITY, first: Sequence[str] = ()
) -> Call:
    """Jobs of one priority level (`first`: the keys of `enqueue(k, (), level)`, which the
    producer keeps per queue). Only a job whose id the caller chose may have an earlier run
    to forget, so only those send their result key (ids jobq makes are new)."""
    keys = list(first) or [k.stream, k.jobs, k.scheduled, k.delayed, k.dead, k.dead_index]
    if level != DEFAULT_PRIORITY and not first:
        keys += level_block(k)
    args: list[Any] = [level]
    for job in jobs:
        args += [job.id, job.envelope, job.delay_ms, job.at_ms, "1" if job.unique else "0"]
        if job.unique:
            keys.append(k.result(job.id))
    return keys, args


def enqueue_now(k: QueueKeys, jobs: Sequence[NewJob], first: Sequence[str] = ()) -> Call:
    """Jobs at the default level, due now, under ids jobq made: ids and envelopes only
    (`first`: the keys, as for enqueue)."""
    return list(first or (k.stream, k.jobs)), [x for job in jobs for x in (job.id, job.envelope)]


def promote(k: QueueKeys, limit: int) -> Call:
    return [k.scheduled, k.delayed, k.stream, k.jobs, *level_block(k)], [limit]


@dataclass(slots=True)  # not frozen: made for every attempt, and a frozen __init__ costs 5x more
class Settlement:
    """How to settle one stream entry (see settle.lua for the meaning of x1..x3)."""

    op: SettleOp
    stream_id: str
    job_id: str
    ttl: int
    x1: str = ""
    x2: str = ""
    x3: str = ""
    link: str = ""  # a workflow member's link (its envelope's): the workflow hears of it
    result: str = ""  # ok: the result's JSON (a member's value for its workflow, unparsed)


def settle(
    k: QueueKeys,
    consumer: str,
    batch: Iterable[Settlement],
    counters: dict[str, int],
    workflow_key: Callable[[str], str] | None = None,
) -> Call:
    """The counters and the short fields of each job travel as two JSON arrays; each job's
    x1 (its outcome blob or envelope, the long one) as an argument of its own, so Redis
    copies it rather than decoding it out of escaped JSON (a third of the script's time).
    `workflow_key` (None in a Cluster, where a workflow's state is in a slot of its own):
    the state key of a succeeded member's workflow, which the settle then applies it to."""
    flat_counters: list[Any] = []
    for field, incr in counters.items():
        flat_counters += (field, incr)
    flat_jobs: list[Any] = []
    members: list[tuple[str, str, str]] = []  # job id, link, result if it succeeded
    keys = [k.stream, k.jobs, k.scheduled, k.delayed, k.dead, k.dead_index, k.waiters, k.counters]
    result = k.result
    levelled = False
    long: list[str] = []
    for s in batch:
        flat_jobs += (s.op, s.stream_id, s.job_id, str(s.ttl), s.x2, s.x3)
        long.append(s.x1)
        keys.append(result(s.job_id))
        levelled = levelled or LEVEL_SEP in s.stream_id
        if s.link:
            members.append((s.job_id, s.link, s.result if s.op == SettleOp.OK else ""))
    keys += (k.links, k.outbox)
    level_at = 0
    if levelled:  # an entry of another priority level: settle.lua needs their streams
        level_at = len(keys) + 1
        keys += level_block(k)
    linked: list[Any] = []  # workflows: last, after the long values
    state_at: dict[str, int] = {}
    for job_id, link, value in members:
        at, index = 0, ""
        if workflow_key is not None and value:
            workflow, index = unlink(link)
            if index != "0":
                at = state_at.get(workflow, 0)
                if not at:
                    keys.append(workflow_key(workflow))
                    at = state_at[workflow] = len(keys)
        linked += (job_id, link, at, index, value if at else "")
    short = [_json_array(flat_counters), _json_array(flat_jobs), level_at]
    return keys, [GROUP, consumer, *short, *long, _json_array(linked) if linked else "[]"]


@dataclass(frozen=True, slots=True)
class Outboxed:
    """A finished job, as one outbox record tells its workflows (see settle.lua,
    jobq.workflow); one record of a settle holds several (they share its entry id)."""

    entry_id: str
    job_id: str
    workflows: str  # space-separated workflow links
    outcome: str  # the job's outcome blob
    result: str = ""  # the result's JSON when the job succeeded and the settler knew it


def parse_settle(reply: Any) -> tuple[list[str], list[tuple[str, int]], list[tuple[str, str, str]]]:
    """(stream ids not settled: not owned, [(job id, callers waiting for it)...],
    [(outbox entry id, job id, workflow links)...] of the jobs workflows wait to hear of)."""
    lost, woken, outboxed = reply
    members = []
    if outboxed:
        eid = str(outboxed[0])
        members = [(eid, str(outboxed[i]), str(outboxed[i + 1])) for i in range(1, len(outboxed), 2)]
    return list(lost), [(str(job_id), int(n)) for job_id, n in woken], members


def _json_array(values: list[Any]) -> bytes:
    """A flat list of strings and numbers for a script (cjson reads it); orjson writes one
    in a tenth of the standard library's time."""
    return orjson.dumps(values)


def renew(k: QueueKeys, consumer: str, held: Iterable[tuple[str, str]]) -> Call:
    """`held`: (entry reference, job id) pairs; references at other levels add the block."""
    args: list[Any] = [GROUP, consumer]
    levelled = False
    for stream_id, job_id in held:
        args += [stream_id, job_id]
        levelled = levelled or LEVEL_SEP in stream_id
    return ([k.stream, k.jobs, *level_block(k)] if levelled else [k.stream, k.jobs]), args


def parse_renew(reply: Any) -> tuple[list[str], list[str]]:
    lost, cancelled = reply
    return list(lost), list(cancelled)


def reclaim(
    k: QueueKeys, consumer: str, min_idle_ms: int, cursor: str, count: int, level: int = DEFAULT_PRIORITY
) -> Call:
    """One level's stream (its stream ids come back bare: the caller knows the level)."""
    return [k.level_stream(level)], [GROUP, consumer, min_idle_ms, cursor, count]


@dataclass(frozen=True, slots=True)
class Reclaimed:
    stream_id: str
    envelope: str | None
    deliveries: int


def parse_reclaim(reply: Any) -> tuple[str, list[Reclaimed]]:
    cursor, entries = reply
    out = [Reclaimed(sid, env or None, int(count)) for sid, env, count in entries]
    return cursor, out


def status(k: QueueKeys, job_id: str) -> Call:
    return [k.jobs, k.stream, k.result(job_id), *level_block(k)], [GROUP, job_id]


def cancel(k: QueueKeys, job_id: str, ttl: int, blob: str) -> Call:
    keys = [k.jobs, k.stream, k.scheduled, k.delayed, k.result(job_id), k.waiters, k.notify(job_id)]
    return [*keys, k.links, k.outbox, *level_block(k)], [GROUP, job_id, ttl, blob]


def requeue_dead(k: QueueKeys, items: Sequence[tuple[str, str, str]]) -> Call:
    keys = [k.dead, k.dead_index, k.stream, k.jobs]
    args: list[Any] = []
    for job_id, dead_id, envelope in items:
        args += [job_id, dead_id, envelope]
        keys.append(k.result(job_id))
    return [*keys, *level_block(k)], args


@dataclass(frozen=True, slots=True)
class PurgeBatch:
    """What purge.lua is to remove, read just before: undelivered entries (with the job id
    each claims, None when unreadable) and scheduled job ids."""

    queued: Sequence[tuple[str, str | None]]
    scheduled: Sequence[str]
    level: int = DEFAULT_PRIORITY  # the priority level whose stream `queued` are on


def claimed_id(raw: str | None) -> str | None:
    """The job id a stream entry's envelope text names, without verifying anything."""
    try:
        body = json.loads(raw) if raw is not None else None
    except (ValueError, RecursionError):
        return None
    job_id = body.get("id") if isinstance(body, dict) else None
    return job_id if isinstance(job_id, str) else None


def purge(k: QueueKeys, batch: PurgeBatch, ttl: int, blob: str) -> Call:
    keys = [k.level_stream(batch.level), k.jobs, k.scheduled, k.delayed, k.waiters]
    named = [(sid, job_id) for sid, job_id in batch.queued if job_id is not None]
    unnamed = [sid for sid, job_id in batch.queued if job_id is None]
    args: list[Any] = [GROUP, ttl, blob, len(named), len(unnamed), batch.level]
    for sid, job_id in named:
        args += [sid, job_id]
    args += unnamed
    args += batch.scheduled
    for job_id in [job_id for _, job_id in named] + list(batch.scheduled):
        keys += [k.result(job_id), k.notify(job_id)]
    return keys, args


# flow control ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Limited:
    """One entry about to start under a rate limit and/or a concurrency cap (flow_acquire)."""

    stream_id: str
    job_id: str
    limiter: str  # keys.limiter_id(task, key)
    rate_count: int = 0  # 0: no rate limit
    rate_period_ms: int = 0
    cap: int = 0  # 0: no concurrency cap
    cap_limiter: str = ""


def flow_acquire(k: QueueKeys, entries: Sequence[Limited], lease_ms: int, lead_ms: int) -> Call:
    keys: list[str] = []
    index: dict[str, int] = {}

    def at(key: str) -> int:
        if key not in index:
            keys.append(key)
            index[key] = len(keys)
        return index[key]

    args: list[Any] = [lease_ms, lead_ms]
    for e in entries:
        rate = at(k.rate(e.limiter)) if e.rate_count else 0
        slots = at(k.slots(e.cap_limiter)) if e.cap else 0
        args += [e.stream_id, rate, e.job_id, e.rate_count, e.rate_period_ms, slots, e.cap]
    return keys, args


def parse_flow_acquire(reply: Any) -> list[tuple[str, int]]:
    """(why, ms) per entry: ("", 0) start it, ("w", ms) ask again then, ("r" | "c", ms) defer
    it that long (rate limit | concurrency cap)."""
    return [(str(reply[i]), int(reply[i + 1])) for i in range(0, len(reply), 2)]


# workflows -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Admit:
    """One item for wf_admit.lua: op wait / run / cancel / link (see its header)."""

    op: str
    job_id: str
    workflow_id: str
    x: str = ""


def wf_admit(k: QueueKeys, items: Sequence[Admit], ttl: int) -> Call:
    keys = [k.stream, k.jobs, k.links, k.outbox]
    args: list[Any] = []
    for item in items:
        args += [item.op, item.job_id, item.workflow_id, item.x]
        if item.op in ("cancel", "link"):
            keys.append(k.result(item.job_id))
    return [*keys, *level_block(k)], [*args, ttl]


Member = tuple[str, str, str, str]  # job id, its index in the workflow, state, value JSON


def wf_apply(state_key: str, records: Sequence[Member], created: bool = False) -> Call:
    flat: list[Any] = []
    for record in records:
        flat += record
    return [state_key], [_json_array(flat), "1" if created else "0"]


@dataclass(frozen=True, slots=True)
class Applied:
    """What wf_apply.lua answered: the counts, and (op, spec JSON, input) actions."""

    members: int
    succeeded: int
    failed: int
    actions: list[tuple[str, str, str]]


def parse_wf_apply(reply: Any) -> Applied:
    n, ok, failed, actions = reply
    return Applied(int(n), int(ok), int(failed), [(str(a), str(b), str(c)) for a, b, c in actions])
