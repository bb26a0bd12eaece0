"""Priorities within a queue: a password reset must not wait behind a newsletter run.

    jobq worker priorities        # terminal 1
    python priorities.py          # terminal 2

Levels are 0..9, higher first, 5 by default: on the task (`priority=`) or per enqueue.
A job that waits `priority_aging` seconds (default 60) at its level moves up one, so a
stream of urgent jobs never starves the rest for good.
"""

from __future__ import annotations

import time

import jobq
from jobq import stats

app = jobq.App()
started: list[str] = []


@app.task(name="priorities.newsletter", queue="mail", priority=1)
def newsletter(n: int) -> None:
    time.sleep(0.002)


@app.task(name="priorities.reset_password", queue="mail", priority=9)
def reset_password(user: str) -> float:
    return time.time()


def main() -> None:
    app.pause("mail")  # so that every job below is queued before any starts
    newsletter.delay_many([(n,) for n in range(2000)])
    reset = reset_password.delay("ada@example.com")
    nudge = newsletter.enqueue(args=(-1,), priority=6)  # one enqueue may raise its level
    print("levels queued:", stats.to_json(stats.snapshot(app.broker, ["mail"]))["queues"][0]["priorities"])
    resumed = time.time()
    app.resume("mail")
    ran_at = reset.result(timeout=30)
    nudge.result(timeout=30)
    left = stats.snapshot(app.broker, ["mail"]).queues[0].backlog
    print(f"reset link for ada@example.com sent {1000 * (ran_at - resumed):.0f} ms after resume")
    print(f"newsletters still queued behind it: {left > 1000}")


if __name__ == "__main__":
    main()
