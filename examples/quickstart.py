"""Quickstart: define tasks, enqueue them, wait for their results.

Run it from this folder, with Redis on localhost (or JOBQ_REDIS_URL set):

    jobq worker quickstart        # terminal 1: a worker pool for this module's `app`
    python quickstart.py          # terminal 2: enqueue, then print what the workers did

Task names are given explicitly: the worker imports this file as `quickstart` while
`python quickstart.py` runs it as `__main__`, and a name must mean the same task in both.
"""

from __future__ import annotations

import jobq

app = jobq.App()  # Redis from $JOBQ_REDIS_URL, else redis://localhost:6379/0


@app.task(name="quickstart.add")
def add(x: int, y: int) -> int:
    return x + y


@app.task(name="quickstart.slugify", queue="text")
def slugify(title: str) -> str:
    """Runs on queue `text`; `jobq worker quickstart` consumes every queue the app uses."""
    words = "".join(c if c.isalnum() else " " for c in title.lower()).split()
    return "-".join(words)


def main() -> None:
    print("a plain call runs here and now:", add(1, 1))

    job = add.delay(2, 3)  # returns at once; a worker runs it
    print(f"enqueued {job.id}, status {job.status()}")
    print("2 + 3 =", job.result(timeout=10))  # waits for the worker (blocking, no polling)

    slug = slugify.delay("Hello, Background Jobs!")
    print("slug:", slug.result(timeout=10))

    later = add.enqueue(args=(40, 2), delay=0.5)  # may not run before half a second has passed
    print(f"delayed job is {later.status()}; result after the delay: {later.result(timeout=10)}")

    # An idempotency key: a second enqueue with the same job_id while the first is not
    # finished is a no-op that returns the same job.
    first = add.enqueue(args=(1, 2), job_id="invoice-42-total", delay=0.5)
    again = add.enqueue(args=(1, 2), job_id="invoice-42-total", delay=0.5)
    print("same job for the same key:", first.id == again.id, first.result(timeout=10))

    jobs = add.delay_many([(i, i) for i in range(5)])  # one pipelined round trip
    print("batch:", [j.result(timeout=10) for j in jobs])


if __name__ == "__main__":
    main()
