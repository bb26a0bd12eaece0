"""Configuration, frozen once built. One rule everywhere, highest first: a command-line flag,
the value written in code (`App(namespace=...)`), the JOBQ_* environment, the default."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from urllib.parse import unquote, urlsplit, urlunsplit

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
    signing_key: bytes | None = field(default=None, repr=False)  # HMAC key; None = unsigned
    priority_aging: float = 60.0  # s a job waits at its priority level before it moves up one; 0: never

    def __repr__(self) -> str:
        """Safe to log: the URL's password redacted, the signing key left out."""
        shown = {f.name: getattr(self, f.name) for f in fields(self) if f.repr}
        shown["redis_url"] = redact_url(self.redis_url)
        return "Config(" + ", ".join(f"{k}={v!r}" for k, v in shown.items()) + ")"

    def __post_init__(self) -> None:
        refuse_ambiguous_url(self.redis_url)
        if not self.namespace or any(c in self.namespace for c in "{} "):
            raise ConfigError(f"invalid namespace {self.namespace!r}: must be non-empty, no braces")
        check_queue_name(self.default_queue)
        if self.visibility_timeout <= 0:
            raise ConfigError("visibility_timeout must be positive")
        if self.max_payload_bytes <= 0:
            raise ConfigError("max_payload_bytes must be positive")
        if not self.priority_aging >= 0:
            raise ConfigError("priority_aging must be >= 0 seconds (0: no aging)")


QUEUE_NAME_RULE = "a queue name is non-empty, without ':', '{', '}' or whitespace"


def valid_queue_name(name: str) -> bool:
    """The one rule for queue names: ':' separates `-q NAME:WEIGHT` and braces are the
    Cluster hash tag of the queue's keys, so a queue named with them could never be consumed."""
    return bool(name) and not any(c in "{}:" or c.isspace() for c in name)


def check_queue_name(name: str) -> str:
    """`name`, or a ConfigError quoting the rule, so a bad name fails where it is written."""
    if not isinstance(name, str) or not valid_queue_name(name):
        raise ConfigError(f"invalid queue name {name!r}: {QUEUE_NAME_RULE}")
    return name


def resolve_redis_url(explicit: str | None, env: Mapping[str, str] | None = None) -> str:
    environ = os.environ if env is None else env
    return explicit or environ.get("JOBQ_REDIS_URL") or DEFAULT_REDIS_URL


def resolve_namespace(explicit: str | None, env: Mapping[str, str] | None = None) -> str:
    environ = os.environ if env is None else env
    return explicit or environ.get("JOBQ_NAMESPACE") or DEFAULT_NAMESPACE


def resolve_signing_key(explicit: str | bytes | None, env: Mapping[str, str] | None = None) -> bytes | None:
    """The HMAC key: the explicit one if given (empty turns signing off), else $JOBQ_SIGNING_KEY."""
    from jobq.signing import as_key  # here: `jobq stats` reads no job, so needs no hashlib

    environ = os.environ if env is None else env
    return as_key(explicit if explicit is not None else environ.get("JOBQ_SIGNING_KEY"))


ENCODE_HINT = (
    "percent-encode special characters in the user name and password "
    "('@' as %40, ':' as %3A, '/' as %2F, '?' as %3F, '#' as %23)"
)


def ambiguous_userinfo(url: str) -> bool:
    """Whether the user name and password of `url` cannot be told apart from the rest: more
    than one '@', or an '@' past the host part (after a '/', '?' or '#'). That is a password
    with an unencoded '@', '/', '?' or '#', and parsers then read a piece of it as the host,
    port or database, which error messages would quote."""
    rest = url.partition("://")[2]
    if "@" not in rest:
        return False
    authority_end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    return rest.count("@") > 1 or rest.index("@") > authority_end


def refuse_ambiguous_url(url: str) -> None:
    """ConfigError, before any use, for a URL whose password pieces could be echoed."""
    if ambiguous_userinfo(url):
        raise _ambiguous(url)


def _ambiguous(url: str) -> ConfigError:
    return ConfigError(
        f"ambiguous Redis URL {redact_url(url)}: where its password ends is unclear; {ENCODE_HINT}"
    )


def redact_url(url: str) -> str:
    """The URL with any password replaced, safe for logs, errors and screens. Nothing of a URL
    with an ambiguous user name or password is shown past its scheme: any piece could be secret."""
    if ambiguous_userinfo(url):
        return f"{url.partition('://')[0]}://***"
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable redis url>"
    query = _redact_query(parts.query)
    if parts.password is None:
        return url if query == parts.query else urlunsplit(parts._replace(query=query))
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]  # as written: may list several host:port (Cluster, Sentinel)
    netloc = f"{user}:***@{host}" if user else f":***@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def malformed_url(url: str, exc: Exception) -> ConfigError:
    """ConfigError for a Redis URL its parser refused, quoting nothing that may be a secret.

    An unencoded '@', ':', '/', '?' or '#' in a password is the usual cause, and parsers then
    quote a piece of the password as a port or database: their message is kept only if no
    four characters in a row of a piece of what may be the password appear in it.
    """
    if ambiguous_userinfo(url):  # the likely cause, whatever the parser tripped on
        return _ambiguous(url)
    text = str(exc).strip() or type(exc).__name__
    userinfo = url.partition("://")[2].rpartition("@")[0]
    user, colon, password = userinfo.partition(":")
    pieces = re.split(r"[@:/?#]", password if colon else user)  # parsers split it there
    if any(p[i : i + 4] in text for p in pieces if p for i in range(max(1, len(p) - 3))):
        text = f"cannot parse it; {ENCODE_HINT}"
    return ConfigError(f"malformed Redis URL {redact_url(url)}: {text}")


def _redact_query(query: str) -> str:
    """Query options that carry a secret (`password=`, `sentinel_password=`), redacted."""
    pairs = [item.partition("=") for item in query.split("&")] if query else []
    return "&".join(k + eq + ("***" if "password" in unquote(k).lower() and v else v) for k, eq, v in pairs)
