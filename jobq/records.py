"""What jobq stores in Redis, record by record: the one place each format is typed.

jobq.keys names the keys; this module says what they hold. Python code reads and writes
these formats through the names here, and the Lua scripts get them at load time through
``{{NAME}}`` placeholders filled from LUA_VALUES (see jobq.luascripts), so a marker, field
or member name is never typed twice (tests/test_record_formats.py checks). Pure.
"""

from __future__ import annotations

from typing import Final

from jobq.states import JobStatus

# The jobs hash (ns:{q}:jobs): job id -> one marker letter, then the detail ----------------

QUEUED: Final = "Q"  # Q<stream id>: its entry is in the work stream (waiting or running)
SCHEDULED: Final = "S"  # S<due ms>: waiting in the scheduled set until that time
CANCEL_ASKED: Final = "X"  # X<stream id>: running, and its worker was asked to stop it


def job_record(record: str) -> tuple[str, str]:
    """(marker, detail) of a jobs-hash value: ("Q", "1700000000000-0")."""
    return record[:1], record[1:]


# Stream entries: the work stream and the dead-letter stream ----------------------------

ENTRY_ENVELOPE: Final = "j"  # the job's envelope text (work and dead-letter entries)
ENTRY_DEAD_DETAILS: Final = "d"  # dead letters: JSON of reason, error, traceback, attempts...


# The stored outcome of a finished job (ns:{q}:result:<id>): one JSON object -------------

OUTCOME_STATE: Final = "s"  # succeeded / dead / cancelled
OUTCOME_ENVELOPE: Final = "j"  # the envelope it ran with, a JSON object spliced in as is


LUA_VALUES: Final[dict[str, str | int]] = {
    "JOB_QUEUED": QUEUED,
    "JOB_SCHEDULED": SCHEDULED,
    "JOB_CANCEL_ASKED": CANCEL_ASKED,
    "ENTRY_ENVELOPE": ENTRY_ENVELOPE,
    "ENTRY_DEAD_DETAILS": ENTRY_DEAD_DETAILS,
    "OUTCOME_STATE": OUTCOME_STATE,
    "OUTCOME_ENVELOPE_MEMBER": f',"{OUTCOME_ENVELOPE}":',  # spliced in before the closing brace
    "STATUS_DEAD": JobStatus.DEAD.value,
}
"""The values Lua scripts name as {{NAME}}."""
