"""The code under test: a small app with two tasks (see test_shop.py for the tests)."""

from __future__ import annotations

import jobq

app = jobq.App(namespace="shop")


@app.task(name="shop.total")
def total(prices: list[int], discount_percent: int = 0) -> int:
    return sum(prices) * (100 - discount_percent) // 100


@app.task(name="shop.reserve", retries=2, backoff=0.05)
def reserve(sku: str, quantity: int) -> str:
    if quantity <= 0:
        raise jobq.Reject(f"cannot reserve {quantity} of {sku}")
    return f"reserved {quantity} x {sku}"
