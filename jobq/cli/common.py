"""What every command shares: connection options, loading APP, and clean failures."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import click

from jobq.config import Config, resolve_namespace, resolve_redis_url, resolve_signing_key
from jobq.errors import JobqError

if TYPE_CHECKING:
    from jobq.app import App
    from jobq.broker.snapshot import SnapshotReads

F = TypeVar("F", bound=Callable[..., Any])


def connection_options(fn: F) -> F:
    """--redis-url and --namespace, accepted by every command after its name."""
    fn = click.option(
        "--namespace",
        "namespace",
        default=None,
        metavar="NS",
        help="Key prefix (else the APP's own, else $JOBQ_NAMESPACE, else jobq).",
    )(fn)
    fn = click.option(
        "--redis-url",
        "redis_url",
        default=None,
        metavar="URL",
        help="Redis URL (else the APP's own, else $JOBQ_REDIS_URL, else localhost).",
    )(fn)
    return fn


def load_app(spec: str) -> App:
    """Import `package.module:attribute` (or `package.module`, attribute `app`)."""
    from jobq.app import App  # here, not at the top: `jobq --help` must not load redis

    module_name, _, attribute = spec.partition(":")
    attribute = attribute or "app"
    dotted = module_name.split(".")
    if not all(part.isidentifier() for part in dotted) or not attribute.isidentifier():
        raise click.BadParameter(
            f"{spec!r} is not package.module or package.module:attribute", param_hint="APP"
        )
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise click.BadParameter(f"cannot import {module_name!r}: {exc}", param_hint="APP") from None
        raise click.ClickException(f"importing {module_name!r} failed: {exc!r}") from None
    except JobqError:  # e.g. the app's own ConfigError: one line as it is
        raise
    except Exception as exc:
        raise click.ClickException(f"importing {module_name!r} failed: {exc!r}") from None
    app = getattr(module, attribute, None)
    if not isinstance(app, App):
        raise click.BadParameter(
            f"{spec!r} is not a jobq.App (no attribute {attribute!r} of that type)", param_hint="APP"
        )
    return app


def app_for(spec: str | None, redis_url: str | None, namespace: str | None) -> App:
    """The App to work with: APP's (which resolved its own settings, environment included),
    with explicit options on top; or a bare one configured by the flags or the environment."""
    from jobq.app import App

    if spec:
        app = load_app(spec)
        if redis_url or namespace:
            app.reconfigure(redis_url=redis_url, namespace=namespace)
        return app
    return App(redis_url, namespace)


class Connected(Protocol):
    """What the read-only commands use of an App: its settings and reads of its queues."""

    config: Config

    @property
    def broker(self) -> SnapshotReads: ...


def bare_config(redis_url: str | None, namespace: str | None) -> Config:
    """The settings a bare `App(redis_url, namespace)` resolves, without importing the App
    and its producer side (tasks, middleware, workflows). tests/test_cli_startup.py checks
    both resolve alike."""
    return Config(
        redis_url=resolve_redis_url(redis_url),
        namespace=resolve_namespace(namespace),
        signing_key=resolve_signing_key(None),
    )


class Connection:
    """A bare App's settings and a Broker: what the dashboard needs of an App."""

    def __init__(self, redis_url: str | None, namespace: str | None) -> None:
        from jobq.broker import Broker, check_url

        self.config = bare_config(redis_url, namespace)
        check_url(self.config.redis_url)
        self.broker = Broker(self.config)


class Snapshots:
    """A bare App's URL and namespace and the cheapest reader of stats snapshots for them
    (jobq.broker.lite: without redis-py for one server), so `jobq stats` starts soon. No
    signing key: a snapshot reads counts, never a job's envelope."""

    def __init__(self, redis_url: str | None, namespace: str | None) -> None:
        from jobq.broker.lite import open_reads

        self.config = Config(redis_url=resolve_redis_url(redis_url), namespace=resolve_namespace(namespace))
        self.broker = open_reads(self.config)
