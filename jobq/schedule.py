"""Pure due-time arithmetic for cron entries: no Redis, no clock of its own.

Every function takes the current time as an argument, so the scheduler can feed it Redis
time and tests can feed it fixed datetimes. Ticks are returned as aware UTC datetimes;
the wall-clock arithmetic happens in the entry's timezone, with croniter's DST behaviour:

- spring forward: a time inside the skipped hour (02:30 in Europe/Berlin on the last
  Sunday of March) fires once, at the first valid instant after the gap (03:00);
- fall back: a time inside the repeated hour fires in both occurrences (02:30+02:00 and
  02:30+01:00), and interval expressions keep their spacing in absolute time.

croniter's own ``get_prev`` can skip an occurrence across a DST change, so `latest_tick`
only trusts it for a starting point and walks forward with ``get_next`` from there.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jobq.errors import ConfigError

ONE_SECOND = timedelta(seconds=1)


def normalize_expression(expression: str) -> str:
    """The expression with single spaces; ConfigError unless it has five or six fields
    (seconds sixth) or is a croniter alias such as ``@hourly``."""
    text = " ".join(str(expression).split())
    fields = text.split(" ")
    if not text.startswith("@") and len(fields) not in (5, 6):
        raise ConfigError(
            f"cron expression {expression!r} must have five fields, or six with seconds as the sixth"
        )
    from croniter import croniter  # on first use: `import jobq` does not pay for it

    if not croniter.is_valid(text):
        raise ConfigError(f"invalid cron expression {expression!r}")
    return text


def zone(name: str) -> tzinfo:
    """The IANA timezone `name` (e.g. ``Europe/Berlin``); ConfigError if unknown."""
    if name.upper() == "UTC":
        return timezone.utc
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"unknown timezone {name!r}: {exc}") from None


def next_tick(expression: str, tz: tzinfo, after: datetime) -> datetime:
    """The first tick strictly after `after` (aware), in UTC."""
    from croniter import CroniterBadDateError, croniter

    start = _aware(after).astimezone(tz)
    try:
        found: datetime = croniter(expression, start).get_next(datetime)
    except CroniterBadDateError:
        raise ConfigError(f"cron expression {expression!r} never fires") from None
    return found.astimezone(timezone.utc)


def latest_tick(expression: str, tz: tzinfo, now: datetime) -> datetime:
    """The last tick at or before `now` (aware), in UTC."""
    from croniter import CroniterBadDateError, CroniterError, croniter

    now = _aware(now)
    # Ticks fall on whole seconds: "before floor(now) + 1 s" is "at or before now".
    start = (now.astimezone(timezone.utc).replace(microsecond=0) + ONE_SECOND).astimezone(tz)
    try:
        tick: datetime = croniter(expression, start).get_prev(datetime)
        while tick > now:
            tick = croniter(expression, tick).get_prev(datetime)
    except (CroniterBadDateError, CroniterError):
        raise ConfigError(f"cron expression {expression!r} never fired before {now}") from None
    while True:
        following = next_tick(expression, tz, tick)
        if following > now:
            return tick.astimezone(timezone.utc)
        tick = following


def tick_id(name: str, due: datetime) -> str:
    """The job id of the tick of entry `name` due at `due`: the same in every scheduler."""
    return f"cron:{name}:{_aware(due).astimezone(timezone.utc):%Y%m%dT%H%M%SZ}"


def manual_id(name: str, token: str) -> str:
    """The job id of a run started by hand (`jobq cron trigger`)."""
    return f"cron:{name}:manual-{token}"


def to_ms(moment: datetime) -> int:
    return round(_aware(moment).timestamp() * 1000)


def from_ms(ms: int | float) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc)


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("cron times must be aware datetimes (with a timezone)")
    return moment
