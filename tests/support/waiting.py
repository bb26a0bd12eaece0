"""Wait for a condition with a deadline: the only way tests synchronise."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(
    condition: Callable[[], T],
    timeout: float,
    what: str,
    interval: float = 0.02,
    explain: Callable[[], str] | None = None,
) -> T:
    """Poll `condition` until it returns a truthy value; fail the test after `timeout` s
    (with what `explain` says of the state then, for a failure seen only in CI)."""
    deadline = time.monotonic() + timeout
    last: T = condition()
    while not last:
        if time.monotonic() > deadline:
            detail = f"\n{explain()}" if explain is not None else ""
            raise AssertionError(f"timed out after {timeout}s waiting for {what}{detail}")
        time.sleep(interval)
        last = condition()
    return last
