"""What every workload shares: the private server, the bench app pointed at it, the
record directory, and how to start a worker."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import bench_app
from benchmarks.procs import REPO, WorkerProcess
from benchmarks.records import DIR_ENV, count
from benchmarks.server import BenchServer

NAMESPACE = "bench"
PREFILL_BATCH = 1000


def tmpfs_dir() -> Path:
    """A fresh directory in /dev/shm when there is one (records cost no disk I/O)."""
    base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix="jobq-bench-", dir=base))


@dataclass
class Bench:
    server: BenchServer
    logdir: Path
    rundir: Path = field(default_factory=tmpfs_dir)
    workers_started: int = 0

    def __post_init__(self) -> None:
        self.connect()

    def connect(self) -> None:
        bench_app.app.reconfigure(redis_url=self.server.url, namespace=NAMESPACE)

    @property
    def app(self) -> Any:
        return bench_app.app

    def task(self, name: str) -> Any:
        return bench_app.TASKS[name]

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            JOBQ_REDIS_URL=self.server.url,
            JOBQ_NAMESPACE=NAMESPACE,
            PYTHONPATH=os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p),
            PYTHONUNBUFFERED="1",
        )
        env[DIR_ENV] = str(self.rundir)
        return env

    def fresh(self) -> None:
        """Empty Redis and the record directory before a measurement."""
        self.server.flush()
        self.connect()  # a fresh Broker: the old one remembers queues FLUSHALL removed
        shutil.rmtree(self.rundir, ignore_errors=True)
        self.rundir.mkdir(parents=True)

    def prefill(self, task_name: str, n: int, batch: int = PREFILL_BATCH) -> float:
        """Enqueue n jobs of a task with delay_many; returns the seconds it took."""
        task = self.task(task_name)
        started = time.perf_counter()
        for start in range(0, n, batch):
            now = time.time()
            task.delay_many([(i, now) for i in range(start, min(n, start + batch))])
        return time.perf_counter() - started

    def start_worker(self, processes: int, concurrency: int, label: str) -> WorkerProcess:
        self.workers_started += 1
        log = self.logdir / f"{self.workers_started:03d}-{label}.log"
        return WorkerProcess(processes, concurrency, self.env(), log)

    def close(self) -> None:
        shutil.rmtree(self.rundir, ignore_errors=True)


def wait_records(b: Bench, target: int, deadline: float, worker: WorkerProcess | None = None) -> bool:
    """Poll the record count until `target` or the deadline (or the worker died)."""
    while time.monotonic() < deadline:
        if count(b.rundir) >= target:
            return True
        if worker is not None and not worker.alive():
            time.sleep(0.5)
            return count(b.rundir) >= target
        time.sleep(0.005)
    return False
