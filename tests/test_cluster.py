"""jobq on a real three-master Redis Cluster on loopback (`redis+cluster://`).

Every key of a queue shares one hash tag, so every Lua step stays in one slot; different
queues land on different shards. The core scenarios run here as they do on one server.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import redis
from click.testing import CliRunner

import jobq
from jobq import protocol
from jobq.broker import AsyncBroker
from jobq.cli import cli
from jobq.keys import GROUP, NamespaceKeys
from jobq.testing import BackgroundWorker, drain
from tests.support import runlog
from tests.support.cluster import RedisClusterSet
from tests.support.corepool import held_job_ids
from tests.support.processes import APPS_DIR, JobqProcess, env_for, jobq_executable
from tests.support.redis_server import free_port
from tests.support.waiting import wait_for

Start = Callable[..., JobqProcess]
FLEET_QUEUES = ("alpha", "beta", "gamma", "delta")


def run_cli(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_each_queue_is_one_slot_and_queues_spread_over_the_shards(cluster: RedisClusterSet) -> None:
    client = cluster.client()
    ns = NamespaceKeys("spread")
    shards = set()
    for name in ("default", "mail", "reports", "images", "billing", "alpha"):
        k = ns.queue(name)
        keys = [k.stream, k.jobs, k.scheduled, k.delayed, k.dead, k.dead_index, k.waiters, k.counters]
        keys += [k.result("job-1"), k.notify("job-1")]
        slots = {client.keyslot(key) for key in keys}
        assert len(slots) == 1, f"queue {name} spans slots {slots}"
        shards.add(cluster.port_of(k.stream))
    assert len(shards) == len(cluster.nodes), "six queues should use every shard of three"


def test_jobq_pipelines_are_never_transactions() -> None:
    """ns:queues / ns:workers / ns:worker:<id> sit in other slots than the queue keys: any
    MULTI mixing them would fail with CROSSSLOT, so jobq must only use plain pipelines."""
    source = Path(jobq.__file__).parent
    for path in source.rglob("*.py"):
        text = path.read_text()
        for i, line in enumerate(text.splitlines(), 1):
            if ".pipeline(" in line and "def pipeline" not in line and "super().pipeline" not in line:
                assert "transaction=False" in line, f"{path.name}:{i} opens a transactional pipeline"
            assert ".multi(" not in line and ".watch(" not in line, f"{path.name}:{i} uses MULTI/WATCH"


def test_enqueue_results_retries_and_dead_letters(capp: jobq.App) -> None:
    runs: Counter[str] = Counter()

    @capp.task(name="add", queue="alpha")
    def add(x: int, y: int) -> int:
        runs["add"] += 1
        return x + y

    @capp.task(name="flaky", queue="beta", retries=3, backoff=0.01, backoff_max=0.05)
    def flaky() -> int:
        runs["flaky"] += 1
        if jobq.current_job().attempt < 3:
            raise RuntimeError("not yet")
        return jobq.current_job().attempt

    @capp.task(name="doomed", queue="gamma", retries=1, backoff=0.01, backoff_max=0.05)
    def doomed() -> None:
        runs["doomed"] += 1
        raise ValueError("always fails")

    @capp.task(name="refuse", queue="delta")
    def refuse() -> None:
        raise jobq.Reject("refused on purpose")

    sums = add.delay_many([(i, i) for i in range(700)])  # more than one enqueue chunk
    flaky_job, doomed_job, refused = flaky.delay(), doomed.delay(), refuse.delay()
    drain(capp, timeout=60)

    assert [j.result(timeout=5) for j in sums] == [2 * i for i in range(700)]
    assert flaky_job.result(timeout=5) == 3 and runs["flaky"] == 3
    assert runs["add"] == 700 and runs["doomed"] == 2
    for job, why in ((doomed_job, "always fails"), (refused, "refused on purpose")):
        assert job.status() == "dead"
        with pytest.raises(jobq.JobFailed, match=why):
            job.result(timeout=5)
    listed = json.loads(run_cli("dlq", "list", "gamma", "--json", *_where(capp)))
    assert [d["id"] for d in listed] == [doomed_job.id]
    assert listed[0]["attempts"] == 2


def test_delayed_jobs_cancel_and_dead_letter_replay(capp: jobq.App) -> None:
    ran: list[str] = []

    @capp.task(name="tick", queue="alpha")
    def tick(tag: str) -> str:
        ran.append(tag)
        return tag

    @capp.task(name="picky", queue="beta", retries=0)
    def picky() -> str:
        if "picky" not in ran:  # fails its first run only
            ran.append("picky")
            raise ValueError("first time fails")
        return "fine"

    later = tick.enqueue(args=("later",), delay=0.5)
    cancelled = tick.enqueue(args=("never",), delay=30)
    assert later.status() == "scheduled" and cancelled.status() == "scheduled"
    assert cancelled.cancel() is True
    assert cancelled.status() == "cancelled"
    dead = picky.delay()
    drain(capp, timeout=30)
    assert later.result(timeout=5) == "later" and "never" not in ran
    assert dead.status() == "dead"

    run_cli("dlq", "requeue", "beta", "--all", *_where(capp))
    assert dead.status() == "queued"
    drain(capp, timeout=30)
    assert dead.result(timeout=5) == "fine"

    waiting = tick.delay_many([("purged",)] * 5)
    run_cli("purge", "alpha", "--yes", *_where(capp))
    assert {j.status() for j in waiting} == {"cancelled"}


def test_a_reused_id_and_a_blocked_caller(capp: jobq.App) -> None:
    """Scripts given a job's result key in KEYS (enqueue of a chosen id, settle) and the
    wake-up of a caller blocked in result() stay in the queue's slot."""

    @capp.task(name="echo", queue="gamma")
    def echo(x: int) -> int:
        return x

    first = echo.enqueue(args=(1,), job_id="same")
    drain(capp, timeout=30)
    assert first.result(timeout=5) == 1
    second = echo.enqueue(args=(2,), job_id="same")
    with pytest.raises(TimeoutError):
        second.result(timeout=0.2)
    got: list[int] = []
    waiter = threading.Thread(target=lambda: got.append(second.result(timeout=60)))
    waiter.start()
    k = capp.broker.queue_keys("gamma")
    wait_for(lambda: capp.broker.client.hget(k.waiters, "same"), 10, "the caller to wait")
    drain(capp, timeout=30)
    waiter.join(60)
    assert got == [2]


