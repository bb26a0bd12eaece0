"""A fleet-wide concurrency cap, per tenant: at most 2 exports of one tenant at once.

    jobq worker concurrency_caps -p 2 -c 8    # terminal 1
    python concurrency_caps.py                # terminal 2

`concurrency=2` with `concurrency_key`: slots are held in Redis with the job's lease, so a
worker killed mid-export frees its slot within the visibility timeout.
"""

from __future__ import annotations

import time

import jobq

app = jobq.App()


@app.task(name="concurrency_caps.export", concurrency=2, concurrency_key=lambda tenant: tenant)
def export(tenant: str) -> tuple[float, float]:
    start = time.time()
    time.sleep(0.3)
    return start, time.time()


def most_at_once(spans: list[tuple[float, float]]) -> int:
    edges = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    running = peak = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    return peak


def main() -> None:
    jobs = {t: [export.delay(t) for _ in range(6)] for t in ("acme", "globex")}
    for tenant, tenant_jobs in jobs.items():
        spans = [tuple(job.result(timeout=60)) for job in tenant_jobs]
        print(f"{tenant}: 6 exports, at most {most_at_once(spans)} at once")  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
