"""Typed use of jobq that a type checker must accept, with the types it must infer.

Checked by tests/test_typing.py with mypy --strict; never run.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

from typing_extensions import assert_type

import jobq
from jobq.task import AsyncTask, SyncTask

app = jobq.App()


@app.task
def add(x: int, y: int) -> int:
    return x + y


@app.task(name="mail.send", queue="mail", retries=5, timeout=30)
async def send(to: str, subject: str = "") -> bool:
    return bool(to and subject)


@app.task(name="report.build")
def build(rows: list[dict[str, float]], *, title: str) -> dict[str, float]:
    return {title: sum(r["v"] for r in rows)}


# Sync and async functions alike give a Task of their parameters and their result type.
sync_task: SyncTask[[int, int], int] = add
async_task: AsyncTask[[str, str], bool] = send

# The plain call runs the function: a value, or a coroutine for an async task.
assert_type(add(1, 2), int)
coroutine = assert_type(send("a@b.c"), Coroutine[Any, Any, bool])
coroutine.close()

# delay() takes the function's own parameters and returns a Job of its result type.
job = add.delay(1, y=2)
assert_type(job, jobq.Job[int])
assert_type(job.result(timeout=5), int)
assert_type(send.delay("a@b.c", subject="hi").result(), bool)
assert_type(build.delay([{"v": 1.0}], title="t").result(), dict[str, float])

# enqueue() and delay_many() keep the result type.
assert_type(add.enqueue(args=(1, 2), delay=5), jobq.Job[int])
assert_type(add.delay_many([(1, 2), (3, 4)]), list[jobq.Job[int]])

# Every task is a Task[P, R], so code can take any task of a given shape.


def run_later(task: jobq.Task[[int, int], int]) -> jobq.Job[int]:
    return task.delay(3, 4)


run_later(add)

# By name (no import of the task's code), the result type is unknown.
assert_type(app.enqueue("mail.send", "a@b.c", "hi"), jobq.Job[Any])
assert_type(app.job("some-id"), jobq.Job[Any])


# Signatures: every argument, or all but the first for a step that gets a previous result.
assert_type(add.s(1, 2), jobq.Signature[int])
assert_type(add.s(1), jobq.Signature[int])
assert_type(build.s(title="t"), jobq.Signature[dict[str, float]])
assert_type(send.si("a@b.c"), jobq.Signature[bool])
assert_type(add.s(1, 2).delay(), jobq.Job[int])


# Progress, from inside a task.
@app.task
def long_one(n: int) -> None:
    jobq.current_job().set_progress(0.5, "half way")


progress = assert_type(add.delay(1, 2).progress(), jobq.Progress | None)


# Workflows: a chain's handle is typed by its last step, a chord's by its callback.
@app.task
def total(xs: list[int]) -> str:
    return str(sum(xs))


assert_type(jobq.chain(add.s(1, 2), add.s(3), total.si([1])).delay(), jobq.WorkflowJob[str])
assert_type(jobq.chain(add.s(1, 2), add.s(3)).delay().result(), int)
assert_type(jobq.group(add.s(i, i) for i in range(3)).delay().results(1.0), list[int])
assert_type(jobq.chord([add.s(1, 2)], total.s()).delay().result(), str)
