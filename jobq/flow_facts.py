"""What `jobq explain` says of a job flow control holds back: a rate limit that deferred it
(its reserved slot) or a concurrency cap whose slots are all taken."""

from __future__ import annotations

from typing import Any

from jobq.app import App
from jobq.envelope import Envelope
from jobq.keys import limiter_id


def limits(app: App, queue: str, job_id: str, env: Envelope) -> dict[str, Any]:
    """JobFacts fields: reserved_at, holders, and (when the app knows the task) its limits."""
    reserved, holders = app.broker.limit_facts(
        queue, job_id, limiter_id(env.task, env.rate_key), limiter_id(env.task, env.cap_key)
    )
    task = app.tasks.get(env.task)
    rate = str(task.options.rate) if task and task.options.rate else ""
    cap = (task.options.concurrency or 0) if task else 0
    return {"reserved_at": reserved, "holders": holders, "rate": rate, "cap": cap, "cap_key": env.cap_key}


def held_back(
    task: str, reserved_at: str | None, holders: int, rate: str, cap: int, cap_key: str
) -> list[str]:
    """Why a scheduled job was deferred by flow control, if it was (pure; `reserved_at` is
    the reserved slot's time as shown)."""
    if reserved_at is not None:
        limit = f"rate limit {rate}" if rate else "rate limit"
        return [f"deferred: {limit} on {task} reached; its slot is reserved for {reserved_at}"]
    if cap and holders >= cap:
        whose = f"{task} {cap_key}" if cap_key else task
        return [f"waiting: {holders} of {cap} slots for {whose} in use"]
    return []
