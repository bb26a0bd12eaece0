"""Signature: a typed call of a task, made now and enqueued later (alone or in a workflow).

`task.s(*args, **kwargs)` checks nothing yet: a step of a chain, or a chord's callback,
gets the previous result as its first argument, so its own arguments may be one short.
`task.si(...)` is the immutable form: the step takes no result, its arguments are all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from jobq.job import Job, JobOwner

R = TypeVar("R")


class TaskLike(Protocol):
    """What a Signature needs of its Task (jobq.task imports this module, so not `Task`)."""

    name: str
    app: Any
    options: Any

    def check_arguments(self, args: Sequence[Any], kwargs: dict[str, Any]) -> None: ...

    def enqueue(self, args: Sequence[Any] = (), kwargs: dict[str, Any] | None = None) -> Job[Any]: ...


RESULT = object()  # stands for the previous step's result when arguments are checked


@dataclass(frozen=True, slots=True)
class Signature(Generic[R]):
    """A call of `task` with these arguments; `immutable`: it takes no previous result."""

    task: TaskLike
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    immutable: bool = False

    @property
    def app(self) -> JobOwner:
        return self.task.app  # type: ignore[no-any-return]

    @property
    def queue(self) -> str:
        return str(self.task.options.queue)

    def __repr__(self) -> str:
        shown = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs.items()]
        return f"{self.task.name}.{'si' if self.immutable else 's'}({', '.join(shown)})"

    def call_args(self, previous: tuple[Any, ...] = ()) -> tuple[Any, ...]:
        """The positional arguments of the run: the previous result first, unless immutable."""
        return self.args if self.immutable else (*previous, *self.args)

    def check(self, gets_result: bool) -> None:
        """TypeError now, in the caller, if the task cannot take these arguments (plus a
        previous result when `gets_result` and the step is not immutable)."""
        args = (RESULT, *self.args) if gets_result and not self.immutable else self.args
        self.task.check_arguments(args, self.kwargs)

    def delay(self) -> Job[R]:
        """Enqueue this call alone."""
        return self.task.enqueue(args=self.args, kwargs=self.kwargs)
