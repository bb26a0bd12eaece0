"""Throwaway redis-server processes: the demo's fallback, `jobq.testing`, the benchmarks
and jobq's own tests all start, wait for and stop servers through `LocalRedis`.

A server listens on 127.0.0.1 only, on a free port, in a temporary directory removed by
`close()`; no snapshots, and AOF only when asked. It can be killed (-9), paused (SIGSTOP)
and restarted on the same port and directory, so an AOF server comes back with its data.
Never for production.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TypeVar
from urllib.parse import quote

from jobq.broker import Broker
from jobq.config import Config
from jobq.errors import BrokerError, JobqError

HOW_TO_INSTALL = (
    "install one with 'sudo apt-get install redis-server' (Debian/Ubuntu), "
    "'brew install redis' (macOS), or run 'docker run -d -p 6379:6379 redis:7'"
)
S = TypeVar("S", bound="LocalRedis")
START_TRIES = 3  # a free port can be taken by someone else before the server binds it
PING_TIMEOUT_S = 2.0  # a hung or foreign port must not stall a wait for long


class NoRedisServer(JobqError):
    """No redis-server executable was found to start."""


class ServerFailed(BrokerError):
    """A redis-server exited or never answered while starting; `output` says what it wrote."""

    def __init__(self, message: str, output: str) -> None:
        super().__init__(message)
        self.output = output


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """What a TLS-only server needs: its certificate and key, and the CA clients trust."""

    cert: Path
    key: Path
    ca: Path


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


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalRedis:
    """One private redis-server; use as a context manager or call start() and close().

    `extra` is appended to the command line (later options win); `config` lines are written
    to a config file the server may rewrite (a sentinel's state); `aof` turns on the append
    only file; `tls` makes the port TLS-only. With no `port`, a free one is picked (and
    another if it is taken before the server binds it).
    """

    def __init__(
        self,
        executable: str | None = None,
        *,
        port: int | None = None,
        aof: bool = False,
        extra: Sequence[str] = (),
        config: Sequence[str] = (),
        tls: TlsFiles | None = None,
    ) -> None:
        found = executable or find_redis_server()
        if found is None:
            raise NoRedisServer(f"no redis-server found on PATH; {HOW_TO_INSTALL}")
        self.executable = found
        self.fixed_port = port is not None
        self.port = port or free_port()
        self.aof = aof
        self.extra = list(extra)
        self.config = list(config)
        self.tls = tls
        self.dir = Path(tempfile.mkdtemp(prefix="jobq-redis-"))
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        if self.tls is None:
            return f"redis://127.0.0.1:{self.port}/0"
        return f"rediss://127.0.0.1:{self.port}/0?ssl_ca_certs={quote(str(self.tls.ca))}"

    def command(self) -> list[str]:
        cmd = [self.executable]
        if self.config:
            conf = self.dir / "redis.conf"
            if not conf.exists():  # a restart keeps what the server rewrote
                conf.write_text("\n".join([*self.config, ""]))
            cmd.append(str(conf))
        plain_port = "0" if self.tls is not None else str(self.port)  # 0: no plain TCP listener
        cmd += ["--port", plain_port, "--bind", "127.0.0.1", "--dir", str(self.dir), "--save", ""]
        cmd += ["--daemonize", "no", "--logfile", str(self.dir / "redis.log")]
        cmd += ["--appendonly", "yes", "--appendfsync", "everysec"] if self.aof else ["--appendonly", "no"]
        if self.tls is not None:
            cmd += ["--tls-port", str(self.port), "--tls-auth-clients", "no"]
            cmd += ["--tls-cert-file", str(self.tls.cert), "--tls-key-file", str(self.tls.key)]
            cmd += ["--tls-ca-cert-file", str(self.tls.ca)]
        return cmd + self.extra

    def ping(self, timeout: float = PING_TIMEOUT_S) -> bool:
        """Whether the server answers PING now (False while down, hung or still loading).

        A bare RESP PING on a socket: one try, no client library, no retries to wait out.
        """
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout) as raw:
                conn = raw
                if self.tls is not None:
                    context = ssl.create_default_context(cafile=str(self.tls.ca))
                    conn = context.wrap_socket(raw, server_hostname="127.0.0.1")
                with conn:
                    conn.sendall(b"PING\r\n")
                    return conn.recv(64).startswith((b"+PONG", b"-NOAUTH"))  # NOAUTH: up, locked
        except OSError:  # refused, reset, timed out, or the TLS handshake failed
            return False

    def start(self: S, timeout: float = 15.0) -> S:
        """Start and wait until it answers; ServerFailed (with its output) if it never does."""
        output = ""
        for attempt in range(1 if self.fixed_port else START_TRIES):
            if attempt:
                self.port = free_port()
            failed = self._launch(timeout)
            if failed is None:
                self.fixed_port = True  # from now on the port is this server's: restarts keep it
                return self
            output = failed
        self.close()
        last = [line for line in output.splitlines() if line.strip()]
        raise ServerFailed(
            f"could not start redis-server ({self.executable}): {last[-1] if last else 'no output'}", output
        )

    def _launch(self, timeout: float) -> str | None:
        """One try: None once it answers, else what it wrote (it is no longer running)."""
        out = self.dir / "startup.out"
        with open(out, "wb") as sink:  # errors before the log file opens go to stderr
            # Its own session: a Ctrl-C meant for our process must not stop it before we do.
            self.proc = subprocess.Popen(self.command(), stdout=sink, stderr=sink, start_new_session=True)
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            if self.ping():
                return None
            time.sleep(0.02)
        self.kill()
        log = self.dir / "redis.log"
        return out.read_text(errors="replace") + (log.read_text(errors="replace") if log.exists() else "")

    def _signal(self, sig: signal.Signals) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, sig)

    def kill(self) -> None:
        """kill -9: no shutdown, no final save, like a crash."""
        self._signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(10)

    def pause(self) -> None:
        """SIGSTOP: the process hangs with its port open, so clients time out."""
        assert self.proc is not None and self.proc.poll() is None, "server not running"
        self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT after `pause()`."""
        self._signal(signal.SIGCONT)

    def restart(self: S, timeout: float = 15.0) -> S:
        """kill -9, then start again on the same port and directory (an AOF is replayed)."""
        self.kill()
        return self.start(timeout)

    def close(self) -> None:
        """Stop the server (even a paused one) and remove its directory; safe to call twice."""
        self.resume()
        self._signal(signal.SIGTERM)
        if self.proc is not None:
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self: S) -> S:
        return self.start() if self.proc is None else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
