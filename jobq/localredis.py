"""A throwaway redis-server for the demo and for users' tests: a free loopback port, a
temporary directory, no persistence, stopped (and its directory removed) when done.

Never for production: it keeps nothing on disk and listens on 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from jobq.broker import Broker
from jobq.config import Config
from jobq.errors import BrokerError, JobqError

HOW_TO_INSTALL = (
    "install one with 'sudo apt-get install redis-server' (Debian/Ubuntu), "
    "'brew install redis' (macOS), or run 'docker run -d -p 6379:6379 redis:7'"
)


class NoRedisServer(JobqError):
    """No redis-server executable was found to start."""


def find_redis_server() -> str | None:
    """The path of a redis-server executable on PATH, if any."""
    return shutil.which("redis-server")


def answers(url: str) -> bool:
    """Whether a Redis server answers PING at `url`."""
    broker = Broker(Config(redis_url=url))
    try:
        broker.ping()
        return True
    except BrokerError:
        return False
    finally:
        broker.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalRedis:
    """One private redis-server; use as a context manager or call start()/stop()."""

    def __init__(self, executable: str | None = None) -> None:
        found = executable or find_redis_server()
        if found is None:
            raise NoRedisServer(f"no redis-server found on PATH; {HOW_TO_INSTALL}")
        self.executable = found
        self.port = 0
        self.dir: Path | None = None
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _command(self) -> list[str]:
        assert self.dir is not None
        return [
            self.executable,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.dir),
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--logfile",
            str(self.dir / "redis.log"),
        ]

    def start(self, timeout: float = 10.0) -> LocalRedis:
        """Start on a free port and wait until it answers; a few tries if the port is taken."""
        self.dir = Path(tempfile.mkdtemp(prefix="jobq-redis-"))
        for _ in range(3):
            self.port = _free_port()
            # Its own session: a Ctrl-C meant for our process must not stop it before we do.
            self.proc = subprocess.Popen(
                self._command(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            if self._wait_ready(timeout):
                return self
        log = self._log_tail()
        self.stop()
        raise BrokerError(f"could not start redis-server ({self.executable}): {log or 'no output'}")

    def _wait_ready(self, timeout: float) -> bool:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False  # exited: most likely the port was taken meanwhile
            if answers(self.url):
                return True
            time.sleep(0.02)
        self._kill()
        return False

    def _log_tail(self) -> str:
        if self.dir is None:
            return ""
        with contextlib.suppress(OSError):
            lines = (self.dir / "redis.log").read_text(errors="replace").strip().splitlines()
            return lines[-1] if lines else ""
        return ""

    def _kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def stop(self) -> None:
        """Stop the server and remove its directory; safe to call twice."""
        self._kill()
        self.proc = None
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self) -> LocalRedis:
        return self.start() if self.proc is None else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
