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

from jobq.localredis import ServerFailed, TlsFiles
from tests.support.redis_server import RedisServer


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
        self.tls = TlsFiles(certificate.cert, certificate.key, certificate.cert)

    @property
    def tls_port(self) -> int:
        return self.port

    def start(self, timeout: float = 15.0) -> TlsRedisServer:
        """Start and wait for a TLS PING; TlsUnavailable if the build refuses the tls-* options."""
        try:
            return super().start(timeout)
        except ServerFailed as exc:
            refused = [line for line in exc.output.splitlines() if "tls" in line.lower()]
            if refused and any(sign in exc.output for sign in _NO_TLS_SIGNS):
                raise TlsUnavailable(f"redis-server cannot serve TLS here: {refused[-1].strip()}") from None
            raise AssertionError(f"TLS redis-server did not start:\n{exc.output}") from None
