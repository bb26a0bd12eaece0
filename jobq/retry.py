"""Pure retry policy: how long to back off, and what to do with a finished attempt."""

from __future__ import annotations

import random
from dataclasses import dataclass

from jobq.states import OutcomeKind


@dataclass(frozen=True, slots=True)
class Ack:
    """The attempt succeeded; settle and keep the result."""


@dataclass(frozen=True, slots=True)
class RetryIn:
    """Run the job again after `delay` seconds."""

    delay: float


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """Give up: move the job to the dead-letter stream with this reason."""

    reason: str


@dataclass(frozen=True, slots=True)
class Cancel:
    """The job was cancelled while it ran; record that and do not retry."""


Decision = Ack | RetryIn | DeadLetter | Cancel


@dataclass(frozen=True, slots=True)
class Policy:
    """A task's retry settings."""

    retries: int = 3
    backoff: float = 1.0
    backoff_max: float = 3600.0


def backoff(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Exponential backoff with equal jitter: a value in [d/2, d], d = min(cap, base*2^(n-1)).

    Half the delay is kept so a retry storm still spreads out but never fires at once.
    """
    exponent = min(max(attempt - 1, 0), 62)
    ceiling = min(cap, base * (2.0**exponent))
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


def attempts_left(attempt: int, policy: Policy) -> bool:
    """Whether a job that just finished attempt number `attempt` may run again."""
    return attempt <= policy.retries


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one attempt ended, as seen by the decision table."""

    kind: OutcomeKind
    retryable: bool = False  # for "error": does the exception match retry_on
    delay: float | None = None  # for "retry": the delay the task asked for
    reason: str = ""


def decide(outcome: Outcome, attempt: int, policy: Policy, rng: random.Random) -> Decision:
    """The decision table for one finished attempt.

    =========== ============================ ===============================================
    outcome     attempts left                decision
    =========== ============================ ===============================================
    ok          any                          Ack
    cancelled   any                          Cancel
    reject      any                          DeadLetter("rejected: <reason>")
    bad_call    any                          DeadLetter(<reason>)  (retrying cannot help)
    error       retryable and left           RetryIn(backoff(attempt))
    error       not retryable                DeadLetter("not retryable: <reason>")
    error       none left                    DeadLetter("retries exhausted: <reason>")
    retry       left                         RetryIn(requested delay, else backoff)
    retry       none left                    DeadLetter("retries exhausted: <reason>")
    =========== ============================ ===============================================
    """
    kind = outcome.kind
    if kind == OutcomeKind.OK:
        return Ack()
    if kind == OutcomeKind.CANCELLED:
        return Cancel()
    if kind == OutcomeKind.REJECT:
        return DeadLetter(f"rejected: {outcome.reason}")
    if kind == OutcomeKind.BAD_CALL:
        return DeadLetter(outcome.reason)
    if kind == OutcomeKind.ERROR and not outcome.retryable:
        return DeadLetter(f"not retryable: {outcome.reason}")
    if not attempts_left(attempt, policy):
        return DeadLetter(f"retries exhausted after {attempt} attempts: {outcome.reason}")
    if kind == OutcomeKind.RETRY and outcome.delay is not None:
        return RetryIn(max(0.0, outcome.delay))
    return RetryIn(backoff(attempt, policy.backoff, policy.backoff_max, rng))
