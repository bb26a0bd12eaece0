"""A workflow job's spec as stored in the workflow's state, and the envelope or outcome
it becomes when the drainer releases or cancels it."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from jobq.config import Config
from jobq.envelope import Envelope, decode_value, encode
from jobq.flow import DEFAULT_PRIORITY
from jobq.protocol import Admit
from jobq.records import OUTCOME_ERROR, OUTCOME_RESULT, outcome_blob, outcome_state
from jobq.states import JobStatus
from jobq.workflow.signature import Signature

_compact = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode


@dataclass(frozen=True, slots=True)
class Step:
    """One job of a workflow: its id, call and queue; `workflow`: the workflow it is a
    member of ("" for a callback or a dependent job, which only wait on one)."""

    id: str
    task: str
    queue: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    immutable: bool
    ttl: int
    workflow: str = ""
    ready: str = ""  # an envelope made at enqueue (a job with after=): used as it is
    priority: int = DEFAULT_PRIORITY  # the task's level: where its job is queued

    @classmethod
    def of(cls, sig: Signature[Any], job_id: str, workflow: str = "") -> Step:
        ttl = int(sig.task.options.result_ttl)
        return cls(
            *(job_id, sig.task.name, sig.queue, sig.args, sig.kwargs, sig.immutable, ttl, workflow),
            priority=sig.task.options.priority,
        )

    def to_json(self) -> str:
        """SerializationError (from encode) is raised by `envelope` first, at creation."""
        body = {"id": self.id, "t": self.task, "q": self.queue, "a": list(self.args), "k": self.kwargs}
        more = {"im": self.immutable, "ttl": self.ttl, "w": self.workflow, "env": self.ready}
        if self.priority != DEFAULT_PRIORITY:
            more["p"] = self.priority
        return _compact({**body, **more})

    @classmethod
    def from_json(cls, text: str) -> Step:
        d = json.loads(text)
        return cls(
            str(d["id"]), str(d["t"]), str(d["q"]), tuple(d.get("a") or ()), dict(d.get("k") or {}),
            bool(d.get("im")), int(d.get("ttl", 86400)), str(d.get("w", "")), str(d.get("env", "")),
            int(d.get("p", DEFAULT_PRIORITY)),
        )  # fmt: skip

    def envelope(self, config: Config, previous: tuple[Any, ...] = ()) -> str:
        """The signed envelope of a run of this step, given the previous result(s)."""
        if self.ready:
            return self.ready
        args = self.args if self.immutable else (*previous, *self.args)
        env = Envelope(
            self.id, self.task, args, self.kwargs, time.time(), workflow=self.workflow, priority=self.priority
        )
        return encode(env, config.max_payload_bytes, config.signing_key)


def check_encodable(sigs: Sequence[Signature[Any]], config: Config, link: str) -> None:
    """SerializationError now, before anything is written, for a call whose envelope (as a
    member with a link as long as `link`) could not be made. Calls of plain values (see
    `scalars_size`) are sized without encoding them; otherwise the arguments of all are
    encoded as one JSON text, and an envelope is made (and dropped) only for calls near the
    size limit, so the envelopes can be made later, while the first members run."""
    rest = 256 + len(link) + max((len(s.task.name) for s in sigs), default=0)  # id, times, keys
    largest = scalars_size(sigs)
    if largest is not None and largest + rest < config.max_payload_bytes:
        return  # a 10,000-member chord's first members wait for this check: it is a scan
    try:
        texts = [_compact([[s.args, s.kwargs] for s in sigs])]
    except (TypeError, ValueError, RecursionError):
        texts = []  # each envelope says which call
    if texts and len(texts[0].encode()) + rest < config.max_payload_bytes:
        return  # all of them together are under the limit
    for sig in sigs:
        if not texts or len(_compact([sig.args, sig.kwargs]).encode()) + rest >= config.max_payload_bytes:
            Step.of(sig, "0" * 32, link).envelope(config)


_INT_MAX = 1 << 63  # an int below this in size is at most 20 characters of JSON


def scalars_size(sigs: Sequence[Signature[Any]]) -> int | None:
    """The most characters (and bytes) the positional arguments of any call take as JSON,
    bounded without encoding them, when all are None, bools, ints of up to 64 bits, finite
    floats or ASCII strings (\\u escapes: 6 characters a character); None for any other."""
    largest = 0
    for sig in sigs:
        if sig.kwargs:
            return None
        size = 2 + len(sig.args)  # brackets, commas
        for a in sig.args:
            kind = a.__class__
            if kind is int and -_INT_MAX < a < _INT_MAX:
                size += 20
            elif kind is float and a - a == 0.0:  # not inf or nan, which JSON cannot hold
                size += 25
            elif kind is str and a.isascii():
                size += 6 * len(a) + 2
            elif a is None or kind is bool:
                size += 5
            else:
                return None
        if size > largest:
            largest = size
    return largest


Admits = dict[tuple[str, int], list[Admit]]  # (queue, result ttl) -> what to admit there


def follow(admits: Admits, actions: Sequence[tuple[str, str, str]], config: Config) -> None:
    """Add to `admits` what wf_apply.lua said follows: release a step with its input, or
    cancel it because a member failed."""
    for op, spec, given in actions:
        step = Step.from_json(spec)
        if op == "cancel":
            item = Admit("cancel", step.id, "", dependency_failed(given))
        else:
            previous: tuple[Any, ...] = (decode_value(given),) if given else ()
            item = Admit("run", step.id, step.workflow, step.envelope(config, previous))
        admits[(step.queue, step.ttl)].append(item)


def dependency_failed(member: str) -> str:
    """The stored outcome of a job cancelled because a job it waited for failed."""
    why = f"dependency {member} failed"
    return outcome_blob(JobStatus.CANCELLED, error=why, reason=why)


def workflow_gone(workflow_id: str) -> str:
    """The stored outcome of a job that waited on a workflow whose state is gone: its
    producer died before writing every job of it, so it can never complete."""
    why = f"workflow {workflow_id} was never completely created"
    return outcome_blob(JobStatus.CANCELLED, error=why, reason=why)


def member_value(job_id: str, outcome: dict[str, Any]) -> tuple[str, str]:
    """(state, value JSON) of a finished member: its result, or what a callback that takes
    failures gets in its place: {"job": id, "state": "dead"/"cancelled", "error": text}."""
    state = outcome_state(outcome)
    if state == JobStatus.SUCCEEDED:
        return state, _compact(outcome.get(OUTCOME_RESULT))
    return state, _compact({"job": job_id, "state": state, "error": str(outcome.get(OUTCOME_ERROR) or state)})