def test_one_worker_reads_every_queue_across_shards(capp: jobq.App, cluster: RedisClusterSet) -> None:
    """XREADGROUP over streams in different slots is CROSSSLOT: the broker reads each."""
    for q in FLEET_QUEUES:
        capp.submit("nothing", (), queue=q)
    assert len({cluster.port_of(capp.broker.queue_keys(q).stream) for q in FLEET_QUEUES}) > 1

    async def read_all() -> tuple[set[str], list[object]]:
        broker = AsyncBroker(capp.config, "reader")
        try:
            await broker.ensure_groups(FLEET_QUEUES)
            streams = {broker.ns.queue(q).stream: ">" for q in FLEET_QUEUES}
            got = await broker.read(streams, 10, 2000)
            idle = await broker.read(streams, 10, 150)  # nothing left: returns after the block
            return {str(stream) for stream, _ in got}, idle
        finally:
            await broker.close()

    streams, idle = asyncio.run(read_all())
    assert streams == {capp.broker.queue_keys(q).stream for q in FLEET_QUEUES}
    assert idle == []


def test_chords_and_chains_across_queues_on_different_shards(
    capp: jobq.App, cluster: RedisClusterSet
) -> None:
    """Members on three queues, the callback on a fourth, the workflow's state in its own
    slot: no script sees two of them, and the callback still runs once, with every result."""

    @capp.task(name="cl.square")
    def square(x: int) -> int:
        return x * x

    @capp.task(name="cl.total", queue="delta")
    def total(xs: list[int]) -> int:
        record.append(xs)
        return sum(xs)

    record: list[list[int]] = []
    members = [jobq.Signature(_on_queue(square, FLEET_QUEUES[i % 3]), (i,)) for i in range(9)]
    with BackgroundWorker(capp, list(FLEET_QUEUES), concurrency=4):
        job = jobq.chord(members, total.s()).delay()
        assert job.result(30) == sum(i * i for i in range(9))
        steps = jobq.chain(members[1], total.si([5]), jobq.Signature(_on_queue(square, "gamma"))).delay()
        assert steps.result(30) == 25
    assert record == [[i * i for i in range(9)], [5]]
    shards = {cluster.port_of(capp.broker.queue_keys(q).stream) for q in FLEET_QUEUES}
    assert len(shards) >= 2
    assert capp.broker.client.exists(capp.broker.ns.workflow(job.workflow_id))  # kept for the TTL


