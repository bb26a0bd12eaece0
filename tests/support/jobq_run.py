"""Run one short `jobq ...` command to completion and capture what it printed."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from collections.abc import Iterator

from tests.support.processes import APPS_DIR, env_for, jobq_executable


def run_jobq(
    args: list[str], redis_url: str, *, stdin: str = "", timeout: float = 60, **env: str
) -> subprocess.CompletedProcess[str]:
    """The real console script, cwd tests/apps; stdin is closed after `stdin` (no terminal)."""
    return subprocess.run(
        jobq_executable() + args,
        env=env_for(redis_url, **env),
        cwd=str(APPS_DIR),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    """The single `error: ...` line a failing command printed (asserting there is no more)."""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: "), proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    return lines[0]


def run_main(args: list[str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    """`jobq.cli.main(args)` in this process (same error handling as the console script,
    without paying for a Python start-up): returncode, stdout and stderr as captured."""
    from jobq.cli import main

    out, err = io.StringIO(), io.StringIO()
    code: object = 0
    with (
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
        _stdin(stdin),
    ):
        try:
            main(args)
        except SystemExit as exc:
            code = exc.code
    return subprocess.CompletedProcess(args, int(code or 0), out.getvalue(), err.getvalue())  # type: ignore[call-overload]


@contextlib.contextmanager
def _stdin(text: str) -> Iterator[None]:
    saved = sys.stdin
    sys.stdin = io.StringIO(text)
    try:
        yield
    finally:
        sys.stdin = saved


def run_jobq_on_terminal(
    args: list[str], redis_url: str, answer: str, *, timeout: float = 60, **env: str
) -> subprocess.CompletedProcess[str]:
    """The real console script with a pseudo-terminal as stdin, on which `answer` is typed
    (stdout and stderr stay pipes, so they can be read)."""
    master, slave = os.openpty()
    try:
        proc = subprocess.Popen(
            jobq_executable() + args,
            env=env_for(redis_url, **env),
            cwd=str(APPS_DIR),
            stdin=slave,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        os.close(slave)
        slave = -1
        os.write(master, answer.encode())
        out, err = proc.communicate(timeout=timeout)
    finally:
        os.close(master)
        if slave >= 0:
            os.close(slave)
    return subprocess.CompletedProcess(args, proc.returncode, out, err)
