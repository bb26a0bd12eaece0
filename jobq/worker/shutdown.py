"""How a worker stops: the first SIGTERM/SIGINT drains, a second one (or SIGQUIT) stops now.

Jobs a worker gives up on, at a second signal or when the shutdown timeout runs out, are
*released*: each goes back on its queue as a fresh entry of the same attempt, so another
worker starts it at once instead of after the visibility timeout, and the run that was
stopped does not count against the job's retries. The operator stopped it, the job did not
fail; a job that crashes its worker still counts (that path never reaches here).
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable

import structlog

from jobq.envelope import encode
from jobq.errors import JobCancelled
from jobq.protocol import Settlement
from jobq.states import SettleOp
from jobq.worker.held import Held
from jobq.worker.running import Runner
from jobq.worker.settler import NO_LIMIT, Settler, cancelled_outcome

log = structlog.get_logger("jobq.worker")

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
HURRY_SIGNAL = signal.SIGQUIT  # "stop now", also sent by the pool to its workers
ABANDONED = "abandoned"


class StopSignals:
    """A worker's signal handlers. In a pool only the supervisor counts signals (Ctrl-C reaches
    every process of the group, and the supervisor passes it on): its workers drain on any
    SIGTERM/SIGINT and stop now on SIGQUIT. A worker on its own counts them itself."""

    def __init__(
        self, stop: Callable[[str], None], hurry: Callable[[str], None], *, repeat_hurries: bool
    ) -> None:
        self.stop = stop
        self.hurry = hurry
        self.repeat_hurries = repeat_hurries
        self.received = 0

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        for sig in STOP_SIGNALS:
            loop.add_signal_handler(sig, self.on_stop, signal.Signals(sig).name)
        loop.add_signal_handler(HURRY_SIGNAL, self.hurry, HURRY_SIGNAL.name)

    def on_stop(self, name: str) -> None:
        self.received += 1
        if self.received > 1 and self.repeat_hurries:
            self.hurry(f"second {name}")
        else:
            self.stop(name)


def drain_note(in_flight: int, timeout: float) -> str:
    jobs = "1 job" if in_flight == 1 else f"{in_flight} jobs"
    return f"finishing {jobs}, up to {timeout:g} s; press Ctrl-C again to stop now"


def release(h: Held, delay_ms: int = 0) -> Settlement:
    """Put the entry back as a new one whose next run is this same attempt (after
    `delay_ms`: a job deferred by a rate limit or concurrency cap)."""
    prior = h.attempt - 1
    raw = h.raw
    if prior != h.env.prior_attempts:  # delivered more than once: keep the crashes counted
        raw = encode(h.env.with_prior_attempts(prior), NO_LIMIT, h.task.app.config.signing_key)
    ttl = h.task.options.result_ttl
    cancelled = cancelled_outcome(h, prior)
    link = h.env.workflow
    return Settlement(SettleOp.RETRY, h.stream_id, h.env.id, ttl, raw, str(delay_ms), cancelled, link)


def abandon_unfinished(runner: Runner, held: dict[str, Held], settler: Settler, why: str) -> int:
    """Stop every held job not finished yet and release it; returns how many."""
    runner.ready.clear()
    abandoned = 0
    for h in list(held.values()):
        if h.finished:
            continue  # its outcome is already on its way to Redis
        h.stop_reason = ABANDONED
        if h.timer is not None:
            h.timer.cancel()
        if h.atask is not None:
            h.atask.cancel()
        elif h.slot is not None:
            h.slot.interrupt(JobCancelled)
        held.pop(h.stream_id, None)
        settler.add(h.queue, release(h), {})
        log.warning(
            "job.abandoned",
            **h.log_fields(),
            why=why,
            note="released: another worker starts it at once, as the same attempt",
        )
        abandoned += 1
    return abandoned
