"""jobq behind Redis Sentinel (`redis+sentinel://`): a master, one replica and one sentinel
on loopback; the master is killed mid-run and producers and workers follow the failover.

Replication is asynchronous, so a write the master acknowledged in its last moments may
never reach the replica. The test pins that window down: everything enqueued before a
`WAIT 1` barrier must run, everything enqueued after the kill must run, and only jobs
whose enqueue returned in between may be lost (counted and reported).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import jobq
from tests.support import runlog
from tests.support.cluster import SentinelSet
from tests.support.processes import JobqProcess
from tests.support.waiting import wait_for

Start = Callable[..., JobqProcess]


@dataclass
class Producer:
    """Enqueues one job after another from a thread; retries an enqueue that failed with
    BrokerError under the same job id (idempotent), as a producer should during failover."""

    task: jobq.Task[[float], str]
    done: list[tuple[str, float]] = field(default_factory=list)  # (job id, when it returned)
    failures: int = 0
    crashed: BaseException | None = None  # what ended run() other than stop, for the failure message
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        try:
            self._run()
        except BaseException as exc:
            self.crashed = exc
            raise

    def _run(self) -> None:
        n = 0
        while not self.stop.is_set():
            job_id = f"job-{n:05d}"
            try:
                self.task.enqueue(args=(0.02,), job_id=job_id)
            except jobq.BrokerError:
                self.failures += 1
                time.sleep(0.05)
                continue
            self.done.append((job_id, time.monotonic()))
            n += 1
            time.sleep(0.005)

    def returned_between(self, start: float, end: float) -> list[str]:
        return [j for j, at in list(self.done) if start <= at < end]


@pytest.fixture
def sentinel_set() -> Iterator[SentinelSet]:
    topology = SentinelSet().start()
    yield topology
    topology.close()


def test_kill_the_master_mid_run_producers_and_workers_follow_the_failover(
    sentinel_set: SentinelSet,
    jobq_cli: Start,
    namespace: str,
    tmp_path: Path,
    report: dict[str, object],
) -> None:
    runs = tmp_path / "runs.log"
    app = jobq.App(sentinel_set.url, namespace=namespace, visibility_timeout=2.0)
    work: jobq.Task[[float], str] = app.task(name="fleet.work", queue="alpha")(lambda s: "")
    env = {"JOBQ_NAMESPACE": namespace, "JOBQ_RUN_LOG": str(runs), "JOBQ_VT": "2"}
    pool = jobq_cli(["worker", "fleet_app", "-q", "alpha", "-p", "1", "-c", "4"], sentinel_set.url, **env)
    producer = Producer(work)
    thread = threading.Thread(target=producer.run, daemon=True)
    thread.start()

    def state() -> str:
        return (
            f"enqueued={len(producer.done)} producer_errors={producer.failures} "
            f"producer_crashed={producer.crashed!r} started={len(runlog.started(runs))} "
            f"ended={len(runlog.ended(runs))} sentinel_master={_master_port(sentinel_set)} "
            f"master={sentinel_set.master.port}\npool output:\n{pool.output()[-3000:]}"
        )

    try:
        wait_for(lambda: len(runlog.ended(runs)) >= 40, 60, "40 jobs to run before the kill", explain=state)
        barrier = time.monotonic()
        master = sentinel_set.master.client()
        master.set(f"{namespace}:barrier", "1")
        assert master.wait(1, 5000) == 1, "the replica should acknowledge the barrier"
        in_flight = set(runlog.started(runs)) - set(runlog.ended(runs))
        sentinel_set.master.kill()
        killed = time.monotonic()
        wait_for(sentinel_set.failed_over, 30, "the sentinel to promote the replica")
        failed_over_s = time.monotonic() - killed
        count_at_failover = len(producer.done)
        wait_for(
            lambda: len(producer.done) >= count_at_failover + 40,
            60,
            "40 enqueues after failover",
            explain=state,
        )
    finally:
        producer.stop.set()
        thread.join(10)

    must_run = set(producer.returned_between(0, barrier)) | set(producer.returned_between(killed, 1e12))
    window = producer.returned_between(barrier, killed)
    wait_for(
        lambda: must_run <= set(runlog.ended(runs)), 60, "every job outside the window to run", explain=state
    )
    wait_for(lambda: not _unfinished(app, "alpha"), 30, "the queue to drain")
    ended = runlog.ended(runs)
    lost = [j for j in window if j not in ended]
    assert pool.proc.poll() is None, "the worker pool should ride out the failover"
    assert producer.failures > 0, "the producer should have seen the master go away"
    report.update(
        enqueued=len(producer.done),
        in_flight_at_kill=len(in_flight),
        failover_s=round(failed_over_s, 2),
        producer_errors=producer.failures,
        window_jobs=len(window),
        lost_in_window=len(lost),
        ran_twice=sum(1 for n in ended.values() if n > 1),
    )


def _master_port(topology: SentinelSet) -> object:
    try:
        return topology.sentinel.master_port() if topology.sentinel is not None else None
    except Exception as exc:  # a diagnostic: say what went wrong instead
        return repr(exc)


def _unfinished(app: jobq.App, queue: str) -> int:
    k = app.broker.queue_keys(queue)
    return int(app.broker.client.hlen(k.jobs))