def _on_queue(task: jobq.Task[..., int], queue: str) -> Any:
    """`task` as if registered on `queue` (a Signature enqueues on its task's queue)."""
    return task.app.task(name=f"{task.name}.{queue}", queue=queue)(task.fn)


def test_every_lua_script_ran_on_the_cluster() -> None:
    """The scenarios above run each script; a new script must get a cluster scenario too."""
    covered = {"enqueue", "enqueue_now", "promote", "settle", "renew", "reclaim", "status", "cancel"}
    covered |= {"requeue_dead"}
    covered |= {"purge", "cron_fire", "cron_trigger"}
    covered |= {"flow_acquire", "fetch_levels", "age_levels"}  # tests/test_cluster_flow.py
    covered |= {"wf_admit", "wf_apply"}
    missing = set(protocol.SCRIPT_NAMES) - covered
    assert not missing, f"add a Redis Cluster scenario to tests/test_cluster.py for {sorted(missing)}"


def test_kill_9_of_a_worker_pool_loses_no_job(
    capp: jobq.App, cluster: RedisClusterSet, jobq_cli: Start, tmp_path: Path
) -> None:
    runs = tmp_path / "runs.log"
    env = {"JOBQ_NAMESPACE": capp.config.namespace, "JOBQ_RUN_LOG": str(runs), "JOBQ_VT": "2"}
    work = capp.task(name="fleet.work", queue="alpha")(_nothing)
    add = capp.task(name="fleet.add", queue="beta")(_nothing)
    jobs = work.delay_many([(0.05,)] * 120) + add.delay_many([(1, 2)] * 120)
    args = ["worker", "fleet_app", "-q", "alpha", "-q", "beta", "-p", "2", "-c", "4"]
    first = jobq_cli(args, cluster.url, **env)
    wait_for(lambda: len(runlog.started(runs)) >= 60, 60, "the first pool to start 60 jobs")
    first.kill_group()
    # delivered to the dead pool and never acknowledged: running, waiting for a slot, or
    # finished with their settle not yet written; these, and only these, may run again
    held = held_job_ids(capp, "alpha") | held_job_ids(capp, "beta")
    assert held, "the kill should catch jobs in flight"

    jobq_cli(args, cluster.url, **env)
    wanted = {j.id for j in jobs}
    wait_for(lambda: set(runlog.ended(runs)) >= wanted, 60, "every job to finish after the kill")
    wait_for(lambda: _pending(capp, ("alpha", "beta")) == 0, 30, "every entry to be acknowledged")
    ended = runlog.ended(runs)
    assert set(ended) == wanted
    assert {j for j, n in ended.items() if n > 1} <= held, "a job ran twice with a live owner"
    assert {j.status() for j in jobs} == {"succeeded"}


def test_cron_ticks_fire_once_with_two_schedulers(
    cluster: RedisClusterSet, namespace: str, jobq_cli: Start, tmp_path: Path, report: dict[str, object]
) -> None:
    """Two schedulers (one under `worker --beat`, one alone) offer every tick; each runs once."""
    runs = tmp_path / "runs.log"
    env = {"JOBQ_NAMESPACE": namespace, "JOBQ_RUN_LOG": str(runs)}
    pool = jobq_cli(["worker", "fleet_app", "-q", "cron", "--beat"], cluster.url, **env)
    alone = jobq_cli(["scheduler", "fleet_app"], cluster.url, **env)
    for proc in (pool, alone):
        wait_for(lambda p=proc: "scheduler.started" in p.output(), 60, "both schedulers to start")
    both_running = time.time()
    wait_for(lambda: len(_ticks_after(runs, both_running)) >= 5, 60, "five ticks after both started")
    ran = runlog.ended(runs)
    twice = {job_id: n for job_id, n in ran.items() if n > 1}
    assert not twice, f"ticks ran more than once: {twice}"
    ticks = sorted(_ticks_after(runs, both_running))
    seconds = [datetime.strptime(t.rsplit(":", 1)[1], "%Y%m%dT%H%M%SZ").timestamp() for t in ticks]
    report.update(ticks=len(ticks), gaps=int(seconds[-1] - seconds[0]) + 1 - len(ticks))
    assert "cron.tick_fired" in pool.output() + alone.output()

    trigger = jobq_cli(["cron", "trigger", "fleet_app", "fleet.every_second"], cluster.url, **env)
    assert trigger.wait(60) == 0, trigger.output()
    manual = trigger.output().strip().splitlines()[-1]
    assert manual.startswith("cron:fleet.every_second:manual-")
    wait_for(lambda: manual in runlog.ended(runs), 30, "the triggered run")


