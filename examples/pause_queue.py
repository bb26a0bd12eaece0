"""Pause a queue during an incident, without stopping the workers, then resume it.

    jobq worker pause_queue       # terminal 1
    python pause_queue.py         # terminal 2

`jobq queue pause reports` / `jobq queue resume reports` do the same from a shell.
"""

from __future__ import annotations

import time

import jobq

app = jobq.App()


@app.task(name="pause_queue.report", queue="reports")
def report(n: int) -> str:
    return f"report {n} built"


def main() -> None:
    app.pause("reports")  # returns once every live worker knows
    jobs = [report.delay(n) for n in range(3)]  # a paused queue still accepts jobs
    time.sleep(1.0)
    print("while paused:", [job.status() for job in jobs])
    app.resume("reports")
    print("after resume:", [job.result(timeout=10) for job in jobs])


if __name__ == "__main__":
    main()
