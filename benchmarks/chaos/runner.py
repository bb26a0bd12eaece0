"""One chaos run, start to verdict: bring the fleet up, enqueue and inject faults for the
given time, wait out the deadline, read every fate, tear everything down.

Every loop has a deadline and everything started is killed at the end (process groups,
then the Redis server), whatever happened in between.
"""

from __future__ import annotations

import random
import shutil
import time
from datetime import datetime, timezone
from pathlib import Path

import jobq
from benchmarks.chaos import app as under_test
from benchmarks.chaos.checker import Verdict, check
from benchmarks.chaos.faults import Injector
from benchmarks.chaos.fleet import POOLS, ChaosRedis, Fleet
from benchmarks.chaos.history import TERMINAL, History, Window, clock, parse_records
from benchmarks.chaos.producer import Producer
from benchmarks.chaos.proxy import CuttingProxy
from benchmarks.chaos.schedule import make_schedule
from jobq.errors import JobqError
from jobq.keys import NamespaceKeys
from jobq.schedule import tick_id

VT_S = 6.0
# "always": Redis answers a write only once it is on disk, so a job lost across a kill -9
# is jobq's doing. With "everysec", a slow fsync on a busy disk makes Redis postpone its
# AOF write (up to 2 s) while it keeps answering, and a kill -9 then loses acknowledged
# writes that the checker would blame on jobq.
FSYNC = "always"
HEAL_MARGIN_S = 10.0  # "stuck": not terminal this long after the last heal, plus the lease
READY_TIMEOUT_S = 60.0
FIRST_TICK_AFTER_S = 5.0  # ticks due this soon after the start are not judged
QUEUES = (under_test.QUEUE, under_test.CRON_QUEUE)


def run(seed: int, seconds: float, workdir: Path) -> tuple[History, Verdict]:
    workdir.mkdir(parents=True, exist_ok=True)
    redis = ChaosRedis(aof=True, extra=["--appendfsync", FSYNC]).start()
    proxy = CuttingProxy(redis.port, random.Random(seed)).start()
    namespace = f"chaos{seed}"
    fleet = Fleet(workdir, namespace, VT_S, redis, proxy)
    client_app = jobq.App(redis.url, namespace=namespace, visibility_timeout=VT_S)
    try:
        fleet.start()
        _wait_ready(client_app, namespace)
        return _run(seed, seconds, fleet, client_app, workdir)
    finally:
        fleet.kill_all()
        proxy.close()
        shutil.copy(redis.dir / "redis.log", workdir / "logs" / "redis.log")
        redis.close()


def _wait_ready(app: jobq.App, namespace: str) -> None:
    """Until every worker process has sent its first heartbeat."""
    want = sum(p for p, _, _ in POOLS.values())
    deadline = clock() + READY_TIMEOUT_S
    key = NamespaceKeys(namespace).workers
    while app.broker.client.zcard(key) < want:
        if clock() > deadline:
            raise RuntimeError(f"the workers did not start within {READY_TIMEOUT_S:.0f} s")
        time.sleep(0.2)


def _run(seed: int, seconds: float, fleet: Fleet, app: jobq.App, workdir: Path) -> tuple[History, Verdict]:
    t0 = clock()
    wall0 = time.time()
    injector = Injector(fleet, t0, workdir / "faults.log")
    injector.plan(make_schedule(seed, seconds))
    producer = Producer(app, seed).start()
    end = t0 + seconds
    while clock() < end or (injector.pending() and clock() < end + 30):
        injector.step(clock())
        time.sleep(0.05)
    producer.stop()
    t_end = clock()
    h = History(vt=VT_S, t0=t0, fsync=FSYNC, enqueued=producer.offered, acked=dict(producer.acked))
    h.raised = dict(producer.raised)
    h.wall_offset = wall0 - t0
    h.ticks = _ticks(t0, wall0, t0 + FIRST_TICK_AFTER_S, t_end)
    h.deadline = max(injector.last_heal, t_end) + HEAL_MARGIN_S + VT_S
    h.fates, h.tick_fates = _await_fates(app, h)
    h.last_heal = injector.last_heal
    lives = fleet.monitor.lives
    h.alive_at_end = [p for p, life in lives.items() if not life.gone]
    fleet.kill_all()
    h.lives = {p: Window(life.first, life.last) for p, life in lives.items()}
    h.schedulers = [Window(lv.first, lv.last) for lv in lives.values() if _schedules(lv.group, lv.leader)]
    h.outages = list(injector.outages)
    h.faults = dict(injector.counts)
    h.timeouts = dict(under_test.TIMEOUTS)
    h.dead_reasons = _dead_reasons(app)
    h.runs = parse_records("".join(p.read_text() for p in sorted(fleet.records.glob("*.log"))))
    h.save(workdir / "history.json")
    return h, check(h)


def _schedules(group: str, leader: bool) -> bool:
    """The scheduler process, and the supervisors of pools started with --beat."""
    return group == "scheduler" or (leader and group in POOLS and POOLS[group][2])


def _ticks(t0: float, wall0: float, first: float, last: float) -> dict[str, float]:
    """Cron job id -> due time (monotonic) of every tick due in [first, last]."""
    out = {}
    every = under_test.CRON_EVERY_S
    sec = int((first - t0 + wall0) // every + 1) * every
    while sec - wall0 + t0 <= last:
        due = datetime.fromtimestamp(sec, tz=timezone.utc)
        out[tick_id(under_test.CRON_NAME, due)] = sec - wall0 + t0
        sec += every
    return out


def _status(app: jobq.App, queue: str, job_id: str) -> str | None:
    try:
        return jobq.Job(app, job_id, queue).status()
    except jobq.JobNotFound:
        return None


def _await_fates(app: jobq.App, h: History) -> tuple[dict[str, str | None], dict[str, str | None]]:
    """Poll until every job and tick is terminal, or the deadline; the fates seen then."""
    wanted = {j: under_test.QUEUE for j in h.acked} | {j: under_test.CRON_QUEUE for j in h.ticks}
    fates: dict[str, str | None] = {}
    while True:
        for job, queue in wanted.items():
            if fates.get(job) not in TERMINAL:
                try:
                    fates[job] = _status(app, queue, job)
                except JobqError:
                    fates[job] = "unreadable"
        if all(f in TERMINAL for f in fates.values()) or clock() >= h.deadline:
            break
        time.sleep(1.0)
    return {j: fates[j] for j in h.acked}, {j: fates[j] for j in h.ticks}


def _dead_reasons(app: jobq.App) -> dict[str, str]:
    from jobq.dlq import list_dead

    out = {}
    for queue in QUEUES:
        for dead in list_dead(app.broker, queue, 10**7):
            out[dead.id] = dead.reason
    return out
