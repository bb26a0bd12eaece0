"""The states jobq names (job status, outcome kind, settlement operation, cancel reply)
are str enums that show as their plain values everywhere (issue 16, item 4)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import structlog

import jobq
from jobq.states import CancelReply, JobStatus, Named, OutcomeKind, SettleOp

PACKAGE = Path(__file__).resolve().parent.parent / "jobq"


ALL_STATES: list[Named] = [*JobStatus, *OutcomeKind, *SettleOp, *CancelReply]


@pytest.mark.parametrize("member", ALL_STATES, ids=str)
def test_a_state_shows_as_its_plain_value(member: Named) -> None:
    value = member.value
    assert member == value and hash(member) == hash(value)
    assert (str(member), f"{member}", f"{member:>12}", format(member)) == (
        value,
        value,
        f"{value:>12}",
        value,
    )
    assert repr(member) == repr(value)
    assert json.dumps({"state": member, member: 1}) == json.dumps({"state": value, value: 1})
    assert type(member)(value) is member


def test_log_lines_show_the_plain_value() -> None:
    render = structlog.processors.KeyValueRenderer(key_order=["event"])
    line = render(None, "info", {"event": "job.state", "state": JobStatus.DEAD})
    assert line == "event='job.state' state='dead'"


def other_pythons() -> list[str]:
    """Interpreters of the other supported versions found here (PATH, or pyenv's builds)."""
    found = []
    for version in ("3.10", "3.12", "3.13"):
        if version == f"{sys.version_info.major}.{sys.version_info.minor}":
            continue
        builds = sorted((Path.home() / ".pyenv" / "versions").glob(f"{version}.*/bin/python{version}"))
        on_path = shutil.which(f"python{version}")
        for candidate in [*map(str, builds), *([on_path] if on_path else [])]:
            if subprocess.run([candidate, "-c", ""], capture_output=True).returncode == 0:
                found.append(candidate)
                break
    return found


def test_states_print_the_same_on_other_pythons() -> None:
    """A str mix-in formats differently across 3.10-3.12: jobq.states pins it everywhere."""
    pythons = other_pythons()
    if not pythons:
        pytest.skip("no other Python version installed")
    probe = (
        "import importlib.util, json\n"
        f"spec = importlib.util.spec_from_file_location('states', {str(PACKAGE / 'states.py')!r})\n"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        "s = m.JobStatus.QUEUED\n"
        "print(str(s), f'{s}', f'{s:>7}', repr(s), json.dumps([s]), sep='|')\n"
    )
    for python in pythons:
        out = subprocess.run([python, "-c", probe], capture_output=True, text=True, timeout=60)
        assert out.stdout.strip() == "queued|queued| queued|'queued'|[\"queued\"]", (python, out.stderr)


def test_cancel_replies_are_named() -> None:
    assert [CancelReply.of(n) for n in (0, 1, 2, 3)] == [
        CancelReply.UNKNOWN,
        CancelReply.CANCELLED,
        CancelReply.STOPPING,
        CancelReply.ALREADY_STOPPING,
    ]


def test_job_handles_answer_with_states(app: jobq.App) -> None:
    @app.task()
    def later() -> None: ...

    job = later.enqueue(delay=3600)
    assert job.status() is JobStatus.SCHEDULED
    assert job.cancel() is True
    assert job.status() is JobStatus.CANCELLED
    assert app.broker.cancel("default", job.id, 60, "{}") is CancelReply.UNKNOWN
