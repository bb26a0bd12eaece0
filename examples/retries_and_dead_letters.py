"""Retries and dead letters: what happens when a task fails, and what to do about it.

- An exception listed in `retry_on` (default: any Exception) is retried with exponential
  backoff and jitter, up to `retries` times after the first attempt.
- `raise jobq.Retry(delay=...)` asks for a retry at a time of the task's choosing.
- `raise jobq.Reject("why")` dead-letters the job at once: retrying cannot help.
- An exception outside `retry_on` is not retried.
- A dead job keeps its reason, error, traceback and attempt count in the queue's
  dead-letter stream until you requeue or purge it.

Run it from this folder, with Redis on localhost (or JOBQ_REDIS_URL set):

    jobq worker retries_and_dead_letters      # terminal 1
    python retries_and_dead_letters.py        # terminal 2
    jobq dlq list billing                     # the dead letters, with their reasons
    jobq dlq requeue billing --all            # once the cause is fixed: run them again
"""

from __future__ import annotations

import jobq

app = jobq.App()


class ProviderBusy(Exception):
    """The payment provider asked us to come back later."""


@app.task(name="billing.charge", queue="billing", retries=5, backoff=0.2, backoff_max=1.0)
def charge(order_id: str, cents: int) -> str:
    """Fails twice with a transient error, then goes through: retried with backoff."""
    attempt = jobq.current_job().attempt  # 1 on the first run, 2 on the first retry...
    if attempt < 3:
        raise ProviderBusy(f"provider busy (attempt {attempt})")
    return f"charged {cents / 100:.2f} for {order_id} on attempt {attempt}"


@app.task(name="billing.refund", queue="billing", retries=3)
def refund(order_id: str) -> str:
    """The provider tells us when to come back: Retry(delay=...) instead of the backoff."""
    if jobq.current_job().attempt == 1:
        raise jobq.Retry(delay=0.5, reason="provider rate limit: retry in 0.5 s")
    return f"refunded {order_id}"


@app.task(name="billing.invoice", queue="billing", retries=5)
def invoice(order: dict[str, str]) -> str:
    """No retry can add a missing address: Reject dead-letters the job at once."""
    if not order.get("address"):
        raise jobq.Reject(f"order {order['id']} has no billing address")
    return f"invoice for {order['id']}"


@app.task(name="billing.sync", queue="billing", retries=5, retry_on=(ConnectionError, TimeoutError))
def sync_ledger(entries: list[int]) -> int:
    """Only network errors are worth retrying here; a bug (ValueError) is not."""
    if any(e < 0 for e in entries):
        raise ValueError("negative ledger entry")
    return sum(entries)


def outcome(job: jobq.Job[str] | jobq.Job[int]) -> str:
    try:
        return f"succeeded: {job.result(timeout=20)}"
    except jobq.JobFailed as exc:
        return f"dead: {exc.error}"


def main() -> None:
    print("charge  ->", outcome(charge.delay("A-1001", 2599)))
    print("refund  ->", outcome(refund.delay("A-0999")))
    print("invoice ->", outcome(invoice.delay({"id": "A-1002", "address": ""})))
    print("sync    ->", outcome(sync_ledger.delay([5, -3])))
    print("Dead letters are kept in queue 'billing': see them with `jobq dlq list billing`.")


if __name__ == "__main__":
    main()
