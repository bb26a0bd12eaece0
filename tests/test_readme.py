"""The README against reality: every command it shows is run on a private redis-server and
what it prints is compared with what the README shows (ids, times, hosts and pids made
generic), so the two cannot drift apart again (issue 12).

- the tutorial, step by step: tasks.py as printed, `jobq worker tasks -p 2`, the `>>>`
  session as a doctest, and each `$ jobq ...` transcript;
- the demo, from a venv holding `pip install -e .` only, as the first set-up command does;
- the test command's script: that it is valid bash doing what the README says;
- the CLI reference: each command and option shown exists in `--help`, with the default
  the README gives.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import jobq
from jobq import stats
from jobq.config import DEFAULT_REDIS_URL
from tests.support import readme
from tests.support.bare_venv import ROOT, bare_venv
from tests.support.jobq_run import run_main
from tests.support.processes import jobq_executable
from tests.support.redis_server import RedisServer, free_port
from tests.support.waiting import wait_for

HOST = socket.gethostname()
README_HOST = "vm"  # the machine the README's samples were taken on


def tutorial_block(lang: str, lead: str) -> str:
    """The tutorial's code block whose lead-in paragraph contains `lead`."""
    found = [
        b.text
        for b in readme.blocks()
        if b.heading == "Five-minute tutorial" and b.lang == lang and lead in b.before
    ]
    assert len(found) == 1, f"expected one {lang} block after {lead!r} in the tutorial, found {len(found)}"
    return found[0]


def assert_same(shown: list[str], printed: str, what: str) -> None:
    """Line by line, in normal form. A worker row is compared up to its BUSY column: how
    many jobs each worker of a pool took, and their latencies, differ from run to run."""
    want = readme.normal("\n".join(shown), README_HOST)
    got = readme.normal(printed, HOST)
    cut = {i: 5 for i, line in enumerate(want) if line.startswith("<WORKER> ")}
    want = [" ".join(line.split()[: cut[i]]) if i in cut else line for i, line in enumerate(want)]
    got = [" ".join(line.split()[: cut[i]]) if i in cut else line for i, line in enumerate(got)]
    assert got == want, f"{what}: the README shows\n" + "\n".join(want) + "\nbut it printed\n" + printed


class Shell:
    """Runs `$ jobq ...` lines as the tutorial's user would: in the folder holding tasks.py,
    with only $JOBQ_REDIS_URL set, substituting ids the README shows with this run's ones."""

    def __init__(self, folder: Path, redis_url: str) -> None:
        self.folder = folder
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("JOBQ_")}
        self.env.update(JOBQ_REDIS_URL=redis_url, PYTHONUNBUFFERED="1")
        self.ids: dict[str, str] = {}

    def argv(self, words: list[str]) -> list[str]:
        assert words[0] == "jobq", words
        return jobq_executable() + [self.ids.get(w, w) for w in words[1:]]

    def run(self, step: readme.Step) -> str:
        proc = subprocess.run(
            self.argv(step.argv), cwd=self.folder, env=self.env, capture_output=True, text=True, timeout=60
        )
        assert proc.returncode == 0, (step.argv, proc.stderr)
        if re.fullmatch(r"[0-9a-f]{32}", proc.stdout.strip()) and len(step.shown) == 1:
            self.ids[step.shown[0].strip()] = proc.stdout.strip()  # a job id, used by later steps
        return proc.stdout

    def start(self, words: list[str], log: Path) -> subprocess.Popen[bytes]:
        with open(log, "wb") as out:
            return subprocess.Popen(
                self.argv(words),
                cwd=self.folder,
                env=self.env,
                stdout=out,
                stderr=out,
                start_new_session=True,
            )


@pytest.fixture
def tutorial(tmp_path: Path, private_redis: Callable[..., RedisServer]) -> Iterator[tuple[Shell, jobq.App]]:
    server = private_redis()
    (tmp_path / "tasks.py").write_text(tutorial_block("python", "Save this as `tasks.py`"))
    shell = Shell(tmp_path, server.url)
    (command,) = tutorial_block("bash", "Start workers").splitlines()
    pool = shell.start(command.split("#")[0].split(), tmp_path / "worker.log")
    try:
        yield shell, jobq.App(server.url, namespace="jobq")  # the README's (default) namespace
    finally:
        os.killpg(pool.pid, signal.SIGTERM)
        assert pool.wait(60) == 0, (tmp_path / "worker.log").read_text()


def idle(app: jobq.App) -> bool:
    return all(q.backlog == 0 and q.in_flight == 0 for q in stats.snapshot(app.broker).queues)


