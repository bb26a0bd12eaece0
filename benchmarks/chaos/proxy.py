"""A loopback TCP proxy that can cut its connections in the middle of a reply.

Workers that talk to Redis through it see what a flaky network or a load balancer
does: a reply that starts and never ends, then a reset. One thread accepts, two threads
pump each connection; `cut(n)` marks n live connections, and each marked one forwards
only the first half of its next chunk from the server before both sides are closed.
"""

from __future__ import annotations

import contextlib
import random
import socket
import threading
import time

CHUNK = 65536
CUT_WAIT_S = 2.0  # a marked connection with no reply by then is closed anyway


class _Link:
    """One client connection and its upstream twin."""

    def __init__(self, client: socket.socket, upstream: socket.socket) -> None:
        self.client = client
        self.upstream = upstream
        self.cut_at: float | None = None
        self.closed = threading.Event()

    def close(self) -> None:
        if not self.closed.is_set():
            self.closed.set()
            for s in (self.client, self.upstream):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()


class CuttingProxy:
    """Forwards 127.0.0.1:<port> to 127.0.0.1:<upstream_port>."""

    def __init__(self, upstream_port: int, rng: random.Random | None = None) -> None:
        self.upstream_port = upstream_port
        self.rng = rng or random.Random(0)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.links: set[_Link] = set()
        self.lock = threading.Lock()
        self.stopping = False
        self.cuts = 0  # connections actually cut mid-reply

    def start(self) -> CuttingProxy:
        self._spawn(self._accept_loop)
        return self

    def _spawn(self, target: object, *args: object) -> None:
        t = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        t.start()

    def _accept_loop(self) -> None:
        self.listener.settimeout(0.2)
        while not self.stopping:
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=2)
            except OSError:
                client.close()  # the server is down: the client sees a reset, as without us
                continue
            upstream.settimeout(None)
            link = _Link(client, upstream)
            with self.lock:
                self.links.add(link)
            self._spawn(self._pump, link, client, upstream, False)
            self._spawn(self._pump, link, upstream, client, True)

    def _pump(self, link: _Link, src: socket.socket, dst: socket.socket, is_reply: bool) -> None:
        try:
            while not link.closed.is_set():
                data = src.recv(CHUNK)
                if not data:
                    break
                if is_reply and link.cut_at is not None:
                    dst.sendall(data[: max(1, len(data) // 2)] if len(data) > 1 else b"")
                    with self.lock:
                        self.cuts += 1
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            link.close()
            with self.lock:
                self.links.discard(link)

    def cut(self, n: int) -> int:
        """Mark up to n live connections to be cut mid-reply; returns how many were marked."""
        now = time.monotonic()
        with self.lock:
            live = [lk for lk in self.links if lk.cut_at is None]
        chosen = self.rng.sample(live, min(n, len(live)))
        for link in chosen:
            link.cut_at = now
            timer = threading.Timer(CUT_WAIT_S, link.close)
            timer.daemon = True
            timer.start()
        return len(chosen)

    def close(self) -> None:
        self.stopping = True
        with contextlib.suppress(OSError):
            self.listener.close()
        with self.lock:
            links = list(self.links)
        for link in links:
            link.close()
