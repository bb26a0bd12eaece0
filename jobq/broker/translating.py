"""`Translating`: the context manager every call of the Redis boundary runs in, so that a
client's failure leaves the package as a BrokerError. Imports no client: redis-py's
(jobq.broker.errors) and jobq.broker.lite's each give it their `describe`."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Literal

from jobq.errors import BrokerError

Describe = Callable[[str, BaseException], "BrokerError | None"]


class Translating:
    """An exception raised inside that `describe(url, exc)` knows leaves as the BrokerError it
    makes. A class rather than a generator-based context manager: it wraps every worker
    read and settle, and costs nothing when no error is raised."""

    __slots__ = ("describe", "url")

    def __init__(self, url: str, describe: Describe) -> None:
        self.url = url
        self.describe = describe

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> Literal[False]:
        if exc is not None and not isinstance(exc, BrokerError):
            error = self.describe(self.url, exc)
            if error is not None:
                raise error from None
        return False
