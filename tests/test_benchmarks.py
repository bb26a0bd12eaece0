"""The benchmark runner works end to end (tiny N) and its figures are computed right.

No timing assertions: what the benchmarks measure is reported, never asserted.
"""

from __future__ import annotations

import importlib.util
import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks import drain, memory, procs, report, scaling
from benchmarks.context import Bench
from benchmarks.figures import median, percentile, ratio
from benchmarks.run import problems
from benchmarks.server import BenchServer

REPO = Path(__file__).resolve().parent.parent


def test_median_and_percentile_ignore_missing_values() -> None:
    assert median([3.0, None, 1.0, 2.0]) == 2.0
    assert median([None]) is None
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 0.5) == 3.0
    assert percentile([0.0, 10.0], 0.95) == pytest.approx(9.5)
    assert percentile([], 0.5) is None
    assert ratio(1.0, 0.0) is None


def test_w1_ratio_is_taken_within_each_run() -> None:
    rows = [
        {"workload": "W1", "variant": "raw XADD", "run": 1, "rate": 100.0},
        {"workload": "W1", "variant": "delay", "run": 1, "rate": 50.0},
        {"workload": "W1", "variant": "raw XADD", "run": 2, "rate": 1000.0},
        {"workload": "W1", "variant": "delay", "run": 2, "rate": 900.0},
        {"workload": "W1", "variant": "raw XADD", "run": 3, "rate": 10.0},
        {"workload": "W1", "variant": "delay", "run": 3, "rate": 8.0},
    ]
    assert report.w1_ratios(rows)["delay"] == pytest.approx(0.8)


def test_a_w1_batch_is_compared_with_pipelined_xadds() -> None:
    rows = [
        {"workload": "W1", "variant": "raw XADD", "run": 1, "rate": 10.0},
        {"workload": "W1", "variant": "raw XADD pipelined", "run": 1, "rate": 100.0},
        {"workload": "W1", "variant": "delay_many (batches of 1,000)", "run": 1, "rate": 85.0},
    ]
    assert report.w1_ratios(rows)["delay_many (batches of 1,000)"] == pytest.approx(0.85)
    line = next(x for x in report.targets({"rows": rows, "backlog": None}) if "0.8x" in x)
    assert line.endswith("| met |")


def test_target_verdicts_and_lost_jobs_are_reported() -> None:
    drain = {"workload": "W2", "variant": "sync no-op", "config": "c", "n": 10, "run": 1, "rate": 30_000.0}
    lines = report.targets({"rows": [drain], "backlog": None})
    w2 = next(line for line in lines if line.startswith("| W2"))
    assert w2.endswith("| met |")
    w1 = next(line for line in lines if "delay_many" in line)
    assert w1.endswith("| - |")  # not measured: no verdict
    assert problems([{**drain, "lost": 2, "duplicates": 1, "timed_out": False}]) == [
        "W2 sync no-op run 1: 2 jobs lost",
        "W2 sync no-op run 1: 1 duplicates",
    ]


def _refuses(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1.0)
        return s.connect_ex(("127.0.0.1", port)) != 0


def test_quick_run_writes_a_complete_report(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--quick", "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())
    rows = results["rows"]
    assert {r["workload"] for r in rows} == {"W1", "W2", "W3", "W4"}
    for r in rows:
        if r["workload"] in ("W2", "W4"):
            assert (r["unique"], r["duplicates"], r["timed_out"]) == (r["n"], 0, False), r
            assert r["log_problems"] == 0, r
            assert r["rate"] > 0
            # A quick drain can end within one clock tick of CPU accounting (10 ms) or between
            # two samples of INFO: 0 is then a true reading of the window, not a broken one.
            assert r["worker_cpu_us"] >= 0 and r["redis_cmds"] >= 0
        if r["workload"] == "W3":
            assert r["unique"] == r["n"] and r["p50_ms"] <= r["p99_ms"]
    backlog = results["backlog"]
    assert backlog["fill"]["bytes_per_job"] > 0
    assert backlog["snapshot_no_group"]["backlog_seen"] == backlog["fill"]["n"]
    assert backlog["slice"]["complete"] and backlog["slice"]["rss_peak_mib"] > 0
    text = (out / "report.md").read_text()
    for heading in ("## Targets", "## W1 enqueue", "## W2 drain", "## W3", "## W4", "## Deep backlog"):
        assert heading in text
    assert "busy, shared machine" in text
    assert (out / "chart.png").exists() == (importlib.util.find_spec("matplotlib") is not None)
    assert _refuses(results["meta"]["redis_port"]), "the private redis-server was left running"


def test_a_drain_over_before_its_first_sample_still_has_per_job_figures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a busy machine a small drain can end before the bench takes its first sample: the
    window then starts at the worker's spawn (and says so) instead of holding no job."""
    real_wait = drain.wait_records
    calls: list[int] = []

    def late(b: Any, target: int, deadline: float, worker: Any = None) -> bool:
        calls.append(target)
        return real_wait(b, 20, deadline, worker)  # the bench woke up only once all were done

    monkeypatch.setattr(drain, "wait_records", late)
    (tmp_path / "logs").mkdir()
    with BenchServer() as server:
        bench = Bench(server, tmp_path / "logs")
        try:
            row = drain.drain(bench, "bench.noop", 20, 1, 4, 60.0)
        finally:
            bench.close()
    assert calls[0] == 1 and row["unique"] == 20 and not row["timed_out"]
    assert row["cpu_window"] == "spawn"
    assert row["worker_cpu_us"] > 0 and row["redis_cmds"] > 0


def test_scaling_names_what_holds_the_rate_back() -> None:
    assert scaling.verdict(cores_per_worker=0.5, redis_pct=90.0, machine_pct=100.0) == "Redis (one core)"
    assert scaling.verdict(0.95, 40.0, 100.0) == "worker CPU (1 core each)"
    assert scaling.verdict(0.5, 40.0, 97.0).startswith("machine")
    assert scaling.verdict(0.5, 40.0, 50.0) == "none at 85 %"
    # cores = CPU µs per job x jobs/s: 100 µs at 5,000 jobs/s keeps half a core busy
    row = scaling.per_job(
        {"worker_cpu_s": 2.0, "redis_cpu_s": 0.4, "redis_cmds": 30_000, "machine_busy_pct": 60.0},
        jobs=20_000,
        rate=5_000.0,
        n_workers=1,
    )
    assert row["worker_cores"] == pytest.approx(0.5) and row["redis_core_pct"] == pytest.approx(10.0)
    assert row["our_cores"] == pytest.approx(0.6) and row["bound"] == "none at 85 %"


def test_a_benchmark_process_runs_in_a_session_of_its_own(tmp_path: Path) -> None:
    log = tmp_path / "log"
    code = "import os; print(os.getpgid(0) == os.getpid())"
    proc = procs.start_process([sys.executable, "-c", code], {}, log, header="=== start\n")
    assert proc.wait(30) == 0
    assert log.read_text() == "=== start\nTrue\n"


def test_memory_per_queued_job_is_broken_down_by_key(tmp_path: Path) -> None:
    with BenchServer() as server:
        bench = Bench(server, tmp_path)
        try:
            rows = [memory.measure(bench, variant, 200) for variant in memory.VARIANTS]
        finally:
            bench.close()
    for row in rows:
        assert row["bytes_per_job"] > 0, row
        kinds = {v["type"] for v in row["keys"].values() if v["bytes_per_job"] >= 1}
        assert "hash" in kinds and ("stream" if row["variant"] != "scheduled" else "zset") in kinds, row
    assert "| scheduled |" in memory.table(rows)
