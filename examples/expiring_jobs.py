"""Jobs that are worthless late: `expires` on the task or on one enqueue.

    jobq worker expiring_jobs     # terminal 1
    python expiring_jobs.py       # terminal 2

A job not started by its expiry never runs: its status is "expired", `result()` raises
jobq.JobExpired, and it is counted in `jobq stats --json` ("expired"), not dead-lettered.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import jobq

app = jobq.App()


@app.task(name="expiring_jobs.otp", queue="sms", expires=timedelta(seconds=30))
def send_code(phone: str, code: str) -> str:
    return f"sent {code} to {phone}"


def main() -> None:
    app.pause("sms")  # hold the queue so the second job outlives its expiry
    fresh = send_code.delay("+15550100", "1234")  # the task's default: 30 s
    stale = send_code.enqueue(args=("+15550101", "9876"), expires=0.5)
    deadline = send_code.enqueue(
        args=("+15550102", "5555"), expires=datetime.now(timezone.utc) + timedelta(minutes=5)
    )
    time.sleep(1.0)
    app.resume("sms")
    print("fresh:", fresh.result(timeout=10))
    print("deadline:", deadline.result(timeout=10))
    try:
        stale.result(timeout=10)
    except jobq.JobExpired as exc:
        print("stale:", stale.status(), "-", exc)


if __name__ == "__main__":
    main()
