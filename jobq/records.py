"""What jobq stores in Redis, record by record: the one place each format is typed.

jobq.keys names the keys; this module says what they hold. Python code reads and writes
these formats through the names here, and the Lua scripts get them at load time through
``{{NAME}}`` placeholders filled from jobq.luascripts.LUA_VALUES, so a marker, field
or member name is never typed twice (tests/test_record_formats.py checks). Pure.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from jobq.flow import DEFAULT_PRIORITY
from jobq.states import JobStatus

if TYPE_CHECKING:
    from jobq.envelope import Envelope

# The jobs hash (ns:{q}:jobs): job id -> one marker letter, then the detail ----------------

QUEUED: Final = "Q"  # Q<stream id>: its entry is in the work stream (waiting or running)
SCHEDULED: Final = "S"  # S<due ms>: waiting in the scheduled set until that time
CANCEL_ASKED: Final = "X"  # X<stream id>: running, and its worker was asked to stop it
WAITING: Final = "W"  # W<workflow id>: waiting for the jobs before it (jobq.workflow)


def job_record(record: str) -> tuple[str, str]:
    """(marker, detail) of a jobs-hash value: ("Q", "1700000000000-0")."""
    return record[:1], record[1:]


# Priority levels: a job at a level other than the default names it ------------------

LEVEL_SEP: Final = "/"
"""A job record's detail (stream id or due ms), or a worker's reference to a held entry,
at a level other than the default: "<level>/<detail>" ("9/1700000000000-0"). At the
default level it is the bare detail, as before priorities existed. Stream ids of two level
streams may be equal, so the worker keys what it holds by this reference, never a bare id."""


def at_level(level: int, detail: str) -> str:
    """`detail` as recorded at `level`."""
    return detail if level == DEFAULT_PRIORITY else f"{level}{LEVEL_SEP}{detail}"


def level_of(detail: str) -> tuple[int, str]:
    """(level, bare detail) of a recorded detail or entry reference."""
    level, sep, rest = detail.partition(LEVEL_SEP)
    if not sep:
        return DEFAULT_PRIORITY, detail
    return int(level), rest


# Stream entries: the work stream and the dead-letter stream ----------------------------

ENTRY_ENVELOPE: Final = "j"  # the job's envelope text (work and dead-letter entries)
ENTRY_DEAD_DETAILS: Final = "d"  # dead letters: JSON of reason, error, traceback, attempts...


# A queue's outbox (ns:{q}:outbox): "member finished" records of workflow jobs ------------

# One entry per settle (or cancel): the jobs it finished that workflows wait to hear of.
OUTBOX_MEMBERS: Final = "m"  # JSON array of [job id, its workflow links space-separated, outcome]


def link_of(workflow: str, index: int) -> str:
    """A job's link to a workflow (envelopes carry one; ns:{q}:links holds these, space-
    separated): the workflow id and the job's index among its members, so applying it
    needs no lookup."""
    return f"{workflow}/{index}"


def unlink(link: str) -> tuple[str, str]:
    """(workflow id, member index) of a link; index "0" for a link without one."""
    workflow, _, index = link.partition("/")
    return workflow, index or "0"


# The stored outcome of a finished job (ns:{q}:result:<id>): one JSON object -------------

OUTCOME_STATE: Final = "s"  # succeeded / dead / cancelled / expired
OUTCOME_RESULT: Final = "r"  # the return value (succeeded)
OUTCOME_ERROR: Final = "e"  # the error, one line
OUTCOME_TRACEBACK: Final = "tb"
OUTCOME_REASON: Final = "why"  # why it is dead
OUTCOME_ATTEMPTS: Final = "n"  # attempts made
OUTCOME_ENDED_MS: Final = "t1"  # when the last attempt ended (Unix ms)
OUTCOME_TOOK_US: Final = "d"  # how long it ran (µs)
OUTCOME_ENVELOPE: Final = "j"  # the envelope it ran with, a JSON object spliced in as is
OUTCOME_MEMBERS: Final = (
    *(OUTCOME_STATE, OUTCOME_RESULT, OUTCOME_ERROR, OUTCOME_TRACEBACK, OUTCOME_REASON),
    *(OUTCOME_ATTEMPTS, OUTCOME_ENDED_MS, OUTCOME_TOOK_US, OUTCOME_ENVELOPE),
)
OUTCOME_ENVELOPE_MAX: Final = 1024  # longest envelope kept whole; past it, no arguments
OUTCOME_CUT: Final = "cut"  # member of a kept envelope whose arguments were left out: its size

_OK_HEAD: Final = f'{{"{OUTCOME_STATE}":"{JobStatus.SUCCEEDED.value}","{OUTCOME_ATTEMPTS}":'
_OK_ENDED: Final = f',"{OUTCOME_ENDED_MS}":'
_OK_TOOK: Final = f',"{OUTCOME_TOOK_US}":'
_OK_ENVELOPE: Final = f',"{OUTCOME_ENVELOPE}":'
_OK_RESULT: Final = f',"{OUTCOME_RESULT}":'


def succeeded_blob(attempts: int, ended_ms: int, took_us: int, envelope: str, result_json: str) -> str:
    """The outcome of a job that succeeded. The worker's hot path: one f-string of pieces
    made once, no dict, no json.dumps. `envelope` as kept_text() returns it."""
    ran = f"{_OK_HEAD}{attempts}{_OK_ENDED}{ended_ms}{_OK_TOOK}{took_us}"
    return f"{ran}{_OK_ENVELOPE}{envelope}{_OK_RESULT}{result_json}}}"


def outcome_blob(
    state: JobStatus,
    envelope: str | None = None,
    *,
    error: str | None = None,
    traceback: str | None = None,
    reason: str | None = None,
    attempts: int | None = None,
    ended_ms: int | None = None,
    took_us: int | None = None,
) -> str:
    """Any other outcome (dead, cancelled, expired), with the members given. `envelope` is
    the envelope's text as kept (kept_text, a JSON object): spliced in as it is, so task
    and arguments stay readable without re-encoding them."""
    given = (
        (OUTCOME_ERROR, error),
        (OUTCOME_TRACEBACK, traceback),
        (OUTCOME_REASON, reason),
        (OUTCOME_ATTEMPTS, attempts),
        (OUTCOME_ENDED_MS, ended_ms),
        (OUTCOME_TOOK_US, took_us),
    )
    members: dict[str, Any] = {OUTCOME_STATE: state, **{m: v for m, v in given if v is not None}}
    text = json.dumps(members, separators=(",", ":"), default=str)
    return text if envelope is None else f'{text[:-1]},"{OUTCOME_ENVELOPE}":{envelope}}}'


CANCELLED_BLOB: Final = outcome_blob(JobStatus.CANCELLED)  # cancelled before it ran (by a script)


def parse_outcome(blob: str) -> dict[str, Any]:
    """The members of a stored outcome ({} when it is not a JSON object)."""
    data = json.loads(blob)
    return data if isinstance(data, dict) else {}


def outcome_state(outcome: Mapping[str, Any]) -> str:
    """The state a stored outcome records (succeeded when it does not say)."""
    return str(outcome.get(OUTCOME_STATE, JobStatus.SUCCEEDED.value))


def kept_text(raw: str, env: Envelope) -> str:
    """The envelope a finished job's outcome keeps (for result_ttl): `raw` itself up to
    OUTCOME_ENVELOPE_MAX characters; past that the envelope without its arguments and with
    their size as member `cut`, so large payloads do not hold Redis memory after their job
    finished (store_outcome.lua does the same for outcomes written by scripts)."""
    if len(raw) <= OUTCOME_ENVELOPE_MAX:
        return raw
    from jobq.envelope import encode  # here: reading stats needs records, not envelopes

    bare = encode(dataclasses.replace(env, args=(), kwargs={}), len(raw))
    return f'{bare[:-1]},"{OUTCOME_CUT}":{len(raw)}}}'


# The counters hash of a queue (ns:{q}:counters): totals the settle step adds to ---------

PROCESSED: Final = "processed"  # runs that succeeded; also per task, as processed:<task>
FAILED: Final = "failed"  # runs that raised, asked to retry or rejected; failed:<task>
EXPIRED: Final = "expired"  # jobs closed unrun because their expiry passed; expired:<task>
THROTTLED: Final = "throttled"  # starts deferred by a rate limit; throttled:<task>
CAPPED: Final = "capped"  # starts deferred by a concurrency cap; capped:<task>
DURATION_COUNT: Final = "dcount"  # dcount:<task>: runs timed
DURATION_SUM_US: Final = "dsum_us"  # dsum_us:<task>: their total time, microseconds
DURATION_BUCKET: Final = "dle"  # dle:<task>:<bound>: runs that took <= bound (and > the one before)
DURATION_BOUNDS: Final[tuple[float, ...]] = (
    *(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5),
    *(1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0),
)
"""Upper bounds (seconds) of the run-duration buckets; a last bucket, "inf", takes the rest."""

PER_TASK: Final = (PROCESSED, FAILED, DURATION_COUNT, DURATION_SUM_US)
BUCKET_NAMES: Final = (*(f"{b:g}" for b in DURATION_BOUNDS), "inf")


@dataclass(frozen=True, slots=True)
class TaskCounters:
    """The counter fields of one task, made once per task rather than once per job."""

    count: str
    sum_us: str
    buckets: tuple[str, ...]  # one per bound of DURATION_BOUNDS, then "inf"
    processed: str
    failed: str

    @classmethod
    def of(cls, task: str) -> TaskCounters:
        buckets = tuple(f"{DURATION_BUCKET}:{task}:{name}" for name in BUCKET_NAMES)
        return cls(
            f"{DURATION_COUNT}:{task}",
            f"{DURATION_SUM_US}:{task}",
            buckets,
            f"{PROCESSED}:{task}",
            f"{FAILED}:{task}",
        )


def task_counter(field: str) -> tuple[str, str, float | None] | None:
    """(kind, task, bucket bound or None) of a per-task counter field; None for a queue
    total or a field jobq does not write."""
    kind, sep, task = field.partition(":")
    if not sep or not task:
        return None
    if kind in PER_TASK:
        return kind, task, None
    if kind != DURATION_BUCKET:
        return None
    task, _, bound_text = task.rpartition(":")
    try:
        bound = math.inf if bound_text == "inf" else float(bound_text)
    except ValueError:
        return None
    return (kind, task, bound) if task else None
