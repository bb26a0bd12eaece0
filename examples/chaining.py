"""A chain: each step's result is the first argument of the next.

    fetch_order -> price_order -> email_receipt

`jobq.chain(a.s(...), b.s(), c.s()).delay()` enqueues the first step; the others wait
(status "waiting") and are enqueued, exactly once, when the step before them succeeds.
The handle's `result()` is the last step's. A step spelled `task.si(...)` is immutable:
it takes no previous result, only its own arguments. If a step fails for good, the steps
after it end "cancelled" with the reason "dependency <id> failed".

Run it from this folder, with Redis on localhost (or JOBQ_REDIS_URL set):

    jobq worker chaining        # terminal 1
    python chaining.py          # terminal 2
"""

from __future__ import annotations

import jobq

app = jobq.App()

PRICES = {"tea": 350, "scone": 275, "jam": 120}


@app.task(name="chaining.fetch_order")
def fetch_order(order_id: str) -> list[str]:
    return ["tea", "scone", "jam", "tea"]  # stands in for a database read


@app.task(name="chaining.price_order")
def price_order(items: list[str], order_id: str) -> int:
    return sum(PRICES[item] for item in items)


@app.task(name="chaining.email_receipt")
def email_receipt(cents: int, order_id: str) -> str:
    return f"receipt for {order_id}: {cents / 100:.2f} EUR"


@app.task(name="chaining.log_done")
def log_done(order_id: str) -> str:
    return f"{order_id} done"


def main() -> None:
    order = "order-7"
    receipt = jobq.chain(
        fetch_order.s(order),
        price_order.s(order),  # gets fetch_order's result first: price_order(items, order)
        email_receipt.s(order),
    ).delay()
    print("steps:", len(receipt.jobs))
    for n, job in enumerate(receipt.jobs, start=1):
        print(f"  step {n}: {job.result(timeout=10)}")
    print("final result:", receipt.result(timeout=10))
    done = jobq.chain(email_receipt.s(1095, order), log_done.si(order)).delay()
    print("immutable step:", done.result(timeout=10))


if __name__ == "__main__":
    main()
