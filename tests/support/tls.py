"""A redis-server that speaks only TLS, with a throwaway self-signed certificate.

`make_certificate` writes a key and a self-signed certificate for 127.0.0.1 (its own CA);
`TlsRedisServer` listens on a TLS port only (`--port 0`) and asks clients for no
certificate. Where TLS tests cannot run (`openssl_missing()`, or `start()` raising
TlsUnavailable for a redis-server built without TLS) they skip with that reason.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import redis

from tests.support.redis_server import RedisServer, free_port
from tests.support.waiting import wait_for


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path


def make_certificate(directory: Path, name: str = "server") -> Certificate:
    """A P-256 key and a one-day self-signed certificate for CN/IP 127.0.0.1."""
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    subprocess.run(
        [
            shutil.which("openssl") or "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        timeout=60,
    )
    return Certificate(cert, key)


def tls_args(port: int, certificate: Certificate) -> list[str]:
    return [
        "--port",
        "0",
        "--tls-port",
        str(port),
        "--tls-cert-file",
        str(certificate.cert),
        "--tls-key-file",
        str(certificate.key),
        "--tls-ca-cert-file",
        str(certificate.cert),
        "--tls-auth-clients",
        "no",
    ]


# How a redis-server without TLS refuses tls-* options (6.x/7.x wordings).
_NO_TLS_SIGNS = ("Bad directive", "not supported", "Failed listening on port", "Failed to configure TLS")


class TlsUnavailable(Exception):
    """This redis-server cannot serve TLS (built without it): tests skip, saying why."""


def openssl_missing() -> str | None:
    return None if shutil.which("openssl") else "openssl is not installed: cannot make a test certificate"


class TlsRedisServer(RedisServer):
    """A redis-server on a TLS-only port, verified against `certificate`."""

    def __init__(self, certificate: Certificate, *, extra: list[str] | None = None) -> None:
        super().__init__(extra=extra)
        self.certificate = certificate
        self.tls_port = free_port()

    @property
    def url(self) -> str:
        """The recommended form: rediss:// with the CA that signed the server certificate."""
        return f"rediss://127.0.0.1:{self.tls_port}/0?ssl_ca_certs={quote(str(self.certificate.cert))}"

    def command(self) -> list[str]:
        cmd = super().command()
        at = cmd.index("--port")
        del cmd[at : at + 2]
        return cmd + tls_args(self.tls_port, self.certificate)

    def start(self) -> TlsRedisServer:
        """Start and wait for a TLS PING; TlsUnavailable if the build refuses the tls-* options."""
        out = self.dir / "startup.out"
        with open(out, "wb") as sink:
            self.proc = subprocess.Popen(self.command(), stdout=sink, stderr=sink, start_new_session=True)
        try:
            wait_for(self.ping, 15, f"TLS redis-server on port {self.tls_port} to answer")
        except _Exited:
            text = out.read_text(errors="replace")
            log = self.dir / "redis.log"
            text += log.read_text(errors="replace") if log.exists() else ""
            self.close()
            refused = [line for line in text.splitlines() if "tls" in line.lower()]
            if refused and any(sign in text for sign in _NO_TLS_SIGNS):
                raise TlsUnavailable(f"redis-server cannot serve TLS here: {refused[-1].strip()}") from None
            raise AssertionError(f"TLS redis-server did not start:\n{text}") from None
        return self

    def client(self) -> redis.Redis:
        return redis.Redis(
            host="127.0.0.1",
            port=self.tls_port,
            ssl=True,
            ssl_ca_certs=str(self.certificate.cert),
            decode_responses=True,
            socket_timeout=5,
        )

    def ping(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise _Exited
        return super().ping()


class _Exited(Exception):
    """The server process ended while we waited for it."""
