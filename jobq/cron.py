"""Cron schedules (placeholder until the cron issue lands)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jobq.app import App
    from jobq.task import Task


def register_cron(app: App, func: Callable[[], Any], expression: str, **options: Any) -> Task[[], Any]:
    raise NotImplementedError("cron is not implemented yet")


def scheduler_process(app: App) -> int:
    raise NotImplementedError("cron is not implemented yet")
