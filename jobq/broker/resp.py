"""A minimal Redis client for the reads of a stats snapshot: RESP2 over one socket, replies
parsed by hiredis.Reader, without redis-py.

Why it exists: importing redis-py costs 150-400 ms (its package imports its asyncio
client, its parsers, maintenance notifications and, where installed, OpenTelemetry's
SDK), more than the 0.25 s a whole `jobq stats` may take (issue 17; benchmarks/README.md,
"CLI startup"). It speaks only to one server given as a redis://, rediss:// or unix://
URL whose options are all in `OPTIONS`, and only the commands SnapshotReads sends, with
redis-py's reply shapes for them. Every other URL, and a missing hiredis, goes through
redis-py (jobq.broker.lite.open_reads).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from hiredis import Reader, ReplyError, pack_command

from jobq.config import ambiguous_userinfo

CONNECT_TIMEOUT_S, SOCKET_TIMEOUT_S = 3.0, 5.0  # as jobq.broker.connection gives redis-py
RETRIES = 2  # a refused or reset connection is tried again, as redis-py's Retry does
TLS_OPTIONS = ("ssl_cert_reqs", "ssl_ca_certs", "ssl_certfile", "ssl_keyfile", "ssl_check_hostname")
OPTIONS = ("db", *TLS_OPTIONS)
FALSE_WORDS = ("0", "F", "FALSE", "N", "NO")  # redis-py's to_bool

Command = tuple[Any, ...]
Shape = Callable[[Any], Any]


@dataclass(frozen=True)
class Endpoint:
    """Where one server is and how to log in, read from its URL as redis-py reads it."""

    host: str = "localhost"
    port: int = 6379
    path: str | None = None  # a unix socket
    db: int = 0
    username: str | None = None
    password: str | None = None
    tls: dict[str, str] | None = field(default=None, hash=False)  # the ssl_* options of rediss://

    @property
    def where(self) -> str:
        return f"unix socket: {self.path}" if self.path else f"{self.host}:{self.port}"


def endpoint(url: str) -> Endpoint | None:
    """The Endpoint of `url`; None for anything this client leaves to redis-py (a Cluster
    or Sentinel URL, another option, a URL redis-py might read otherwise or refuse)."""
    try:
        parts = urlsplit(url)
        port = parts.port or 6379
        options = {name: values[0] for name, values in parse_qs(parts.query).items()}
    except ValueError:
        return None
    scheme = parts.scheme
    allowed = OPTIONS if scheme == "rediss" else ("db",)
    if scheme not in ("redis", "rediss", "unix") or ambiguous_userinfo(url) or set(options) - set(allowed):
        return None
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    if username and not password:
        return None
    db_text = options.get("db")
    if db_text is None and scheme != "unix" and parts.path:
        db_text = unquote(parts.path).replace("/", "") or "0"
    if not (db_text or "0").isdigit():
        return None
    db = int(db_text or 0)
    if scheme == "unix":
        path = unquote(parts.path)
        return Endpoint(path=path, db=db, username=username, password=password) if path else None
    host = unquote(parts.hostname) if parts.hostname else "localhost"
    tls = {k: v for k, v in options.items() if k != "db"} if scheme == "rediss" else None
    return Endpoint(host, port, None, db, username, password, tls)


class CannotConnect(ConnectionError):
    """Connecting failed; `again` if it is worth another try (refused, reset)."""

    def __init__(self, text: str, again: bool) -> None:
        super().__init__(text)
        self.again = again


class RespClient:
    """One connection, opened on first use and again after a failure. `call` sends a batch
    of commands in one write and returns their replies, error replies as ReplyError values."""

    def __init__(self, where: Endpoint) -> None:
        self.where = where
        self._sock: socket.socket | None = None
        self._reader = Reader(encoding="utf-8", errors="replace")

    def pipeline(self, transaction: bool = False) -> Pipeline:
        return Pipeline(self)

    def smembers(self, key: str) -> set[str]:
        return self.pipeline(transaction=False).smembers(key).execute()[0]  # type: ignore[no-any-return]

    def zrevrange(self, key: str, start: int, end: int) -> list[str]:
        return self.pipeline(transaction=False).zrevrange(key, start, end).execute()[0]  # type: ignore[no-any-return]

    def zrem(self, key: str, *members: str) -> int:
        return self.pipeline(transaction=False).command(("ZREM", key, *members)).execute()[0]  # type: ignore[no-any-return]

    def call(self, commands: Sequence[Command]) -> list[Any]:
        payload = b"".join(pack_command(c) for c in commands)
        for attempt in range(RETRIES + 1):
            try:
                sock = self._sock or self._open()
                sock.sendall(payload)
                return [self._reply(sock) for _ in commands]
            except CannotConnect as exc:
                if not exc.again or attempt == RETRIES:
                    raise
            except ConnectionError:  # a connection the server dropped (reset, closed, broken pipe)
                self.close()
                if attempt == RETRIES:
                    raise
            except BaseException:
                self.close()
                raise
            time.sleep(0.05 * 2**attempt)
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
        self._sock = None
        self._reader = Reader(encoding="utf-8", errors="replace")

    def _reply(self, sock: socket.socket) -> Any:
        while True:
            reply = self._reader.gets()
            if reply is not False:
                return reply
            try:
                data = sock.recv(65536)
            except TimeoutError:
                raise TimeoutError("Timeout reading from socket") from None
            if not data:
                raise ConnectionError("Connection closed by server.")
            self._reader.feed(data)

    def _open(self) -> socket.socket:
        """A connected, logged-in socket on the right database; errors worded as redis-py's."""
        w = self.where
        try:
            if w.path:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.settimeout(CONNECT_TIMEOUT_S)
                try:
                    sock.connect(w.path)
                except BaseException:
                    sock.close()
                    raise
            else:
                sock = socket.create_connection((w.host, w.port), timeout=CONNECT_TIMEOUT_S)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                if w.tls is not None:
                    sock = _wrap_tls(sock, w.host, w.tls)
        except TimeoutError:
            raise CannotConnect("Timeout connecting to server", again=False) from None
        except OSError as exc:
            text = str(exc)
            if len(exc.args) == 2:
                text = f"Error {exc.args[0]} connecting to {w.where}. {exc.args[1]}."
            raise CannotConnect(text, again=isinstance(exc, ConnectionError)) from None
        sock.settimeout(SOCKET_TIMEOUT_S)
        self._sock = sock
        hello: list[Command] = []
        if w.password:
            hello.append(("AUTH", w.username, w.password) if w.username else ("AUTH", w.password))
        if w.db:
            hello.append(("SELECT", w.db))
        if hello:
            sock.sendall(b"".join(pack_command(c) for c in hello))
            for reply in [self._reply(sock) for _ in hello]:
                if isinstance(reply, ReplyError):
                    raise reply
        return sock


