"""The text Redis runs for each script in jobq/lua/, made from its file when it is loaded.

Two substitutions, so that nothing is written twice:

- ``--#include NAME`` on a line of its own becomes the helper jobq/lua/lib/NAME.lua (a
  ``local function`` or two). A helper may include others; each is pasted at most once
  per script, at its first include. Helpers exist once: a script includes them, never
  copies them (tests/test_lua_scripts.py checks both).
- ``{{NAME}}`` becomes the Lua literal of ``LUA_VALUES[NAME]``: the job-record markers,
  stream entry fields and outcome members are typed in jobq.records only.

Redis caches a script under the SHA1 of this expanded text. An unknown helper or name is
a ValueError when the script is loaded, never a Lua error at run time. Pure, except for
reading the package's files.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import cache
from importlib import resources
from typing import Final

from jobq import records
from jobq.envelope import ENVELOPE_ARGS, ENVELOPE_KWARGS, ENVELOPE_PRIORITY, ENVELOPE_WORKFLOW
from jobq.flow import DEFAULT_PRIORITY
from jobq.keys import GROUP
from jobq.states import JobStatus

INCLUDE = re.compile(r"^--#include\s+(\w+)\s*$", re.MULTILINE)
PLACEHOLDER = re.compile(r"{{(\w+)}}")


# Every value a script names as {{NAME}}: typed in jobq.records (and the envelope's
# members in jobq.envelope), gathered here, where the scripts are made.
LUA_VALUES: Final[dict[str, str | int]] = {
    "JOB_QUEUED": records.QUEUED,
    "JOB_SCHEDULED": records.SCHEDULED,
    "JOB_CANCEL_ASKED": records.CANCEL_ASKED,
    "JOB_WAITING": records.WAITING,
    "LEVEL_SEP": records.LEVEL_SEP,
    "LEVEL_DEFAULT": DEFAULT_PRIORITY,
    "GROUP": GROUP,
    "OUTBOX_MEMBERS": records.OUTBOX_MEMBERS,
    "ENTRY_ENVELOPE": records.ENTRY_ENVELOPE,
    "ENTRY_DEAD_DETAILS": records.ENTRY_DEAD_DETAILS,
    "OUTCOME_STATE": records.OUTCOME_STATE,
    "OUTCOME_ENVELOPE_MEMBER": f',"{records.OUTCOME_ENVELOPE}":',  # spliced in before the closing brace
    "STATUS_DEAD": JobStatus.DEAD.value,
    "OUTCOME_ENVELOPE_MAX": records.OUTCOME_ENVELOPE_MAX,
    "OUTCOME_CUT": records.OUTCOME_CUT,
    "ENVELOPE_ARGS": ENVELOPE_ARGS,
    "ENVELOPE_KWARGS": ENVELOPE_KWARGS,
    "ENVELOPE_WORKFLOW": ENVELOPE_WORKFLOW,
    "ENVELOPE_PRIORITY": ENVELOPE_PRIORITY,
}


@cache
def load_script(name: str) -> str:
    """The expanded text of jobq/lua/<name>.lua, as Redis is to run it."""
    return expand(_read(f"{name}.lua"), lambda helper: _read(f"lib/{helper}.lua"), LUA_VALUES)


def _read(path: str) -> str:
    return resources.files("jobq").joinpath(f"lua/{path}").read_text(encoding="utf-8")


def expand(text: str, helper: Callable[[str], str], values: Mapping[str, str | int]) -> str:
    """`text` with its includes resolved through `helper` (name -> Lua text) and its
    placeholders filled from `values`."""
    seen: set[str] = set()

    def include(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in seen:
            return f"-- {name}: included above"
        seen.add(name)
        try:
            body = helper(name)
        except FileNotFoundError:
            raise ValueError(f"--#include {name}: no helper jobq/lua/lib/{name}.lua") from None
        return INCLUDE.sub(include, body).rstrip("\n")

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise ValueError(f"{{{{{name}}}}}: not a name in jobq.luascripts.LUA_VALUES")
        return lua_literal(values[name])

    return PLACEHOLDER.sub(fill, INCLUDE.sub(include, text))


def lua_literal(value: str | int) -> str:
    """`value` as Lua source: an integer as digits, a string single-quoted."""
    if isinstance(value, int):
        return str(value)
    escaped = value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n")
    return f"'{escaped}'"
