"""A 30-second chaos run with a fixed seed (benchmarks/chaos): real pools, a scheduler and
a Redis server with AOF under every kind of fault (seed 7 draws each kind once in 30 s,
21 faults in 60 s); the checker must find nothing wrong."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.chaos.checker import check
from benchmarks.chaos.history import History
from benchmarks.chaos.schedule import KINDS

SEED, SECONDS = 7, 30
REPO = Path(__file__).resolve().parent.parent


def run_bounded(argv: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    """Run the chaos command; past `timeout`, SIGTERM it so it tears its fleet down."""
    with subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.terminate()
            out, err = proc.communicate(timeout=30)
            pytest.fail(f"the chaos run did not end within {timeout:.0f} s: {err[-2000:]}")
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_half_a_minute_of_chaos_loses_nothing(tmp_path: Path) -> None:
    report = tmp_path / "report.md"
    options = ["--seconds", str(SECONDS), "--seed", str(SEED), "--workdir", str(tmp_path / "run")]
    done = run_bounded([sys.executable, "-m", "benchmarks.chaos", *options, "--report", str(report)], 200)
    print(done.stdout[-4000:], done.stderr[-4000:])
    verdict = check(History.load(tmp_path / "run" / "history.json"))
    table = verdict.table
    assert done.returncode == (1 if verdict.failed else 0), done.stderr
    assert report.read_text() == done.stdout.split("\n", 1)[1]
    assert table["acknowledged by enqueue"] > 300 and table["runs"] > 300
    assert {k for k in KINDS if table.get(f"faults: {k}", 0) > 0} == set(KINDS)
    assert table["cron ticks run"] >= SECONDS // 4  # the */2 s entry ran through the run
    assert not verdict.failed, verdict.problems