def _ticks_after(runs: Path, since: float) -> set[str]:
    return {r.job_id for r in runlog.read(runs) if r.kind == "E" and r.at > since + 1.0}


def test_stats_and_worker_heartbeats_on_a_cluster(capp: jobq.App) -> None:
    @capp.task(name="add", queue="alpha")
    def add(x: int, y: int) -> int:
        return x + y

    @capp.task(name="boom", queue="beta", retries=0)
    def boom() -> None:
        raise RuntimeError("boom")

    add.delay_many([(1, 1)] * 20)
    boom.delay()
    with BackgroundWorker(capp, ["alpha", "beta"]) as worker:
        worker.wait_until_idle(30)
        wait_for(lambda: _stats(capp)["workers"], 15, "the worker's heartbeat")
        snap = _stats(capp)
    queues = {q["name"]: q for q in snap["queues"]}
    assert queues["alpha"]["processed"] == 20 and queues["alpha"]["backlog"] == 0
    assert queues["beta"]["failed"] == 1 and queues["beta"]["dead"] == 1
    assert [w["queues"] for w in snap["workers"]] == [["alpha", "beta"]]


def test_a_cluster_that_cannot_be_reached_is_one_line_and_exit_1(cluster: RedisClusterSet) -> None:
    unused = free_port()
    proc = subprocess.run(
        [*jobq_executable(), "stats", "--redis-url", f"redis+cluster://127.0.0.1:{unused}"],
        env=env_for(cluster.url),
        cwd=str(APPS_DIR),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1, proc.stderr
    assert "Traceback" not in proc.stderr


def test_workers_and_producers_ride_out_a_whole_cluster_restart(namespace: str) -> None:
    """Every node killed at once: producers get one clear BrokerError, workers back off
    (no crash), and both carry on once the cluster is back (AOF keeps the jobs)."""
    topology = RedisClusterSet(aof=True).start()
    try:
        app = jobq.App(topology.url, namespace=namespace, visibility_timeout=3.0)
        done: list[int] = []

        @app.task(name="mark", queue="alpha")
        def mark(n: int) -> int:
            done.append(n)
            return n

        with BackgroundWorker(app, ["alpha", "beta"]) as worker:
            assert mark.delay(1).result(timeout=20) == 1
            for node in topology.nodes:
                node.kill()
            with pytest.raises(jobq.BrokerError, match="cannot reach Redis at redis\\+cluster://"):
                mark.delay(2)
            for node in topology.nodes:
                node.start()
            wait_for(topology.healthy, 30, "the restarted cluster to reach cluster_state:ok")
            job = wait_for(lambda: _try_enqueue(mark, 3), 30, "the producer to enqueue again")
            assert job.result(timeout=30) == 3
            assert worker.alive
        assert done == [1, 3]
    finally:
        topology.close()


def _try_enqueue(task: jobq.Task[[int], int], n: int) -> jobq.Job[int] | None:
    try:
        return task.delay(n)
    except jobq.BrokerError:
        return None


def _nothing(*_args: object) -> None:
    return None


def _where(app: jobq.App) -> list[str]:
    return ["--redis-url", app.config.redis_url, "--namespace", app.config.namespace]


def _stats(app: jobq.App) -> dict[str, list[dict[str, object]]]:
    data: dict[str, list[dict[str, object]]] = json.loads(run_cli("stats", "--json", *_where(app)))
    return data


def _pending(app: jobq.App, queues: tuple[str, ...]) -> int:
    client: redis.RedisCluster = app.broker.client  # type: ignore[assignment]
    total = 0
    for q in queues:
        total += int(client.xpending(app.broker.queue_keys(q).stream, GROUP)["pending"])
    return total
