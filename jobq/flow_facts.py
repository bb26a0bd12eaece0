"""What `jobq explain` says of a job flow control holds back: its queue is paused, a rate
limit deferred it (to its reserved slot) or a concurrency cap's slots are all taken."""

from __future__ import annotations

from collections.abc import Callable

from jobq.app import App
from jobq.envelope import Envelope
from jobq.keys import limiter_id


def paused(queue: str, since: float | None, when: Callable[[float], str]) -> tuple[str, ...]:
    if since is None:
        return ()
    at = f" since {when(since)}" if since else ""
    return (f"queue paused{at}: no worker starts its jobs (jobq queue resume {queue})",)


def held_back(
    app: App, queue: str, job_id: str, env: Envelope, when: Callable[[float], str]
) -> tuple[str, ...]:
    """Why a scheduled job was deferred by its rate limit or concurrency cap, if it was; the
    limits' values are named when the app knows the task."""
    reserved, holders = app.broker.limit_facts(
        queue, job_id, limiter_id(env.task, env.rate_key), limiter_id(env.task, env.cap_key)
    )
    task = app.tasks.get(env.task)
    rate = task.options.rate if task else None
    cap = (task.options.concurrency or 0) if task else 0
    return sentences(
        env.task, when(reserved) if reserved is not None else None, holders, str(rate or ""), cap, env.cap_key
    )


def sentences(
    task: str, reserved: str | None, holders: int, rate: str, cap: int, cap_key: str
) -> tuple[str, ...]:
    """The explanation (pure): `reserved` is when its reserved rate-limit slot comes."""
    if reserved is not None:
        limit = f"rate limit {rate}" if rate else "rate limit"
        return (f"deferred: {limit} on {task} reached; its slot is reserved for {reserved}",)
    if cap and holders >= cap:
        whose = f"{task} {cap_key}" if cap_key else task
        return (f"waiting: {holders} of {cap} slots for {whose} in use",)
    return ()
