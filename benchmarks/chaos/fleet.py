"""The processes under test: real `jobq worker` pools and a `jobq scheduler`, each in a
process group of its own, and a monitor that sees every process live and die.

The monitor is how the checker knows whether a job's first owner was still alive when a
second run started: it polls each group's children every POLL_S and keeps, per pid, the
first and last moment (history.clock) it was seen alive.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmarks.chaos.history import clock
from benchmarks.chaos.proxy import CuttingProxy
from benchmarks.procs import REPO, jobq_command, start_process
from jobq.localredis import LocalRedis

APP_SPEC = "benchmarks.chaos.app:app"
FAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
POLL_S = 0.1
PR_SET_PDEATHSIG = 1


def skew_env(offset_s: float) -> dict[str, str]:
    """Environment that runs a process with its wall clock `offset_s` off (libfaketime)."""
    if not os.path.exists(FAKETIME) or not offset_s:
        return {}
    return {
        "LD_PRELOAD": FAKETIME,
        "FAKETIME": f"{offset_s:+.1f}s",
        "FAKETIME_DONT_RESET": "1",
    }


def die_with_parent(sig: int = signal.SIGTERM) -> Callable[[], None]:
    """A preexec_fn: the child gets `sig` when the runner dies, so nothing outlives a run
    even if the runner is killed (Linux PR_SET_PDEATHSIG; tied to the forking thread, and
    every process of a run is started from the runner's main thread)."""

    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before the fork, not in the child

    def arm() -> None:
        prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)

    return arm


class ChaosRedis(LocalRedis):
    """A private redis-server with AOF, killed with the runner whatever happens
    (setpriv --pdeathsig, where util-linux has it)."""

    def command(self) -> list[str]:
        setpriv = shutil.which("setpriv")
        prefix = [setpriv, "--pdeathsig", "KILL"] if setpriv else []
        return prefix + super().command()


class Group:
    """One `jobq ...` command in a new session: its pid is its process group id."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log: Path) -> None:
        self.name = name
        header = f"=== {clock():.3f} start {' '.join(args)}\n"
        argv = jobq_command() + args
        self.proc = start_process(argv, env, log, preexec_fn=die_with_parent(), header=header)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def children(self) -> list[int]:
        try:
            text = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text()
        except OSError:
            return []
        return [int(p) for p in text.split()]

    def signal(self, sig: int, *, group: bool = False) -> None:
        with contextlib.suppress(ProcessLookupError):
            if group:
                os.killpg(self.pid, sig)
            else:
                os.kill(self.pid, sig)

    def wait(self, timeout: float) -> bool:
        try:
            self.proc.wait(timeout)
            return True
        except subprocess.TimeoutExpired:
            return False

    def kill(self) -> None:
        """kill -9 of the whole group, and reap the leader."""
        self.signal(signal.SIGKILL, group=True)
        self.wait(10)


@dataclass
class Life:
    """What the monitor saw of one process."""

    pid: int
    group: str
    first: float
    last: float
    leader: bool
    gone: bool = False


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] not in "ZX"


class Monitor:
    """Polls the groups it is given; `lives` maps pid -> Life."""

    def __init__(self) -> None:
        self.groups: list[Group] = []
        self.lives: dict[int, Life] = {}
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def watch(self, group: Group) -> None:
        with self.lock:
            self.groups.append(group)
        self.poll()

    def start(self) -> Monitor:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(5)
        self.poll()

    def _loop(self) -> None:
        while not self.stopping.wait(POLL_S):
            self.poll()

    def poll(self) -> None:
        now = clock()
        with self.lock:
            groups = list(self.groups)
            for g in groups:
                for pid, leader in [(g.pid, True)] + [(c, False) for c in g.children()]:
                    if pid not in self.lives and _alive(pid):
                        self.lives[pid] = Life(pid, g.name, now, now, leader)
            for life in self.lives.values():
                if not life.gone:
                    if _alive(life.pid):
                        life.last = now
                    else:
                        life.gone = True
            self.groups = [g for g in groups if g.alive() or g.children()]


POOLS = {  # name -> (processes, through the proxy, runs a scheduler too)
    "direct": (2, False, False),
    "proxied": (2, True, True),
    "skewed": (1, False, True),
}
CONCURRENCY = 4
SHUTDOWN_TIMEOUT_S = 5.0


class Fleet:
    """Redis (AOF), the cutting proxy, three worker pools and a scheduler."""

    def __init__(
        self, workdir: Path, namespace: str, vt: float, redis: ChaosRedis, proxy: CuttingProxy
    ) -> None:
        self.workdir = workdir
        self.namespace = namespace
        self.vt = vt
        self.redis = redis
        self.proxy = proxy
        self.records = workdir / "records"
        self.logs = workdir / "logs"
        self.records.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(parents=True, exist_ok=True)
        self.groups: dict[str, Group] = {}
        self.skew_s = 30.0
        self.monitor = Monitor().start()

    @property
    def proxy_url(self) -> str:
        return f"redis://127.0.0.1:{self.proxy.port}/0"

    def env(self, url: str, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            JOBQ_REDIS_URL=url,
            JOBQ_NAMESPACE=self.namespace,
            CHAOS_VT=str(self.vt),
            CHAOS_RECORDS=str(self.records),
            CHAOS_SIDE_URL=self.redis.url,
            PYTHONUNBUFFERED="1",
            PYTHONPATH=os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]),
        )
        env.update(extra)
        return env

    def start_pool(self, name: str) -> None:
        processes, proxied, beat = POOLS[name]
        args = ["worker", APP_SPEC, "-p", str(processes), "-c", str(CONCURRENCY)]
        args += ["--shutdown-timeout", str(SHUTDOWN_TIMEOUT_S)] + (["--beat"] if beat else [])
        url = self.proxy_url if proxied else self.redis.url
        extra = skew_env(self.skew_s) if name == "skewed" else {}
        self._start(name, args, self.env(url, **extra))

    def start_scheduler(self) -> None:
        self._start("scheduler", ["scheduler", APP_SPEC], self.env(self.redis.url))

    def _start(self, name: str, args: list[str], env: dict[str, str]) -> None:
        group = Group(name, args, env, self.logs / f"{name}.log")
        self.groups[name] = group
        self.monitor.watch(group)

    def start(self) -> None:
        for name in POOLS:
            self.start_pool(name)
        self.start_scheduler()

    def kill_all(self) -> None:
        for group in self.groups.values():
            group.kill()
        self.monitor.stop()
