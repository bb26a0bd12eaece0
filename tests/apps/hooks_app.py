"""An app with worker lifecycle hooks, for tests/test_hooks.py.

Hooks and tasks append `<event> <pid> <time>` lines to $HOOKS_LOG. HOOKS_FAIL=1 makes the
start hook raise; HOOKS_STOP_HANG=1 makes the stop hook hang.
"""

from __future__ import annotations

import asyncio
import os
import time

import jobq

app = jobq.App(namespace=os.environ.get("JOBQ_NAMESPACE", "jobq"))


def note(event: str) -> None:
    with open(os.environ["HOOKS_LOG"], "a") as f:
        f.write(f"{event} {os.getpid()} {time.time():.6f}\n")


@app.on_worker_start
def open_pool() -> None:
    note("attempt")
    if os.environ.get("HOOKS_FAIL") == "1":
        raise RuntimeError("database is down")
    jobq.current_worker().state.pool = {"pid": os.getpid(), "open": True}


@app.on_worker_start
async def warm_cache() -> None:
    await asyncio.sleep(0)
    jobq.current_worker().state.cache = "warm"
    note("start")


@app.on_worker_stop
def close_pool() -> None:
    if os.environ.get("HOOKS_STOP_HANG") == "1":
        time.sleep(3600)
    jobq.current_worker().state.pool["open"] = False
    note("stop")


@app.task(name="uses_pool")
def uses_pool() -> list[object]:
    state = jobq.current_worker().state
    return [state.pool["pid"], state.pool["open"], state.cache, os.getpid()]


@app.task(name="auses_pool")
async def auses_pool() -> list[object]:
    state = jobq.current_worker().state
    return [state.pool["pid"], state.pool["open"], state.cache, os.getpid()]


@app.task(name="slow")
def slow(seconds: float) -> None:
    note("begin")
    time.sleep(seconds)
    note("end")
