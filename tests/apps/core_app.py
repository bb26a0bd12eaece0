"""Tasks for the core process tests. Every run writes start/end records to $JOBQ_RUN_LOG."""

from __future__ import annotations

import asyncio
import os
import time

import jobq

app = jobq.App(
    namespace=os.environ.get("JOBQ_NAMESPACE", "jobq"),
    visibility_timeout=float(os.environ.get("JOBQ_VT", "3")),
)

_fd: int | None = None
_pid = 0


def record(kind: str, job_id: str) -> None:
    """Append one line `<kind> <job id> <pid> <time>` with a single write (atomic in O_APPEND)."""
    global _fd, _pid
    if _fd is None or _pid != os.getpid():
        _fd = os.open(os.environ["JOBQ_RUN_LOG"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        _pid = os.getpid()
    os.write(_fd, f"{kind} {job_id} {os.getpid()} {time.time():.6f}\n".encode())


@app.task(name="work", retries=5)
def work(seconds: float, padding: str = "") -> None:
    job_id = jobq.current_job().id
    record("S", job_id)
    time.sleep(seconds)
    record("E", job_id)


@app.task(name="awork", retries=5)
async def awork(seconds: float) -> None:
    job_id = jobq.current_job().id
    record("S", job_id)
    await asyncio.sleep(seconds)
    record("E", job_id)


@app.task(name="hang", timeout=1.0, retries=0)
def hang() -> None:
    """Blocks in C code (a sleep) far past its timeout."""
    record("S", jobq.current_job().id)
    time.sleep(3600)


@app.task(name="crash", retries=2)
def crash() -> None:
    record("S", jobq.current_job().id)
    os._exit(17)


@app.task(name="segv", retries=1)
def segv() -> None:
    """Dies of SIGSEGV, as a buggy C extension would."""
    import ctypes

    record("S", jobq.current_job().id)
    ctypes.string_at(0)


_hoard: list[bytes] = []


@app.task(name="leak", retries=0)
def leak(megabytes: int) -> None:
    """Keeps what it allocates, like a task with a leak."""
    _hoard.append(b"\x01" * (megabytes * 1024 * 1024))  # touched, so resident
    record("E", jobq.current_job().id)


@app.task(name="fail_once", retries=3, backoff=2.0, backoff_max=2.0)
def fail_once() -> None:
    """Fails its first attempt, then succeeds (its retry waits in Redis for 1-2 s)."""
    info = jobq.current_job()
    record("S", info.id)
    if info.attempt == 1:
        raise RuntimeError("first attempt fails")
    record("E", info.id)
