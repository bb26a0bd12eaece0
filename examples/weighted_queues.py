"""Weighted queues: one pool shares its slots among queues in proportion to their weights.

    jobq worker weighted_queues -q critical:6 -q default:3 -q bulk:1    # terminal 1
    python weighted_queues.py                                            # terminal 2

While every queue has backlog, of every 10 jobs started 6 come from `critical`, 3 from
`default` and 1 from `bulk`; a queue alone (or `-q NAME` without a weight) has weight 1.
"""

from __future__ import annotations

import time

import jobq

app = jobq.App()
QUEUES = ("critical", "default", "bulk")


def started_at() -> float:
    return time.time()


tasks = {q: app.task(name=f"weighted_queues.{q}", queue=q)(started_at) for q in QUEUES}


def main() -> None:
    for q in QUEUES:  # fill all three before any starts, so every queue has backlog
        app.pause(q)
    jobs = [(q, job) for q in QUEUES for job in tasks[q].delay_many([()] * 300)]
    for q in QUEUES:
        app.resume(q)
    starts = sorted((job.result(timeout=60), q) for q, job in jobs)
    # from the moment every queue has started a job (resumes reach the workers within a
    # quarter second of each other) while all three still have backlog
    began = max(min(t for t, q in starts if q == queue) for queue in QUEUES)
    share = [q for t, q in starts if t >= began][:200]
    print("of 200 jobs started while all had backlog:", ", ".join(f"{q} {share.count(q)}" for q in QUEUES))


if __name__ == "__main__":
    main()
