"""An App with nothing configured in code: Redis and namespace come from the environment
($JOBQ_REDIS_URL, $JOBQ_NAMESPACE), as in a twelve-factor deployment. When $PINNED_URL /
$PINNED_NAMESPACE are set, `pinned` is an App that writes them in code instead."""

from __future__ import annotations

import os

import jobq

app = jobq.App()
pinned = jobq.App(
    redis_url=os.environ.get("PINNED_URL"), namespace=os.environ.get("PINNED_NAMESPACE", "pinned")
)


def _add(x: int, y: int) -> int:
    return x + y


add = app.task(name="env.add")(_add)
pinned.task(name="env.add")(_add)
