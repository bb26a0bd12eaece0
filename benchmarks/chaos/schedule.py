"""The fault schedule: a pure function of (seed, seconds), so any run can be replayed.

Faults arrive at random (exponential gaps) between a warm-up and a quiet tail, every kind
once in a random order first, then drawn by weight; at most one
Redis fault (stop or kill) is active at a time, so each outage has one clear start and
end for the checker. Durations are drawn on both sides of the lease: a short outage must
never cost a live worker its jobs, a long one may.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

POOLS = ("direct", "proxied", "skewed")
CHILDREN = {"direct": 2, "proxied": 2, "skewed": 1}

# kind -> relative weight
KINDS: dict[str, float] = {
    "child_kill9": 3.0,
    "pool_kill9": 1.5,
    "pool_term": 1.5,
    "scheduler_kill9": 1.5,
    "redis_stop": 1.5,
    "redis_kill9": 1.5,
    "proxy_cut": 3.0,
    "clock_skew": 1.0,
}
REDIS_KINDS = ("redis_stop", "redis_kill9")
WARMUP_S = 3.0
QUIET_TAIL_S = 3.0
MEAN_GAP_S = 3.5
MIN_GAP_S = 0.5
REDIS_SPACING_S = 1.0  # between the end of one Redis fault and the start of the next


@dataclass(frozen=True)
class Fault:
    """One fault: when (seconds into the run), what, and its parameters."""

    at: float
    kind: str
    target: str = ""  # a pool name, for pool faults
    duration: float = 0.0  # how long the fault lasts before it heals (0: instantaneous)
    amount: float = 0.0  # connections to cut (proxy_cut), clock offset in s (clock_skew)


def _draw(rng: random.Random, kind: str, at: float) -> Fault:
    pool = rng.choice(POOLS)
    if kind == "child_kill9":
        return Fault(at, kind, pool, amount=rng.randrange(CHILDREN[pool]))
    if kind == "pool_kill9":
        return Fault(at, kind, pool, duration=rng.uniform(0.5, 3.0))
    if kind == "pool_term":
        return Fault(at, kind, pool, duration=rng.uniform(0.0, 2.0))
    if kind == "scheduler_kill9":
        return Fault(at, kind, duration=rng.uniform(0.5, 6.0))
    if kind == "redis_stop":
        return Fault(at, kind, duration=rng.uniform(0.5, 7.0))
    if kind == "redis_kill9":
        return Fault(at, kind, duration=rng.uniform(0.3, 4.0))
    if kind == "proxy_cut":
        return Fault(at, kind, amount=float(rng.randint(1, 4)))
    offset = rng.uniform(5.0, 120.0) * rng.choice((-1, 1))
    return Fault(at, "clock_skew", "skewed", amount=round(offset, 1))


def make_schedule(seed: int, seconds: float, mean_gap: float = MEAN_GAP_S) -> list[Fault]:
    """Every fault of a run of `seconds`, in time order; all heal before the quiet tail."""
    rng = random.Random(seed)
    kinds, weights = list(KINDS), list(KINDS.values())
    end = seconds - QUIET_TAIL_S
    faults: list[Fault] = []
    first_round: list[str] | None = rng.sample(kinds, len(kinds))  # every kind early, even in a short run
    t, redis_free_at = WARMUP_S, 0.0
    while True:
        t += max(MIN_GAP_S, rng.expovariate(1.0 / mean_gap))
        kind = first_round.pop() if first_round else rng.choices(kinds, weights)[0]
        first_round = first_round or None
        if kind in REDIS_KINDS and t < redis_free_at:
            if first_round is not None:
                first_round.append(kind)  # its turn comes once Redis is back
            kind = "proxy_cut"
        if t > end:
            return faults
        fault = _draw(rng, kind, round(t, 3))
        if t + fault.duration > end:
            continue  # would not heal before the quiet tail
        if kind in REDIS_KINDS:
            redis_free_at = t + fault.duration + REDIS_SPACING_S
        faults.append(fault)
