"""Workflow calls (jobq.workflow): create a workflow's state, admit its jobs to their
queues, apply finished members to it and clear the outbox records applied.

Each call touches one slot: a queue's (admit, outbox) or a workflow's own (state), so
every step works on Redis Cluster, and each is idempotent, so a drain interrupted between
two of them is completed by replaying the outbox.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from jobq import protocol
from jobq.broker.producer import Producer
from jobq.records import OUTBOX_MEMBERS, WAITING, job_record

ADMIT_CHUNK = 1000
_compact = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


class WorkflowCalls(Producer):
    """The producer's side: create workflows, admit their first jobs, read their state."""

    def wf_create(self, workflow_id: str, fields: Mapping[str, str], ttl: int) -> None:
        """Write a new workflow's state (before any of its jobs exists), expiring in `ttl`
        seconds unless `wf_created` says every job of it was written."""
        key = self.ns.workflow(workflow_id)
        items = list(fields.items())
        with self._errors():
            pipe = self.client.pipeline(transaction=False)
            for start in range(0, len(items), 1000):
                pipe.hset(key, mapping=dict(items[start : start + 1000]))
            pipe.expire(key, ttl)  # in the same write as the fields
            pipe.execute()

    def wf_created(self, workflow_id: str) -> None:
        """Every job of the workflow is written: its state stops expiring until it finishes
        (then it expires with the results; see wf_apply.lua)."""
        with self._errors():
            self._run("wf_apply", protocol.wf_apply(self.ns.workflow(workflow_id), [], created=True))

    def wf_admit(self, queue: str, items: Sequence[protocol.Admit], ttl: int) -> list[Any]:
        """Run wf_admit.lua on one queue, in chunks (each chunk is atomic)."""
        k = self.ns.queue(queue)
        done: list[Any] = []
        with self._errors():
            if queue not in self._known_queues:
                self._register_queue(queue)
            for start in range(0, len(items), ADMIT_CHUNK):
                chunk = items[start : start + ADMIT_CHUNK]
                done += list(self._run("wf_admit", protocol.wf_admit(k, chunk, ttl)))
        return done

    def wf_apply(self, workflow_id: str, records: Sequence[protocol.Member]) -> protocol.Applied:
        with self._errors():
            reply = self._run("wf_apply", protocol.wf_apply(self.ns.workflow(workflow_id), records))
        return protocol.parse_wf_apply(reply)

    def wf_state(self, workflow_id: str, fields: Sequence[str]) -> list[str | None]:
        with self._errors():
            found: Any = self.client.hmget(self.ns.workflow(workflow_id), list(fields))
        return [None if v is None else str(v) for v in found]

    def wf_members(self, workflow_id: str, limit: int) -> list[str]:
        """Up to `limit` member job ids of a workflow (bounded: one HSCAN page at a time)."""
        found: list[str] = []
        with self._errors():
            for field in self.client.hscan_iter(self.ns.workflow(workflow_id), match="i.*", count=100):
                found.append(str(field[0])[2:])
                if len(found) >= limit:
                    break
        return found

    def links(self, queue: str, job_id: str) -> list[str]:
        """The workflows an unfinished job is a member or a parent of."""
        with self._errors():
            found: Any = self.client.hget(self.ns.queue(queue).links, job_id)
        return str(found).split() if found else []

    def wf_results(self, workflow_id: str, n: int) -> str:
        """As AsyncWorkflowCalls.wf_results (a drain run by a cancel, jobq.workflow.cascade)."""
        with self._errors():
            fields: Any = self.client.hgetall(self.ns.workflow(workflow_id))
        return results_list(fields, n)

    def outbox_read(self, queue: str, before: int | str, count: int) -> list[protocol.Outboxed]:
        """A queue's outbox records up to `before` (Redis ms; "+": all), oldest first."""
        with self._errors():
            found: Any = self.client.xrange(self.ns.queue(queue).outbox, "-", before, count=count)
        return [rec for eid, fields in found for rec in outboxed(eid, fields)]

    def outbox_delete(self, queue: str, entry_ids: Sequence[str]) -> None:
        with self._errors():
            self.client.xdel(self.ns.queue(queue).outbox, *dict.fromkeys(entry_ids))

    def wf_delete(self, workflow_id: str) -> None:
        """Drop a workflow whose jobs could not all be admitted (nothing of it runs)."""
        with self._errors():
            self.client.delete(self.ns.workflow(workflow_id))


