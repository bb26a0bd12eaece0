"""Whether a delivered entry may run: decoded, verified, a task this worker knows, and
under its attempt cap. An entry that must not run is dead-lettered at once, never run.

No Redis here: `admit` answers a Held to queue or a Refusal, and `refusal_settlement` is
the settlement that dead-letters a refused entry.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from jobq.app import App
from jobq.envelope import DecodeError, Envelope, decode
from jobq.protocol import Settlement
from jobq.worker.held import Held
from jobq.worker.settler import Origin, dead_letter

log = structlog.get_logger("jobq.worker")

DEFAULT_RESULT_TTL = 86400  # for entries whose task is unknown, so no task says otherwise


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why an entry must not run, and what its dead letter records."""

    raw: str
    env: Envelope | None
    attempts: int
    reason: str
    ttl: int = DEFAULT_RESULT_TTL
    failed: int = 0  # counted as a failed run (a poisoned job's lost attempt)


def admit(
    app: App, queue: str, stream_id: str, raw: str | None, deliveries: int, now: float
) -> Held | Refusal:
    """Held (ready to run) or Refusal: undecodable, unknown task, or past its attempts."""
    try:
        if raw is None:
            raise DecodeError("undecodable payload: entry has no envelope field")
        env = decode(raw, app.config.signing_key)
    except DecodeError as exc:
        log.error("job.undecodable", queue=queue, stream_id=stream_id, error=str(exc))
        return Refusal(raw or "", exc.unverified, deliveries, str(exc))
    attempt = env.prior_attempts + deliveries
    task = app.tasks.get(env.task)
    if task is None:
        log.error("job.unknown_task", job_id=env.id, task=env.task, queue=queue)
        return Refusal(raw, env, attempt, f"unknown task {env.task!r}: not registered in this worker")
    max_attempts = task.options.retries + 1
    if attempt > max_attempts:
        log.error("job.poisoned", job_id=env.id, task=env.task, queue=queue, attempt=attempt)
        reason = (
            f"worker lost during attempt {attempt - 1} of {max_attempts} "
            "(crash, os._exit, OOM kill or timeout of the whole process)"
        )
        return Refusal(raw, env, attempt - 1, reason, task.options.result_ttl, failed=1)
    if deliveries > 1:
        log.warning("job.reclaimed", job_id=env.id, task=env.task, queue=queue, attempt=attempt)
    return Held(queue, stream_id, raw, env, task, attempt, now, now)


def refusal_settlement(queue: str, stream_id: str, r: Refusal, origin: Origin) -> Settlement:
    """The settlement that dead-letters a refused entry."""
    return dead_letter(queue, stream_id, r.raw, r.env, r.attempts, r.reason, r.reason, "", origin, r.ttl)
