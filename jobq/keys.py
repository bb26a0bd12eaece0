"""Every Redis key jobq uses, in one place.

Key schema (``ns`` = namespace, ``q`` = queue; braces are the Cluster hash tag, so every
key of one queue lives in one slot and every Lua step stays inside it)::

    ns:{q}:stream          work stream; consumer group GROUP; entries hold field j = envelope
                                 (jobs at the default priority, 5)
    ns:{q}:stream:p<N>     stream of priority level N (0..9 but 5), made when first used,
                                 with its consumer group, inside the queue's hash tag
    ns:{q}:levels          set   the priority levels other than 5 ever used in the queue
    ns:{q}:jobs            hash  job id -> "Q<stream id>" queued or running,
                                           "S<due ms>" scheduled, "X<stream id>" cancel asked
    ns:{q}:scheduled       zset  job id -> due time (ms, Redis clock)
    ns:{q}:delayed         hash  job id -> envelope of a scheduled job
    ns:{q}:dead            dead-letter stream: j = envelope, d = JSON of reason/error/...
    ns:{q}:deadidx         hash  job id -> entry id in the dead-letter stream
    ns:{q}:result:<id>     string (TTL) final outcome JSON of a finished job: state, result
                                 or error, attempts, timings and the envelope it ran with
    ns:{q}:waiters         hash  job id -> number of callers blocked in Job.result()
    ns:{q}:notify:<id>     list  (short TTL) wakes those callers
    ns:{q}:progress:<id>   string (TTL) the job's last progress report (jobq.progress)
    ns:{q}:links           hash  job id -> the workflows it is a parent in (space-separated
                                 links; a member's own link is in its envelope); removed
                                 when the job finishes
    ns:{q}:outbox          stream "members finished" records, one per settle (m = [job id,
                                 workflow links, outcome]...) written by the finishing
                                 script itself and moved to the workflows by
                                 jobq.workflow.drain
    ns:{wf:<w>}:state      hash  a workflow's state, in its own slot (see wf_apply.lua);
                                 expires with the results once it has finished
    ns:{q}:counters        hash  running totals: processed, failed, per task, and the
                                 duration histogram (dcount, dsum_us, dle:<task>:<bound>)
    ns:{q}:cron:<name>     hash  a cron entry's state: mark, tick, job, fired, skipped...
    ns:{q}:paused          string Redis time (ms) the queue was paused at; absent: running
    ns:{q}:rate:<limiter>  zset  a rate limit (limiter = task:key): job id -> its start (ms,
                                 Redis clock) in the last period (the sliding window), or
                                 the slot a deferred job reserved (a later time)
    ns:{q}:slots:<limiter> zset  a concurrency cap: stream id of each holder -> its lease
                                 expiry (ms, Redis clock), renewed with the lease
    ns:queues              set   every queue name ever used in this namespace
    ns:workers             zset  worker id -> last heartbeat (ms, Redis clock)
    ns:worker:<id>         hash  (TTL) a worker's host, pid, queues, busy, concurrency,
                                 processed, latency p50/p95, running jobs' start times
    ns:startfail           zset  pool id (host:supervisor pid) -> last failed start (Unix s)
    ns:startfail:<pool>    hash  (TTL) why that pool's workers fail to start: hook, error,
                                 failures (see jobq.startfail)

The keys addressed by a job id (result, notify) or a cron entry's name carry the queue's
hash tag too, so a script may name them next to the queue's keys. This module is the only
place a key name is made: Lua scripts receive every key they touch in KEYS and never build
one (tests/test_lua_keys.py checks the scripts).
"""

from __future__ import annotations

from dataclasses import dataclass

from jobq.flow import DEFAULT_PRIORITY, PRIORITIES

GROUP = "jobq"


def limiter_id(task: str, key: str) -> str:
    """The part of a limit's key names that says whose limit it is: task, then the key its
    rate_limit_key / concurrency_key function gave ("" : one limit for the whole task)."""
    return f"{task}:{key}"


@dataclass(frozen=True, slots=True)
class QueueKeys:
    """The keys of one queue; all share the hash tag ``{q}``."""

    namespace: str
    queue: str

    @property
    def prefix(self) -> str:
        return f"{self.namespace}:{{{self.queue}}}:"

    @property
    def stream(self) -> str:
        return self.prefix + "stream"

    def level_stream(self, level: int) -> str:
        """The stream of one priority level: the queue's own stream at the default level."""
        if level == DEFAULT_PRIORITY:
            return self.stream
        return f"{self.prefix}stream:p{level}"

    @property
    def level_streams(self) -> tuple[str, ...]:
        """The streams of levels 0..9, in that order (index = level)."""
        return tuple(self.level_stream(level) for level in PRIORITIES)

    @property
    def levels(self) -> str:
        return self.prefix + "levels"

    @property
    def jobs(self) -> str:
        return self.prefix + "jobs"

    @property
    def scheduled(self) -> str:
        return self.prefix + "scheduled"

    @property
    def delayed(self) -> str:
        return self.prefix + "delayed"

    @property
    def dead(self) -> str:
        return self.prefix + "dead"

    @property
    def dead_index(self) -> str:
        return self.prefix + "deadidx"

    @property
    def waiters(self) -> str:
        return self.prefix + "waiters"

    @property
    def counters(self) -> str:
        return self.prefix + "counters"

    @property
    def paused(self) -> str:
        return self.prefix + "paused"

    def rate(self, limiter: str) -> str:
        """A rate limit's window; `limiter` is `limiter_id(task, key)`."""
        return f"{self.prefix}rate:{limiter}"

    def slots(self, limiter: str) -> str:
        """A concurrency cap's holders; `limiter` is `limiter_id(task, key)`."""
        return f"{self.prefix}slots:{limiter}"

    def result(self, job_id: str) -> str:
        return f"{self.prefix}result:{job_id}"

    def notify(self, job_id: str) -> str:
        return f"{self.prefix}notify:{job_id}"

    def progress(self, job_id: str) -> str:
        return f"{self.prefix}progress:{job_id}"

    @property
    def links(self) -> str:
        return self.prefix + "links"

    @property
    def outbox(self) -> str:
        return self.prefix + "outbox"

    def cron(self, name: str) -> str:
        """The state hash of cron entry `name`: in the queue's slot, so deciding a tick and
        enqueueing its job is one script."""
        return f"{self.prefix}cron:{name}"


@dataclass(frozen=True, slots=True)
class NamespaceKeys:
    """Keys shared by every queue of one namespace."""

    namespace: str

    @property
    def queues(self) -> str:
        return f"{self.namespace}:queues"

    @property
    def workers(self) -> str:
        return f"{self.namespace}:workers"

    def worker(self, worker_id: str) -> str:
        return f"{self.namespace}:worker:{worker_id}"

    @property
    def start_failures(self) -> str:
        return f"{self.namespace}:startfail"

    def start_failure(self, pool: str) -> str:
        return f"{self.namespace}:startfail:{pool}"

    def queue(self, name: str) -> QueueKeys:
        return QueueKeys(self.namespace, name)

    def workflow(self, workflow_id: str) -> str:
        """A workflow's state hash, tagged with its own id: any slot, none of its members'."""
        return f"{self.namespace}:{{wf:{workflow_id}}}:state"
