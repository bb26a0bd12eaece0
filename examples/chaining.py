"""Task chaining by hand: each step enqueues the next and returns its job id, until jobq
has chains of its own.

    fetch_order -> price_order -> email_receipt

Delivery is at least once, so a step may run twice (its worker died after enqueuing the
next step but before acking). Each step therefore enqueues the next with a job id derived
from its own: a second enqueue of the same id while that step is unfinished returns the
same job instead of starting a second chain.

Run it from this folder, with Redis on localhost (or JOBQ_REDIS_URL set):

    jobq worker chaining        # terminal 1
    python chaining.py          # terminal 2
"""

from __future__ import annotations

from typing import Any

import jobq

app = jobq.App()

PRICES = {"tea": 350, "scone": 275, "jam": 120}


def then(task: jobq.Task[..., Any], *args: Any) -> dict[str, str]:
    """Enqueue the next step, idempotently keyed on this job's id; the value a step returns."""
    this = jobq.current_job()
    step = task.enqueue(args=args, job_id=f"{this.id}>{task.name}")
    return {"next": step.id}


@app.task(name="chaining.fetch_order")
def fetch_order(order_id: str) -> dict[str, str]:
    items = ["tea", "scone", "jam", "tea"]  # stands in for a database read
    return then(price_order, order_id, items)


@app.task(name="chaining.price_order")
def price_order(order_id: str, items: list[str]) -> dict[str, str]:
    total = sum(PRICES[item] for item in items)
    return then(email_receipt, order_id, total)


@app.task(name="chaining.email_receipt")
def email_receipt(order_id: str, cents: int) -> str:
    return f"receipt for {order_id}: {cents / 100:.2f} EUR"


def follow(job: jobq.Job[Any], timeout: float = 10.0) -> Any:
    """Wait for each step in turn; the last step's result."""
    step = 1
    while True:
        result = job.result(timeout=timeout)
        print(f"  step {step}: {result}")
        if not (isinstance(result, dict) and "next" in result):
            return result
        job, step = app.job(result["next"]), step + 1


def main() -> None:
    print("chain:")
    final = follow(fetch_order.delay("order-7"))
    print("final result:", final)


if __name__ == "__main__":
    main()
