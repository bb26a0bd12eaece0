"""A fleet-wide rate limit, per customer: every worker process on every host shares it.

    jobq worker rate_limits -p 2      # terminal 1
    python rate_limits.py             # terminal 2

`rate_limit="5/s"` with `rate_limit_key`: at most 5 starts in any second *per customer*.
A job over the limit is deferred to when its slot frees (not failed, no attempt counted).
"""

from __future__ import annotations

import time

import jobq

app = jobq.App()


@app.task(name="rate_limits.call_api", rate_limit="5/s", rate_limit_key=lambda customer, n: customer)
def call_api(customer: str, n: int) -> float:
    return time.time()


def main() -> None:
    begun = time.time()
    calls = [(c, n) for n in range(15) for c in ("acme", "globex")]
    jobs = [call_api.delay(c, n) for c, n in calls]
    done = [job.result(timeout=30) - begun for job in jobs]
    for customer in ("acme", "globex"):
        times = sorted(t for (c, _), t in zip(calls, done, strict=True) if c == customer)
        busiest = max(sum(1 for t in times if s <= t < s + 1) for s in times)
        print(f"{customer}: 15 calls in {times[-1]:.1f} s, at most {busiest} in any second")


if __name__ == "__main__":
    main()
