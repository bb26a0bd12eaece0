"""Async tasks: `async def` functions are first-class. One worker process runs up to `-c`
of them at once on its event loop, so I/O-bound work needs few processes.

Run it from this folder, with Redis on localhost (or JOBQ_REDIS_URL set):

    jobq worker async_tasks -c 50      # terminal 1: one process, 50 jobs at a time
    python async_tasks.py              # terminal 2
"""

from __future__ import annotations

import asyncio
import time

import jobq

app = jobq.App()


@app.task(name="async_tasks.fetch_status", queue="io")
async def fetch_status(url: str) -> dict[str, object]:
    """Stands in for an HTTP call (say with httpx.AsyncClient): half a second of waiting."""
    started = time.perf_counter()
    await asyncio.sleep(0.5)
    return {"url": url, "status": 200, "waited_s": round(time.perf_counter() - started, 2)}


@app.task(name="async_tasks.slow_report", queue="io", timeout=1.0, retries=0)
async def slow_report() -> str:
    """Takes longer than its timeout: the worker cancels it and the job fails, naming it."""
    await asyncio.sleep(30)
    return "never"


def main() -> None:
    urls = [f"https://example.com/page/{n}" for n in range(40)]
    started = time.perf_counter()
    jobs = fetch_status.delay_many([(url,) for url in urls])
    results = [job.result(timeout=30) for job in jobs]
    elapsed = time.perf_counter() - started
    print(f"{len(results)} fetches of 0.5 s each finished in {elapsed:.1f} s")
    print("first:", results[0])

    try:
        slow_report.delay().result(timeout=15)
    except jobq.JobFailed as exc:
        print("slow_report failed:", exc.error)


if __name__ == "__main__":
    main()
