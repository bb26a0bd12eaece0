"""The app under test: a mix of task bodies that each record their own runs.

Every run appends `S <job id> <pid> <attempt> <time>` when it starts and
`E <job id> <pid> <attempt> <time> <ok|fail>` when its body ends, to a file of its
own process under $CHAOS_RECORDS. The file survives Redis faults and kill -9 (the
write is done before the next line of the task runs), so the checker can count runs
without trusting the system under test. Times are seconds since boot from /proc/uptime:
one clock for every process on the host, untouched by the skewed worker's libfaketime.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

import redis
import redis.asyncio as aioredis

import jobq
from benchmarks.chaos.history import uptime

QUEUE, CRON_QUEUE = "chaos", "chaos-cron"
CRON_NAME = "chaos.tick"
CRON_EVERY_S = 2
TIMEOUT_S = 1.0

app = jobq.App(
    namespace=os.environ.get("JOBQ_NAMESPACE", "chaos"),
    default_queue=QUEUE,
    visibility_timeout=float(os.environ.get("CHAOS_VT", "6")),
)

_files: dict[int, int] = {}


def record(line: str) -> None:
    """Append one line with a single write (atomic with O_APPEND) to this process's file."""
    pid = os.getpid()
    fd = _files.get(pid)
    if fd is None:
        path = os.path.join(os.environ["CHAOS_RECORDS"], f"{pid}.log")
        fd = _files[pid] = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.write(fd, (line + "\n").encode())


@contextmanager
def recorded() -> Iterator[None]:
    """Record the start and the end (ok, or fail with the exception re-raised) of one run."""
    info = jobq.current_job()
    head = f"{info.id} {os.getpid()} {info.attempt}"
    record(f"S {head} {uptime():.2f}")
    try:
        yield
    except BaseException:
        record(f"E {head} {uptime():.2f} fail")
        raise
    record(f"E {head} {uptime():.2f} ok")


def _side_url() -> str:
    return os.environ.get("CHAOS_SIDE_URL", "redis://127.0.0.1:6379/0")


@app.task(name="chaos.sync", retries=5, backoff=0.2, backoff_max=1.0)
def sync_sleep(seconds: float) -> None:
    with recorded():
        time.sleep(seconds)


@app.task(name="chaos.async", retries=5, backoff=0.2, backoff_max=1.0)
async def async_sleep(seconds: float) -> None:
    with recorded():
        await asyncio.sleep(seconds)


@app.task(name="chaos.write", retries=12, backoff=0.25, backoff_max=1.0)
def sync_write(key: str) -> None:
    """Writes to Redis itself, so it fails (and is retried) while Redis is out."""
    with recorded():
        client = redis.Redis.from_url(_side_url(), socket_timeout=2, socket_connect_timeout=2)
        try:
            client.hincrby(key, jobq.current_job().id, 1)
        finally:
            client.close()


@app.task(name="chaos.awrite", retries=12, backoff=0.25, backoff_max=1.0)
async def async_write(key: str) -> None:
    with recorded():
        client = aioredis.Redis.from_url(_side_url(), socket_timeout=2, socket_connect_timeout=2)
        try:
            await client.hincrby(key, jobq.current_job().id, 1)
        finally:
            await client.aclose()


@app.task(name="chaos.flaky", retries=4, backoff=0.2, backoff_max=1.0)
def flaky(fail_attempts: int) -> None:
    """Fails its first `fail_attempts` attempts, then succeeds."""
    with recorded():
        if jobq.current_job().attempt <= fail_attempts:
            raise RuntimeError("flaky: fails this attempt on purpose")


@app.task(name="chaos.doomed", retries=1, backoff=0.2, backoff_max=0.5)
async def doomed() -> None:
    """Always fails: dead-lettered once its retry is spent."""
    with recorded():
        raise ValueError("doomed: always fails")


@app.task(name="chaos.reject", retries=3)
def reject() -> None:
    with recorded():
        raise jobq.Reject("refused on purpose")


@app.task(name="chaos.atimeout", timeout=TIMEOUT_S, retries=1, backoff=0.2, backoff_max=0.5)
async def async_timeout(seconds: float) -> None:
    """Runs past its timeout when `seconds` > TIMEOUT_S: cancelled, retried once, dead."""
    with recorded():
        await asyncio.sleep(seconds)


@app.task(name="chaos.timeout", timeout=TIMEOUT_S, retries=1, backoff=0.2, backoff_max=0.5)
def sync_timeout(seconds: float) -> None:
    """Sleeps in C past its timeout: the job fails, the worker process is recycled."""
    with recorded():
        time.sleep(seconds)


@app.cron(f"* * * * * */{CRON_EVERY_S}", name=CRON_NAME, queue=CRON_QUEUE, retries=3)
def tick() -> None:
    with recorded():
        pass


TIMEOUTS = {"chaos.atimeout": TIMEOUT_S, "chaos.timeout": TIMEOUT_S}
