"""`jobq demo`: a worker pool processing a realistic mix of jobs, and what became of each.

This module is also the demo's APP (`jobq worker jobq.demo:app`): the tasks below are
real work in miniature (resizing an image, counting words, an async API call, a webhook
that fails twice before it gets through, a CSV import that can never succeed, a delayed
reminder and a cron heartbeat). `Demo` enqueues them, watches each to its end, prints a
line per job and a summary, and leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import hashlib
import io
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import partial
from typing import Any

import jobq
from jobq.config import redact_url
from jobq.cron import entry_states
from jobq.dlq import find_dead
from jobq.errors import JobFailed, JobqError
from jobq.localredis import HOW_TO_INSTALL, LocalRedis, answers, find_redis_server
from jobq.stats import snapshot

app = jobq.App(namespace="jobq-demo")

# the tasks ----------------------------------------------------------------------------


@app.task(name="demo.resize_image", queue="media")
def resize_image(name: str, width: int, height: int, target_width: int = 64) -> str:
    """Box-downsample a generated greyscale image; returns its new size and a checksum."""
    seed = int(hashlib.sha256(name.encode()).hexdigest()[:8], 16)
    pixels = [[(x * 7 + y * 13 + seed) % 256 for x in range(width)] for y in range(height)]
    step = max(1, width // target_width)
    small = [
        [sum(row[x : x + step]) // step for x in range(0, width - step + 1, step)] for row in pixels[::step]
    ]
    digest = hashlib.sha256(bytes(v for row in small for v in row)).hexdigest()[:8]
    return f"{name} {width}x{height} -> {len(small[0])}x{len(small)} ({digest})"


@app.task(name="demo.word_count")
def word_count(text: str) -> str:
    """Count words and name the most common one."""
    words = [w.strip(".,;:!?").lower() for w in text.split()]
    top = max(set(words), key=lambda w: (words.count(w), w))
    return f"{len(words)} words, most common {top!r}"


@app.task(name="demo.fetch_quote")
async def fetch_quote(symbol: str) -> str:
    """An async task: waits on a (simulated) price API without holding a thread."""
    await asyncio.sleep(0.3)
    cents = int(hashlib.sha256(symbol.encode()).hexdigest()[:6], 16) % 50000 + 1000
    return f"{symbol} {cents / 100:.2f} USD"


@app.task(name="demo.send_webhook", retries=3, backoff=0.3, backoff_max=0.6)
def send_webhook(url: str) -> str:
    """The endpoint answers 503 twice, then accepts: retried with backoff until it works."""
    attempt = jobq.current_job().attempt
    if attempt < 3:
        raise ConnectionError(f"{url} answered 503 Service Unavailable")
    return f"delivered to {url} on attempt {attempt}"


ORDERS_CSV = "order,amount\nA-100,12.50\nA-101,7.25\nA-102,twelve\n"


@app.task(name="demo.import_orders", retries=2, backoff=0.2, backoff_max=0.4)
def import_orders(data: str) -> str:
    """Every attempt meets the same bad row: once retries are spent it is dead-lettered."""
    total = 0.0
    for number, row in enumerate(csv.DictReader(io.StringIO(data)), start=2):
        try:
            total += float(row["amount"])
        except ValueError:
            raise ValueError(f"line {number}: amount {row['amount']!r} is not a number") from None
    return f"imported, total {total:.2f}"


@app.task(name="demo.send_reminder")
def send_reminder(user: str) -> str:
    """Enqueued with a delay: it may not run before its time."""
    return f"reminded {user} at {datetime.now(timezone.utc):%H:%M:%S} UTC"


@app.cron("* * * * * */2", name="demo.heartbeat")
def heartbeat() -> str:
    """A cron entry: enqueued every two seconds, exactly once per tick."""
    return f"tick at {datetime.now(timezone.utc):%H:%M:%S} UTC"


# the run -------------------------------------------------------------------------------

REMINDER_DELAY_S = 3.0
NOTES = {
    "demo.resize_image": "CPU work on a thread, queue 'media'",
    "demo.fetch_quote": "async: awaits a (simulated) price API",
    "demo.word_count": "a plain function",
    "demo.send_webhook": "answers 503 twice: retried with backoff, then delivered",
    "demo.import_orders": "a bad row every time: dead-lettered after 3 attempts",
    "demo.send_reminder": f"delayed {REMINDER_DELAY_S:.0f} s: may not run before then",
    "demo.heartbeat": "every 2 s, enqueued exactly once per tick (--beat)",
}
TEXT = "the quick brown fox jumps over the lazy dog; the dog sleeps, the fox runs"


@dataclass
class Planned:
    """One job the demo enqueues, and how it ended."""

    task: str
    send: Callable[[], jobq.Job[Any]]
    job: jobq.Job[Any] | None = None
    outcome: str = ""
    detail: str = ""
    finished_at: float = 0.0


def the_mix() -> list[Planned]:
    """Successes (sync and async), a retry that succeeds, a dead letter, a delayed job."""
    mix = [
        Planned(resize_image.name, partial(resize_image.delay, f"photo-{n}.jpg", 640, 360))
        for n in range(1, 7)
    ]
    mix += [Planned(fetch_quote.name, partial(fetch_quote.delay, s)) for s in ("ACME", "INITECH", "UMBRELLA")]
    return [
        *mix,
        Planned(word_count.name, partial(word_count.delay, TEXT)),
        Planned(send_webhook.name, partial(send_webhook.delay, "https://hooks.example.com/orders")),
        Planned(import_orders.name, partial(import_orders.delay, ORDERS_CSV)),
        Planned(send_reminder.name, partial(send_reminder.enqueue, args=("alice",), delay=REMINDER_DELAY_S)),
    ]


@dataclass
class Demo:
    """Runs the demo against `redis_url`, printing through `echo`."""

    redis_url: str
    echo: Callable[[str], None]
    namespace: str | None = None
    processes: int = 2
    verbose: bool = False
    deadline_s: float = 30.0
    private: LocalRedis | None = None
    pool: subprocess.Popen[bytes] | None = None
    log_path: str = ""
    started: float = field(default_factory=time.monotonic)

    def run(self) -> int:
        """0 when every job ended as planned; JobqError (one line) if there is no Redis at all."""
        try:
            self._connect()
            own_namespace = self.namespace is None
            app.reconfigure(
                redis_url=self.redis_url, namespace=self.namespace or f"jobq-demo-{uuid.uuid4().hex[:6]}"
            )
            try:
                complete = self._run_jobs()
            finally:
                self._stop_pool()
                if own_namespace:
                    with contextlib.suppress(JobqError):
                        app.broker.delete_namespace()
        finally:
            if self.private is not None:
                self.private.close()
                self.echo("Stopped the private redis-server.")
        self.echo(f"Done in {time.monotonic() - self.started:.1f} s.")
        return 0 if complete else 1

    def _connect(self) -> None:
        if answers(self.redis_url):
            self.echo(f"Redis     {redact_url(self.redis_url)} (the demo works in a namespace of its own)")
            return
        if find_redis_server() is None:
            raise JobqError(
                f"nothing answers at {redact_url(self.redis_url)} and no redis-server is installed "
                f"to start a private one; {HOW_TO_INSTALL}"
            )
        self.private = LocalRedis().start()
        self.echo(
            f"Redis     nothing answers at {redact_url(self.redis_url)}: started a private redis-server "
            f"on 127.0.0.1:{self.private.port} (temporary directory, no persistence; stopped at the end)"
        )
        self.redis_url = self.private.url

    def _run_jobs(self) -> bool:
        self._start_pool()
        if not self._wait_for_workers():
            return False
        mix = the_mix()
        for planned in mix:
            planned.job = planned.send()
        self._describe(mix)
        complete = self._watch(mix)
        self._summary(mix)
        return complete

    # the pool --------------------------------------------------------------------------

    def pool_command(self) -> list[str]:
        cmd = [sys.executable, "-m", "jobq", "worker", "jobq.demo:app", "-p", str(self.processes), "-c", "8"]
        cmd += ["--namespace", app.config.namespace]  # the URL goes in the environment: argv is public
        cmd += ["--beat"]  # the cron scheduler, for the heartbeat
        return [*cmd, "--shutdown-timeout", "5", "--log-level", "info" if self.verbose else "warning"]

    def _start_pool(self) -> None:
        cmd = self.pool_command()
        fd, self.log_path = tempfile.mkstemp(prefix="jobq-demo-", suffix=".log")
        with os.fdopen(fd, "wb") as log:
            self.pool = subprocess.Popen(
                cmd,
                env={**os.environ, "JOBQ_REDIS_URL": app.config.redis_url},
                stdout=None if self.verbose else log,
                stderr=None if self.verbose else log,
                start_new_session=True,  # its own group: Ctrl-C reaches the demo, which stops it
            )
        shown = " ".join(["jobq", *cmd[3:]])
        self.echo(f"Workers   {shown}  (pid {self.pool.pid})")

    def _wait_for_workers(self) -> bool:
        """Enqueue only once every worker process has said it is up (its first heartbeat)."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < self.deadline_s:
            if self.pool is not None and self.pool.poll() is not None:
                return False
            if len(snapshot(app.broker, app.queues()).workers) >= self.processes:
                self.echo(f"          {self.processes} worker processes up in {time.monotonic() - t0:.1f} s")
                return True
            time.sleep(0.05)
        self.echo(f"error: the worker processes did not come up within {self.deadline_s:.0f} s")
        return False

    def _stop_pool(self) -> None:
        pool = self.pool
        if pool is None:
            return
        if pool.poll() is None:
            pool.send_signal(signal.SIGTERM)
            try:
                code = pool.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(pool.pid, signal.SIGKILL)
                code = pool.wait(5)
            self.echo(f"Stopped the worker pool (SIGTERM: in-flight jobs finish; exit code {code}).")
        else:
            self.echo(f"error: the worker pool exited early (exit code {pool.returncode}); its log:")
            self._show_log()
        with contextlib.suppress(OSError):
            os.unlink(self.log_path)

    def _show_log(self) -> None:
        with contextlib.suppress(OSError), open(self.log_path, errors="replace") as log:
            for line in log.read().splitlines()[-20:]:
                self.echo(f"  | {line}")

    # watching ----------------------------------------------------------------------------

    def _describe(self, mix: list[Planned]) -> None:
        counts: dict[str, int] = {}
        for p in mix:
            counts[p.task] = counts.get(p.task, 0) + 1
        self.echo(f"Enqueued  {len(mix)} jobs:")
        for task, n in counts.items():
            self.echo(f"          {n} x {task:<20} {NOTES[task]}")
        self.echo(f"          cron {'demo.heartbeat':<19} {NOTES['demo.heartbeat']}")
        self.echo("")
        self.echo(f"  {'time':>6}  {'job':<8}  {'task':<20}  {'outcome':<9}  result")

    def _watch(self, mix: list[Planned]) -> bool:
        """Print each job as it finishes; True if all did, and a cron tick ran, in time."""
        t0 = time.monotonic()
        ticks: list[Planned] = []
        while time.monotonic() - t0 < self.deadline_s:
            self._follow_ticks(ticks)
            for p in [*mix, *ticks]:
                if not p.outcome and p.job is not None and self._settle(p):
                    label = "(cron)" if p in ticks else p.job.id[:8]
                    self._line(p.finished_at - t0, label, p.task, p.outcome, p.detail)
            if all(p.outcome for p in mix) and any(t.outcome for t in ticks):
                return True
            if self.pool is not None and self.pool.poll() is not None:
                return False
            time.sleep(0.05)
        waiting = ", ".join(f"{p.task} ({p.job.id[:8] if p.job else '?'})" for p in mix if not p.outcome)
        self.echo(f"error: not finished within {self.deadline_s:.0f} s: {waiting or 'no cron tick yet'}")
        return False

    def _follow_ticks(self, ticks: list[Planned]) -> None:
        """Follow each heartbeat run the scheduler enqueues (the entry's latest job)."""
        known = {t.job.id for t in ticks if t.job is not None}
        for state in entry_states(app):
            job_id = state.last_job
            if state.entry.name == heartbeat.name and job_id and job_id not in known:
                ticks.append(Planned(heartbeat.name, partial(app.job, job_id), job=app.job(job_id)))

    def _settle(self, p: Planned) -> bool:
        assert p.job is not None
        state = p.job.status()
        if state not in ("succeeded", "dead", "cancelled"):
            return False
        p.finished_at = time.monotonic()
        p.outcome = state
        try:
            p.detail = str(p.job.result(timeout=1))
        except JobFailed as exc:
            p.detail = f"{exc.error} ({self._attempts(p.job)} attempts)"
        return True

    def _attempts(self, job: jobq.Job[Any]) -> str:
        dead = find_dead(app.broker, job.queue, job.id)
        return str(dead.attempts) if dead and dead.attempts else "?"

    def _line(self, at: float, job: str, task: str, outcome: str, detail: str) -> None:
        self.echo(f"  {at:5.2f}s  {job:<8}  {task:<20}  {outcome:<9}  {detail}")

    def _summary(self, mix: list[Planned]) -> None:
        snap = snapshot(app.broker, app.queues())
        self.echo("")
        self.echo("  queue     processed  failed  dead  backlog  scheduled")
        for q in snap.queues:
            row = f"{q.processed:>10} {q.failed:>7} {q.dead:>5} {q.backlog:>8} {q.scheduled:>10}"
            self.echo(f"  {q.name:<8}{row}")
        self.echo("")
        ok = sum(p.outcome == "succeeded" for p in mix)
        dead = sum(p.outcome == "dead" for p in mix)
        failed = sum(q.failed for q in snap.queues)
        self.echo(f"{ok} of {len(mix)} jobs succeeded; {dead} dead-lettered with its error and traceback;")
        self.echo(f"{failed} attempts failed on the way, each retried with backoff while retries remained.")
        if self.namespace is None:
            self.echo("To look around afterwards, keep the data: 'jobq demo --namespace demo', then")
            self.echo("'jobq stats --namespace demo' and 'jobq dlq list default --namespace demo'.")
