"""Attempts run through the app's middleware (see jobq.middleware for the hooks' contract).

Only used when some middleware has a worker-side hook: without one the Runner calls
execute.run_sync / run_async directly, so an app without middleware pays nothing.

Everything here runs in the attempt's own context (the task's thread, or its asyncio
task), so a hook may set context variables (a tracing span, structlog fields) for the task
to see and reset them after. The retry-or-dead-letter decision is made here too, once, so
that on_retry / on_dead_letter / after_run report what the settler will then write.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from typing import Any

from jobq.envelope import Envelope
from jobq.errors import JobCancelled, JobTimeout, Reject, Retry
from jobq.execute import Finished, classify, run_async, run_sync
from jobq.job import JobInfo
from jobq.middleware import Chain, RunOutcome, guarded, log
from jobq.retry import Cancel, DeadLetter, RetryIn, decide
from jobq.task import Task

# Raised in before_run on purpose (Retry, Reject), or injected into a sync run's thread by
# its timeout or cancel while a hook runs: these decide the attempt, never "a broken hook".
DECISIVE = (Retry, Reject, JobTimeout, JobCancelled)


class RunHooks:
    def __init__(self, chain: Chain, rng: random.Random | None = None) -> None:
        self.before_run = tuple(chain.hooks["before_run"])
        self.on_error = tuple(reversed(chain.hooks["on_error"]))
        self.on_retry = tuple(reversed(chain.hooks["on_retry"]))
        self.on_dead_letter = tuple(reversed(chain.hooks["on_dead_letter"]))
        self.after_run = tuple(reversed(chain.hooks["after_run"]))
        self.rng = rng or random.Random()

    @classmethod
    def of(cls, chain: Chain) -> RunHooks | None:
        return cls(chain) if chain.runs else None

    def run_sync(self, task: Task[Any, Any], env: Envelope, info: JobInfo) -> Finished:
        """One sync attempt with its hooks, on the task's thread."""
        started = time.monotonic()
        fin = self.before(task, env, info) or run_sync(task, env, info)
        return self.after(task, info, fin, started)

    async def run_async(
        self, task: Task[Any, Any], env: Envelope, info: JobInfo, stopped: Callable[[], Finished]
    ) -> Finished:
        """One async attempt with its hooks; `stopped()` says how a cancelled run ended."""
        started = time.monotonic()
        fin = self.before(task, env, info)
        if fin is None:
            try:
                fin = await run_async(task, env, info)
            except asyncio.CancelledError:
                fin = stopped()
        return self.after(task, info, fin, started)

    def before(self, task: Task[Any, Any], env: Envelope, info: JobInfo) -> Finished | None:
        """Run before_run hooks; a Finished if one refused the attempt, else None."""
        for hook in self.before_run:
            try:
                hook(info)
            except DECISIVE as exc:
                return classify(exc, task, env)
            except Exception as exc:
                log.error("middleware.failed", hook=hook.__qualname__, job_id=info.id, error=repr(exc))
        return None

    def after(self, task: Task[Any, Any], info: JobInfo, fin: Finished, started: float) -> Finished:
        duration = time.monotonic() - started
        if fin.outcome.kind == "ok":
            outcome = RunOutcome("succeeded", duration)
        else:
            outcome = self._failed(task, info, fin, duration)
            fin.exc = None  # do not keep the frames alive until the settle
        for hook in self.after_run:
            try:
                hook(info, outcome)
            except Exception as exc:  # as in middleware.guarded, without a call per job
                log.error("middleware.failed", hook=hook.__qualname__, job_id=info.id, error=repr(exc))
        return fin

    def _failed(self, task: Task[Any, Any], info: JobInfo, fin: Finished, duration: float) -> RunOutcome:
        decision = decide(fin.outcome, info.attempt, task.policy, self.rng)
        fin.decision = decision
        error = fin.exc
        if error is not None and not isinstance(decision, Cancel):
            for hook in self.on_error:
                guarded(hook, info.id, info, error)
        if isinstance(decision, RetryIn):
            for hook in self.on_retry:
                guarded(hook, info.id, info, error, decision.delay)
            return RunOutcome("retrying", duration, error, retry_in=decision.delay)
        if isinstance(decision, DeadLetter):
            for hook in self.on_dead_letter:
                guarded(hook, info.id, info, decision.reason, error)
            return RunOutcome("dead", duration, error, reason=decision.reason)
        return RunOutcome("cancelled", duration, error)
