"""Progress a running job reports: a fraction done and a short message.

Stored as JSON under the job's progress key (`QueueKeys.progress`) for as long as its
result is kept; written by the worker in the same flush as its outcomes, so reporting
progress costs a task no round trip of its own.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from jobq.errors import JobqError

MAX_MESSAGE = 1000  # characters kept of a progress message


class ProgressError(JobqError, ValueError):
    """A progress value that is not a fraction between 0 and 1."""


@dataclass(frozen=True, slots=True)
class Progress:
    """How far a job has got: `fraction` in [0, 1] and what it last said."""

    fraction: float
    message: str = ""


def encode_progress(fraction: float, message: str) -> str:
    """JSON text of one report; ProgressError for a fraction outside [0, 1]."""
    if isinstance(fraction, bool) or not isinstance(fraction, int | float) or math.isnan(fraction):
        raise ProgressError(f"progress must be a number between 0 and 1 (got {fraction!r})")
    if not 0 <= fraction <= 1:
        raise ProgressError(f"progress must be between 0 and 1 (got {fraction})")
    text = str(message)[:MAX_MESSAGE]
    return json.dumps({"f": float(fraction), "m": text}, separators=(",", ":"), ensure_ascii=False)


def parse_progress(raw: Any) -> Progress | None:
    """The Progress stored as `raw` (None when absent or unreadable)."""
    if raw is None:
        return None
    try:
        data = json.loads(raw)
        return Progress(float(data["f"]), str(data.get("m", "")))
    except (ValueError, TypeError, KeyError):
        return None
