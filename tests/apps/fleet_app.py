"""Tasks for the scale-out tests (Cluster, Sentinel) and benchmarks/scaling.py.

Every run appends `<kind> <job id> <pid> <time>` to $JOBQ_RUN_LOG with one O_APPEND write
(S at the start, E at the end), outside Redis: the count survives a killed worker and a
lost Redis master alike (tests/support/runlog.py reads it). The queues have different
hash tags, so on a Cluster they live on different shards.
"""

from __future__ import annotations

import os
import time

import jobq

app = jobq.App(
    namespace=os.environ.get("JOBQ_NAMESPACE", "jobq"),
    visibility_timeout=float(os.environ.get("JOBQ_VT", "3")),
)

_fd: int | None = None
_pid = 0


def record(kind: str) -> None:
    global _fd, _pid
    if _fd is None or _pid != os.getpid():
        _fd = os.open(os.environ["JOBQ_RUN_LOG"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        _pid = os.getpid()
    line = f"{kind} {jobq.current_job().id} {os.getpid()} {time.time():.6f}\n"
    os.write(_fd, line.encode())


@app.task(name="fleet.work", queue="alpha", retries=5)
def work(seconds: float) -> str:
    record("S")
    time.sleep(seconds)
    record("E")
    return jobq.current_job().id


@app.task(name="fleet.add", queue="beta", retries=5)
def add(x: int, y: int) -> int:
    record("S")
    record("E")
    return x + y


@app.task(name="fleet.flaky", queue="gamma", retries=3, backoff=0.05, backoff_max=0.2)
def flaky() -> int:
    """Fails its first two attempts, then succeeds: returns the attempt that did."""
    record("S")
    attempt = jobq.current_job().attempt
    if attempt < 3:
        raise RuntimeError(f"flaky failure on attempt {attempt}")
    record("E")
    return attempt


@app.task(name="fleet.doomed", queue="gamma", retries=1, backoff=0.05, backoff_max=0.2)
def doomed() -> None:
    record("S")
    raise ValueError("doomed always fails")


@app.task(name="fleet.refuse", queue="delta")
def refuse() -> None:
    record("S")
    raise jobq.Reject("refused on purpose")


@app.cron("* * * * * *", queue="cron", name="fleet.every_second")
def every_second() -> None:
    """One run per second; its job id names the tick (cron:fleet.every_second:<UTC time>)."""
    record("E")


@app.task(name="fleet.noop", queue="bench", retries=0)
def noop() -> None:
    record("E")


@app.task(name="fleet.sleep", queue="bench", retries=0)
def sleep(seconds: float) -> None:
    time.sleep(seconds)
    record("E")
