"""Run one attempt of a job and classify how it ended. No Redis here."""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from jobq.envelope import Envelope, encode_value
from jobq.errors import JobCancelled, JobTimeout, Reject, Retry, SerializationError
from jobq.job import JobInfo, _current
from jobq.retry import Decision, Outcome
from jobq.states import OutcomeKind
from jobq.task import Task


@dataclass(slots=True)
class Finished:
    """The end of one attempt: the outcome for the decision table plus what to store."""

    outcome: Outcome
    result_json: str = "null"
    error: str = ""
    traceback: str = ""
    exc: BaseException | None = None  # what the attempt raised, for middleware hooks
    decision: Decision | None = None  # decided in the run's context when middleware is installed


OK_NULL = Finished(Outcome(OutcomeKind.OK))


def _error_text(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def classify(exc: BaseException, task: Task[Any, Any], env: Envelope) -> Finished:
    """Turn an exception raised by (or around) a run into a Finished."""
    fin = _classified(exc, task, env)
    fin.exc = exc
    return fin


def _classified(exc: BaseException, task: Task[Any, Any], env: Envelope) -> Finished:
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    error = _error_text(exc)
    if isinstance(exc, Retry):
        return Finished(Outcome(OutcomeKind.RETRY, delay=exc.delay, reason=error), error=error, traceback=tb)
    if isinstance(exc, Reject):
        return Finished(Outcome(OutcomeKind.REJECT, reason=exc.reason), error=error, traceback=tb)
    if isinstance(exc, JobCancelled) and not exc.job_id:  # this run's stop, not another job's result()
        return Finished(Outcome(OutcomeKind.CANCELLED, reason="cancelled"), error=error)
    if isinstance(exc, TypeError) and not _binds(task, env):
        reason = f"wrong arguments for {task.name}: {exc}"
        return Finished(Outcome(OutcomeKind.BAD_CALL, reason=reason), error=error, traceback=tb)
    if isinstance(exc, JobTimeout):
        retryable = isinstance(exc, task.options.retry_on) or TimeoutError in task.options.retry_on
        return Finished(
            Outcome(OutcomeKind.ERROR, retryable=retryable, reason=error), error=error, traceback=tb
        )
    retryable = isinstance(exc, task.options.retry_on)
    return Finished(Outcome(OutcomeKind.ERROR, retryable=retryable, reason=error), error=error, traceback=tb)


def _binds(task: Task[Any, Any], env: Envelope) -> bool:
    try:
        task.signature.bind(*env.args, **env.kwargs)
    except TypeError:
        return False
    return True


def succeeded(value: Any) -> Finished:
    if value is None:
        return OK_NULL
    try:
        return Finished(Outcome(OutcomeKind.OK), result_json=encode_value(value))
    except SerializationError as exc:
        error = f"SerializationError: {exc}"
        return Finished(Outcome(OutcomeKind.REJECT, reason=f"result not serializable: {exc}"), error=error)


def info_for(env: Envelope, queue: str, attempt: int, report: Callable[[str], None] | None = None) -> JobInfo:
    if env.headers:
        headers = MappingProxyType(env.headers)
        return JobInfo(env.id, env.task, queue, attempt, env.enqueued_at, report, headers)
    return JobInfo(env.id, env.task, queue, attempt, env.enqueued_at, report)


def run_sync(task: Task[Any, Any], env: Envelope, info: JobInfo) -> Finished:
    """Run a sync task in the calling thread (the runner gives each one a thread)."""
    token = _current.set(info)
    try:
        value = task.fn(*env.args, **env.kwargs)
    except BaseException as exc:
        return classify(exc, task, env)
    finally:
        _current.reset(token)
    return succeeded(value)


async def run_async(task: Task[Any, Any], env: Envelope, info: JobInfo) -> Finished:
    """Run an async task on the worker's event loop (called inside its own asyncio Task)."""
    _current.set(info)
    try:
        value = await task.fn(*env.args, **env.kwargs)
    except asyncio.CancelledError:
        raise  # the worker cancelled it (timeout, cancel); it knows why
    except BaseException as exc:
        return classify(exc, task, env)
    return succeeded(value)
