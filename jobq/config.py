"""Configuration: defaults < JOBQ_* environment < explicit arguments, frozen once built."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from jobq.errors import ConfigError

DEFAULT_REDIS_URL = "redis://localhost:6379/0"
DEFAULT_NAMESPACE = "jobq"
MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Config:
    """Settings shared by producers and workers of one App."""

    redis_url: str = DEFAULT_REDIS_URL
    namespace: str = DEFAULT_NAMESPACE
    default_queue: str = "default"
    visibility_timeout: float = 30.0
    max_payload_bytes: int = MIB

    def __post_init__(self) -> None:
        if not self.namespace or any(c in self.namespace for c in "{} "):
            raise ConfigError(f"invalid namespace {self.namespace!r}: must be non-empty, no braces")
        if not valid_queue_name(self.default_queue):
            raise ConfigError(f"invalid queue name {self.default_queue!r}")
        if self.visibility_timeout <= 0:
            raise ConfigError("visibility_timeout must be positive")
        if self.max_payload_bytes <= 0:
            raise ConfigError("max_payload_bytes must be positive")


def valid_queue_name(name: str) -> bool:
    return bool(name) and not any(c in name for c in "{}: \t\n")


def resolve_redis_url(explicit: str | None, env: Mapping[str, str] | None = None) -> str:
    environ = os.environ if env is None else env
    return explicit or environ.get("JOBQ_REDIS_URL") or DEFAULT_REDIS_URL


def resolve_namespace(explicit: str | None, env: Mapping[str, str] | None = None) -> str:
    environ = os.environ if env is None else env
    return explicit or environ.get("JOBQ_NAMESPACE") or DEFAULT_NAMESPACE


def redact_url(url: str) -> str:
    """The URL with any password replaced, safe for logs, errors and screens."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable redis url>"
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    netloc = f"{user}:***@{host}" if user else f":***@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