class AsyncWorkflowCalls:
    """The worker's side (mixed into AsyncBroker): apply members, release what follows."""

    ns: Any
    client: Any

    async def _run(self, name: str, call: protocol.Call) -> Any:
        raise NotImplementedError

    async def wf_apply(self, workflow_id: str, records: Sequence[protocol.Member]) -> protocol.Applied:
        call = protocol.wf_apply(self.ns.workflow(workflow_id), records)
        return protocol.parse_wf_apply(await self._run("wf_apply", call))

    async def waiting_page(self, queue: str, cursor: int, count: int) -> tuple[int, list[tuple[str, str]]]:
        """One HSCAN page of a queue's job records: the next cursor (0: the scan is done),
        and the (job id, workflow id) of the waiting jobs on it."""
        with self._errors:  # type: ignore[attr-defined]
            cursor, found = await self.client.hscan(self.ns.queue(queue).jobs, cursor, count=count)
        pairs = (job_record(str(v)) for v in found.values())
        ids = list(found)
        return int(cursor), [
            (str(i), rest) for i, (kind, rest) in zip(ids, pairs, strict=True) if kind == WAITING
        ]

    async def wf_results(self, workflow_id: str, n: int) -> str:
        """The JSON list of a chord's member results, in member order (null for a missing
        one): read here rather than in wf_apply.lua, where a big chord would hold Redis up."""
        with self._errors:  # type: ignore[attr-defined]
            return results_list(await self.client.hgetall(self.ns.workflow(workflow_id)), n)

    async def wf_admit(self, queue: str, items: Sequence[protocol.Admit], ttl: int) -> list[Any]:
        """One reply per item (see wf_admit.lua): 1 / 0, or an outbox entry id."""
        return list(await self._run("wf_admit", protocol.wf_admit(self.ns.queue(queue), items, ttl)))

    async def outbox_read(self, queue: str, before_ms: int, count: int) -> list[protocol.Outboxed]:
        """Outbox records older than `before_ms` (Redis ms): left by a drain that did not
        finish (its worker died); younger ones are still being drained by their writer."""
        with self._errors:  # type: ignore[attr-defined]
            found = await self.client.xrange(self.ns.queue(queue).outbox, "-", before_ms, count=count)
        return [rec for eid, fields in found for rec in outboxed(eid, fields)]

    async def outbox_entries(self, queue: str, entry_ids: Sequence[str]) -> list[protocol.Outboxed]:
        """These outbox records (those still there)."""
        outbox = self.ns.queue(queue).outbox
        with self._errors:  # type: ignore[attr-defined]
            pipe = self.client.pipeline(transaction=False)
            for eid in entry_ids:
                pipe.xrange(outbox, eid, eid, count=1)
            replies = await pipe.execute()
        return [rec for reply in replies for eid, fields in reply for rec in outboxed(eid, fields)]

    async def outbox_delete(self, queue: str, entry_ids: Sequence[str]) -> None:
        """Delete these records (an id given more than once is deleted once)."""
        with self._errors:  # type: ignore[attr-defined]
            await self.client.xdel(self.ns.queue(queue).outbox, *dict.fromkeys(entry_ids))


def results_list(fields: Mapping[str, str], n: int) -> str:
    """The JSON list of the member results r.1 .. r.n of a workflow's state fields (a
    10,000-member chord's callback waits for this: each r.<k> is looked up, a third of the
    time that parsing the name of every field took)."""
    names = [f"r.{k}" for k in range(1, n + 1)]
    return "[" + ",".join(map(fields.get, names, ["null"] * n)) + "]"


def outboxed(entry_id: Any, fields: Mapping[str, Any]) -> list[protocol.Outboxed]:
    """The finished jobs an outbox stream entry tells of (see tell_workflows.lua); none if
    it does not parse: then one that tells no workflow, so the drain deletes it."""
    try:
        told = json.loads(fields.get(OUTBOX_MEMBERS, "[]"))
        return [protocol.Outboxed(str(entry_id), str(j), str(w), _compact(o)) for j, w, o in told]
    except (TypeError, ValueError):
        return [protocol.Outboxed(str(entry_id), "", "", "{}")]
