"""Cron: periodic jobs, enqueued exactly once per tick however many schedulers run.

Schedules are croniter expressions: five fields, or six with seconds as the sixth. Each
entry registers a task too, so its runs are ordinary jobs: retried, dead-lettered and
counted like any other.

Run it from this folder, with Redis on localhost (or JOBQ_REDIS_URL set):

    jobq worker cron_jobs --beat      # terminal 1: workers plus the scheduler (--beat)
    python cron_jobs.py               # terminal 2: watches the heartbeat ticks arrive
    jobq cron list cron_jobs          # each entry: expression, next and last fire, outcome

Run `--beat` on as many pools as you like (or `jobq scheduler cron_jobs` on its own): a
tick is claimed atomically in Redis, so it is enqueued once, not once per scheduler.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone

import jobq
from jobq.stats import snapshot

app = jobq.App()


@app.cron("* * * * * */2", name="cron_jobs.heartbeat")  # every two seconds
def heartbeat() -> str:
    return f"alive at {datetime.now(timezone.utc):%H:%M:%S}"


@app.cron("30 3 * * *", tz="Europe/Paris", name="cron_jobs.nightly_cleanup")  # 03:30 Paris time
def nightly_cleanup() -> str:
    return "old sessions removed"


def heartbeats_run() -> int:
    """How many heartbeat runs have finished (the workers' per-task counters)."""
    queues = snapshot(app.broker, app.queues()).queues
    return sum(t.processed for q in queues for t in q.tasks if t.name == "cron_jobs.heartbeat")


def main(ticks: int = 3, timeout: float = 30.0) -> None:
    start = heartbeats_run()
    seen = start
    deadline = time.monotonic() + timeout
    while seen - start < ticks:
        if time.monotonic() > deadline:
            missing = f"only {seen - start} heartbeat ticks in {timeout:.0f} s"
            raise SystemExit(f"{missing}: is a pool with --beat running?")
        now = heartbeats_run()
        if now > seen:
            print(f"heartbeat tick ran (total {now}) at {datetime.now(timezone.utc):%H:%M:%S}")
            seen = now
        time.sleep(0.1)
    print(f"{ticks} ticks, one every 2 s; the nightly cleanup waits for 03:30 Europe/Paris")


if __name__ == "__main__":
    main()