def _wrap_tls(sock: socket.socket, host: str, options: dict[str, str]) -> socket.socket:
    """`sock` in TLS as redis-py's SSLConnection sets it up from the same URL options."""
    import ssl  # here: only rediss:// pays for it

    modes = {"none": ssl.CERT_NONE, "optional": ssl.CERT_OPTIONAL, "required": ssl.CERT_REQUIRED}
    mode = modes[options.get("ssl_cert_reqs", "required")]
    context = ssl.create_default_context()
    context.check_hostname = mode != ssl.CERT_NONE and (
        options.get("ssl_check_hostname", "true").upper() not in FALSE_WORDS
    )
    context.verify_mode = mode
    if "ssl_certfile" in options or "ssl_keyfile" in options:
        context.load_cert_chain(certfile=options.get("ssl_certfile", ""), keyfile=options.get("ssl_keyfile"))
    if "ssl_ca_certs" in options:
        context.load_verify_locations(cafile=options["ssl_ca_certs"])
    try:
        return context.wrap_socket(sock, server_hostname=host)
    except BaseException:
        sock.close()
        raise


def _pairs(reply: Any) -> Any:
    return dict(zip(reply[::2], reply[1::2], strict=True)) if isinstance(reply, list) else reply


def _scored(reply: Any) -> Any:
    return list(zip(reply[::2], map(float, reply[1::2]), strict=True))


def _same(reply: Any) -> Any:
    return reply


class Pipeline:
    """redis-py's pipeline calls that SnapshotReads makes, with redis-py's reply shapes
    (decoded, RESP2): sent in one write by `execute`."""

    def __init__(self, client: RespClient) -> None:
        self._client = client
        self._queued: list[tuple[Command, Shape]] = []

    def command(self, args: Command, shape: Shape = _same) -> Pipeline:
        self._queued.append((args, shape))
        return self

    def execute(self, raise_on_error: bool = True) -> list[Any]:
        queued, self._queued = self._queued, []
        replies = self._client.call([args for args, _ in queued]) if queued else []
        out = []
        for (_, shape), reply in zip(queued, replies, strict=True):
            if isinstance(reply, ReplyError):
                if raise_on_error:
                    raise reply
                out.append(reply)
            else:
                out.append(shape(reply))
        return out

    def time(self) -> Pipeline:
        return self.command(("TIME",), lambda r: (int(r[0]), int(r[1])))

    def zrevrange(self, key: str, start: int, end: int, withscores: bool = False) -> Pipeline:
        if not withscores:
            return self.command(("ZREVRANGE", key, start, end))
        return self.command(("ZREVRANGE", key, start, end, "WITHSCORES"), _scored)

    def smembers(self, key: str) -> Pipeline:
        return self.command(("SMEMBERS", key), set)

    def xlen(self, key: str) -> Pipeline:
        return self.command(("XLEN", key))

    def zcard(self, key: str) -> Pipeline:
        return self.command(("ZCARD", key))

    def get(self, key: str) -> Pipeline:
        return self.command(("GET", key))

    def hgetall(self, key: str) -> Pipeline:
        return self.command(("HGETALL", key), _pairs)

    def xinfo_groups(self, key: str) -> Pipeline:
        return self.command(("XINFO", "GROUPS", key), lambda r: [_pairs(group) for group in r])

    def xrange(self, key: str, min: str, max: str, count: int) -> Pipeline:
        return self.command(
            ("XRANGE", key, min, max, "COUNT", count), lambda r: [(e[0], _pairs(e[1])) for e in r]
        )