def test_the_tutorial_prints_what_the_readme_shows(tutorial: tuple[Shell, jobq.App]) -> None:
    shell, app = tutorial
    wait_for(lambda: len(stats.snapshot(app.broker).workers) == 2, 60, "the two worker processes of step 2")

    # 3. the >>> session, as a doctest (outputs compared exactly)
    (shell.folder / "session.txt").write_text(tutorial_block("python", "3. Enqueue and get results"))
    doctest = subprocess.run(
        [sys.executable, "-m", "doctest", "session.txt"],
        cwd=shell.folder,
        env=shell.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert doctest.returncode == 0, doctest.stdout + doctest.stderr
    for step in readme.session(tutorial_block("bash", "From the shell")):
        assert_same(step.shown, shell.run(step), f"$ {' '.join(step.argv)}")

    # 4. stats, once the pool is idle
    wait_for(lambda: idle(app), 60, "the tutorial's jobs to finish")
    (step,) = readme.session(tutorial_block("text", "4. Look at your queues"))
    assert_same(step.shown, shell.run(step), "$ jobq stats")

    # 5. a failing job, followed until it is dead
    enqueue, explain = readme.session(tutorial_block("text", "5. When a job fails"))
    assert_same(enqueue.shown, shell.run(enqueue), "$ jobq enqueue (a failing call)")
    job = app.job(shell.ids[enqueue.shown[0].strip()])
    wait_for(lambda: job.status() == "dead", 60, "the failing job to use up its retries")
    assert_same(explain.shown, shell.run(explain), "$ jobq explain")


def demo_sample() -> list[str]:
    (block,) = [b for b in readme.blocks() if b.heading == "Two commands" and b.lang == "text"]
    return block.text.splitlines()


def test_the_demo_prints_what_the_readme_shows(tmp_path: Path) -> None:
    (setup,) = [
        b.text
        for b in readme.blocks()
        if b.heading == "Two commands" and "jobq demo" in b.text and b.lang == "bash"
    ]
    assert setup == "python3 -m venv .venv && .venv/bin/pip install -q -e . && .venv/bin/jobq demo"
    sample = demo_sample()
    said = re.search(r"nothing answers at (\S+):", sample[0])
    assert said and said.group(1) == DEFAULT_REDIS_URL  # "with no Redis running": the default URL
    python = bare_venv()  # `python3 -m venv .venv && .venv/bin/pip install -q -e .`
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBQ_")}
    env["JOBQ_REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"  # no Redis there, as in the sample
    proc = subprocess.run(
        [str(python.parent / "jobq"), "demo"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    want, got = (demo_shape(readme.normal(text)) for text in ("\n".join(sample), proc.stdout))
    assert got == want, "the demo's output drifted from the README's sample:\n" + proc.stdout


def demo_shape(lines: list[str]) -> tuple[list[str], set[str]]:
    """The lines in order, except the job rows (in completion order, cron ticks as many as
    the run lasted) as a set; the default queue's processed count includes those ticks."""
    rows = {line for line in lines if line.startswith("<DUR> ")}
    rest = [re.sub(r"^default \d+ ", "default <N> ", line) for line in lines if line not in rows]
    return rest, rows


def test_the_test_command_is_the_script_the_readme_describes() -> None:
    assert any(b.text == "bash .ci/run" for b in readme.blocks() if b.heading == "Two commands")
    script = (ROOT / ".ci" / "run").read_text()
    assert subprocess.run(["bash", "-n", str(ROOT / ".ci" / "run")], check=False).returncode == 0
    for piece in ("redis-server", "tmux", "apt-get install", "pip install -q -e '.[dev]'", "ruff check"):
        assert piece in script, piece
    assert "mypy" in script and "-m pytest" in script


def reference_commands() -> list[str]:
    """Every `jobq ...` the CLI reference and the dead-letter and cron sections show."""
    text = readme.section("CLI reference") + readme.section("Dead letters") + readme.section("Periodic jobs")
    shown = re.findall(r"^\| `(jobq [^`]+)` \|", text, re.MULTILINE)
    shown += re.findall(r"^(jobq [^#\n]+?)\s*(?:#.*)?$", text, re.MULTILINE)
    return shown


@pytest.mark.parametrize("usage", reference_commands())
def test_each_command_and_option_of_the_reference_exists(usage: str) -> None:
    words = usage.split()[1:]
    path = []
    for word in words:
        if not re.fullmatch(r"[a-z]+", word) or path[:1] in (["enqueue"], ["worker"], ["scheduler"]):
            break
        path.append(word)
    if path[-1:] in (["default"], ["myapp"]):  # an argument of the example, not a subcommand
        path = path[:-1]
    proc = run_main([*path, "--help"])
    assert proc.returncode == 0, (usage, proc.stderr)
    for option in re.findall(r"(?<![\w-])(--?[a-z][\w-]*)", usage):
        assert re.search(rf"(?<![\w-]){re.escape(option)}\b", proc.stdout), f"{usage}: no {option} in --help"


def worker_options() -> list[tuple[str, str]]:
    table = readme.section("CLI reference").split("**`jobq worker APP`**")[1].split("\n\n")[1]
    return re.findall(r"^\| `([^`]+)` \| ([^|]+) \|", table, re.MULTILINE)


@pytest.mark.parametrize(("option", "default"), worker_options())
def test_each_worker_option_has_the_default_the_readme_gives(option: str, default: str) -> None:
    help_text = run_main(["worker", "--help"]).stdout
    flags = re.findall(r"--?[a-z][\w-]*", option)
    assert flags and all(f in help_text for f in flags), option
    chunk = help_text.split(flags[-1], 1)[1].split("\n  -", 1)[0]
    written = re.match(r"`([^`]+)`", default.strip())
    shown = re.search(r"\[default: ([^;\]]+)", " ".join(chunk.split()))
    if written and shown:
        assert same_value(written.group(1), shown.group(1)), f"{option}: README {default}, --help {shown[0]}"


def same_value(a: str, b: str) -> bool:
    try:
        return float(a) == float(b)
    except ValueError:
        return a == b


def test_the_tutorial_prose_gives_the_default_concurrency() -> None:
    said = re.search(r"(\d+) jobs at a time each \(`-c`\)", readme.section("Five-minute tutorial"))
    shown = re.search(r"--concurrency.*?\[default: (\d+)", run_main(["worker", "--help"]).stdout, re.DOTALL)
    assert said and shown and said.group(1) == shown.group(1)
