"""The dead-letter stream of a queue: read its entries, replay them, empty it.

A replayed job leaves the dead-letter stream and is queued again under its own id with
its attempts counted afresh, in one script step (requeue_dead.lua), so its status is
`queued` as soon as the call returns.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from jobq import records
from jobq.broker import Broker
from jobq.envelope import DecodeError, Envelope, decode, encode

BATCH = 100
_NO_LIMIT = 1 << 62  # the payload was accepted once already; never refuse it on replay


@dataclass(frozen=True)
class DeadJob:
    """One entry of a dead-letter stream."""

    entry_id: str
    id: str
    task: str
    reason: str
    error: str
    traceback: str
    attempts: int
    worker: str
    host: str
    time: float
    envelope: Envelope | None

    def to_json(self, *, full: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "entry_id": self.entry_id,
            "task": self.task,
            "reason": self.reason,
            "error": self.error,
            "attempts": self.attempts,
            "time": self.time,
            "worker": self.worker,
            "host": self.host,
        }
        if full:
            out["traceback"] = self.traceback
            out["args"] = list(self.envelope.args) if self.envelope else None
            out["kwargs"] = dict(self.envelope.kwargs) if self.envelope else None
            out["enqueued_at"] = self.envelope.enqueued_at if self.envelope else None
        return out


def parse_entry(entry_id: str, fields: dict[str, str], key: bytes | None = None) -> DeadJob:
    """A DeadJob from the stream entry's fields `j` (envelope) and `d` (details JSON);
    with a signing `key`, an envelope whose signature does not verify counts as undecodable."""
    try:
        details = json.loads(fields.get(records.ENTRY_DEAD_DETAILS) or "{}")
    except ValueError:
        details = {}
    if not isinstance(details, dict):
        details = {}
    try:
        env: Envelope | None = decode(fields.get(records.ENTRY_ENVELOPE) or "", key)
    except DecodeError:
        env = None
    return DeadJob(
        entry_id=entry_id,
        id=str(details.get("id") or (env.id if env else "")),
        task=str(details.get("task") or (env.task if env else "")),
        reason=str(details.get("reason", "")),
        error=str(details.get("error", "")),
        traceback=str(details.get("traceback", "")),
        attempts=int(details.get("attempts") or 0),
        worker=str(details.get("worker", "")),
        host=str(details.get("host", "")),
        time=float(details.get("time") or 0.0),
        envelope=env,
    )


def list_dead(broker: Broker, queue: str, limit: int) -> list[DeadJob]:
    """The oldest `limit` dead jobs of the queue (bounded reads of BATCH entries)."""
    out: list[DeadJob] = []
    start = "-"
    while len(out) < limit:
        want = min(BATCH, limit - len(out))
        entries = broker.dead_entries(queue, start, want)
        out += [parse_entry(eid, fields) for eid, fields in entries]
        if len(entries) < want:
            break
        start = f"({entries[-1][0]}"
    return out


def find_dead(broker: Broker, queue: str, job_or_entry_id: str) -> DeadJob | None:
    """A dead job by its job id, or by its entry id (entries without a decodable id)."""
    found = broker.dead_entry_of(queue, job_or_entry_id)
    if found is None and _looks_like_entry_id(job_or_entry_id):
        entries = broker.dead_entries(queue, job_or_entry_id, 1)
        found = entries[0] if entries and entries[0][0] == job_or_entry_id else None
    return parse_entry(*found) if found else None


def _looks_like_entry_id(text: str) -> bool:
    ms, _, seq = text.partition("-")
    return ms.isdigit() and seq.isdigit()


def fresh_envelope(dead: DeadJob, key: bytes | None = None) -> str | None:
    """The envelope to replay: the same call and id, no attempts made. None if undecodable."""
    if dead.envelope is None:
        return None
    return encode(dead.envelope.with_prior_attempts(0), _NO_LIMIT, key)


@dataclass
class Replay:
    """What a requeue did: ids requeued, and ids left alone with why."""

    requeued: list[str]
    skipped: list[tuple[str, str]]


def requeue(broker: Broker, queue: str, job_ids: Sequence[str]) -> Replay:
    """Replay these dead jobs (by job id)."""
    result = Replay([], [])
    items: list[tuple[str, str, str]] = []
    for job_id in dict.fromkeys(job_ids):
        dead = broker.dead_entry_of(queue, job_id)
        if dead is None:
            result.skipped.append((job_id, "not in the dead-letter stream"))
            continue
        _add(parse_entry(*dead, broker.config.signing_key), items, result, broker.config.signing_key)
    _replay(broker, queue, items, result)
    return result


def requeue_all(broker: Broker, queue: str, until: str | None = None) -> Replay:
    """Replay every entry up to `until` (default: the newest when the call starts), BATCH
    at a time. Entries dead-lettered meanwhile (a replayed job failing again) are left for
    next time, so a job that always fails cannot keep this loop going.
    """
    result = Replay([], [])
    key = broker.config.signing_key  # replay re-signs, so only what verifies is replayed
    last = until or broker.dead_last_id(queue)
    start = "-"
    while last is not None:
        entries = [(e, f) for e, f in broker.dead_entries(queue, start, BATCH) if _id_key(e) <= _id_key(last)]
        items: list[tuple[str, str, str]] = []
        for entry_id, fields in entries:
            _add(parse_entry(entry_id, fields, key), items, result, key)
        _replay(broker, queue, items, result)
        if len(entries) < BATCH:
            break
        start = f"({entries[-1][0]}"
    return result


def _id_key(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def _add(dead: DeadJob, items: list[tuple[str, str, str]], result: Replay, key: bytes | None) -> None:
    envelope = fresh_envelope(dead, key)
    if envelope is None or not dead.id:
        why = "bad signature or " if key else ""
        result.skipped.append((dead.id or dead.entry_id, f"{why}undecodable payload: cannot be replayed"))
        return
    items.append((dead.id, dead.entry_id, envelope))


def _replay(broker: Broker, queue: str, items: list[tuple[str, str, str]], result: Replay) -> None:
    if not items:
        return
    for (job_id, _, _), done in zip(items, broker.requeue_dead(queue, items), strict=True):
        if done == 1:
            result.requeued.append(job_id)
        elif done == 2:
            result.skipped.append((job_id, "stale: a newer run of this id exists (dead letter removed)"))
        else:
            result.skipped.append((job_id, "left the dead-letter stream meanwhile"))
