"""Run the jobq benchmarks: ``python -m benchmarks.run [--quick] [--out DIR]``.

Starts a private redis-server on a free port, runs W1 (enqueue), W2 (drain no-op jobs),
W3 (enqueue-to-start latency), W4 (drain 10 ms jobs) and a deep backlog against the real
``jobq worker`` console script, and writes report.md, chart.png and results.json to
benchmarks/results/<timestamp>/ (or --out DIR).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

from benchmarks import chart, report
from benchmarks.backlog import run_backlog
from benchmarks.context import Bench
from benchmarks.drain import run_drain
from benchmarks.enqueue import run_w1
from benchmarks.latency import run_w3
from benchmarks.procs import REPO
from benchmarks.server import BenchServer

WORKLOADS = ("W1", "W2", "W3", "W4", "backlog")
PROCESSES = 2


@dataclass(frozen=True)
class Plan:
    """How big each workload is and how many times it runs."""

    mode: str
    runs: int
    w1_single: int  # jobs per one-by-one enqueue run (and the raw XADD loop)
    w1_batch: int  # jobs per delay_many run
    batch: int  # delay_many batch size
    w2_n: int
    w2_concurrency: tuple[int, ...]
    w2_async: bool  # also drain an async no-op task
    w3_n: int
    w3_rate: float
    w3_idle_s: float
    w3_async: bool  # also measure an async no-op task
    w4_n: int
    w4_async_concurrency: int
    w4_sync_concurrency: int
    backlog_n: int
    slice_n: int
    stats_repeats: int
    cli_repeats: int
    timeout_s: float


FULL = Plan(
    mode="full",
    runs=3,
    w1_single=20_000,
    w1_batch=100_000,
    batch=1_000,
    w2_n=20_000,
    w2_concurrency=(8, 32, 100),
    w2_async=True,
    w3_n=1_000,
    w3_rate=200.0,
    w3_idle_s=1.0,
    w3_async=True,
    w4_n=5_000,
    w4_async_concurrency=200,
    w4_sync_concurrency=64,
    backlog_n=1_000_000,
    slice_n=50_000,
    stats_repeats=20,
    cli_repeats=3,
    timeout_s=240.0,
)

QUICK = Plan(
    mode="quick",
    runs=1,
    w1_single=1_000,
    w1_batch=5_000,
    batch=1_000,
    w2_n=1_000,
    w2_concurrency=(32,),
    w2_async=False,
    w3_n=60,
    w3_rate=200.0,
    w3_idle_s=0.2,
    w3_async=False,
    w4_n=300,
    w4_async_concurrency=200,
    w4_sync_concurrency=64,
    backlog_n=10_000,
    slice_n=1_000,
    stats_repeats=3,
    cli_repeats=1,
    timeout_s=60.0,
)


def jobq_commit() -> str:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + ("+local changes" if git("status", "--porcelain", "--", "jobq") else "")


def load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def say(text: str) -> None:
    print(text, flush=True)


def _drain_line(r: dict[str, Any]) -> str:
    return (
        f"  {r['workload']} {r['variant']:<14} {r['config']:<28} run {r['run']}: "
        f"{r.get('rate', 0):>9,.0f} jobs/s steady, {r.get('worker_cpu_us', 0):,.0f} µs CPU/job, "
        f"{r['unique']}/{r['n']} done{' TIMED OUT' if r['timed_out'] else ''}"
    )


def run_w2_w4(b: Bench, plan: Plan, only: set[str], rows: list[dict[str, Any]]) -> None:
    configs: list[tuple[str, str, str, int, int]] = []
    if "W2" in only:
        configs += [("W2", "sync no-op", "bench.noop", plan.w2_n, c) for c in plan.w2_concurrency]
        if plan.w2_async:
            configs += [("W2", "async no-op", "bench.noop_async", plan.w2_n, max(plan.w2_concurrency))]
    if "W4" in only:
        configs += [
            ("W4", "async sleep", "bench.sleep_async", plan.w4_n, plan.w4_async_concurrency),
            ("W4", "sync sleep", "bench.sleep_sync", plan.w4_n, plan.w4_sync_concurrency),
        ]
    for workload in ("W2", "W4"):
        for run in range(1, plan.runs + 1):  # configurations interleaved inside each run
            for wl, variant, task, n, conc in configs:
                if wl == workload:
                    row = run_drain(b, wl, variant, task, n, PROCESSES, conc, run, plan.timeout_s)
                    rows.append(row)
                    say(_drain_line(row))


def run_w3_all(b: Bench, plan: Plan, rows: list[dict[str, Any]]) -> None:
    variants = [("sync no-op", "bench.noop")]
    if plan.w3_async:
        variants.append(("async no-op", "bench.noop_async"))
    for run in range(1, plan.runs + 1):
        for variant, task in variants:
            r = run_w3(
                b, variant, task, plan.w3_n, plan.w3_rate, PROCESSES, 32, run, plan.w3_idle_s, plan.timeout_s
            )
            rows.append(r)
            p50, p99 = r.get("p50_ms") or 0, r.get("p99_ms") or 0
            say(f"  W3 {variant:<14} run {run}: p50 {p50:.3f}  p99 {p99:.3f} ms")


def run_all(b: Bench, plan: Plan, only: set[str]) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    rows: list[dict[str, Any]] = []
    if "W1" in only:
        for run in range(1, plan.runs + 1):
            for r in run_w1(b, run, plan.w1_single, plan.w1_batch, plan.batch):
                rows.append(r)
                say(f"  W1 {r['variant']:<32} run {run}: {r['rate']:>9,.0f} jobs/s")
    run_w2_w4(b, plan, only - {"W4"}, rows)
    if "W3" in only:
        run_w3_all(b, plan, rows)
    run_w2_w4(b, plan, only - {"W2"}, rows)
    bk = None
    if "backlog" in only:
        say(f"  backlog: {plan.backlog_n:,} jobs")
        bk = run_backlog(
            b, plan.backlog_n, plan.slice_n, plan.stats_repeats, plan.cli_repeats, plan.timeout_s
        )
        say(f"  backlog: {bk['fill']['bytes_per_job']:.1f} bytes/job")
    return rows, bk


def problems(rows: list[dict[str, Any]]) -> list[str]:
    """Runs that lost or duplicated jobs: the benchmark itself is then not to be trusted."""
    out = []
    for r in rows:
        if r.get("lost", 0) > 0 and not r.get("timed_out"):
            out.append(f"{r['workload']} {r['variant']} run {r['run']}: {r['lost']} jobs lost")
        if r.get("duplicates", 0) > 0:
            out.append(f"{r['workload']} {r['variant']} run {r['run']}: {r['duplicates']} duplicates")
        if r.get("timed_out"):
            out.append(f"{r['workload']} {r['variant']} run {r['run']}: timed out")
    return out


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small N, one run (a smoke run, < 60 s)")
    ap.add_argument("--out", type=Path, default=None, help="directory for report.md, chart.png, results.json")
    ap.add_argument("--only", default=",".join(WORKLOADS), help="comma list of " + ",".join(WORKLOADS))
    ap.add_argument("--runs", type=int, default=None, help="runs per figure (median); default 3, quick 1")
    ap.add_argument("--backlog", type=int, default=None, help="jobs in the deep backlog (default 1,000,000)")
    args = ap.parse_args(argv)
    unknown = set(args.only.split(",")) - set(WORKLOADS)
    if unknown:
        ap.error(f"unknown workload(s) {sorted(unknown)}; choose from {','.join(WORKLOADS)}")
    return args


def plan_for(args: argparse.Namespace) -> Plan:
    plan = QUICK if args.quick else FULL
    if args.runs is not None:
        plan = dataclasses.replace(plan, runs=max(1, args.runs))
    if args.backlog is not None:
        plan = dataclasses.replace(plan, backlog_n=max(1, args.backlog))
    return plan


def write(out: Path, results: dict[str, Any], draw: Callable[[dict[str, Any], Path], bool]) -> Path:
    results["chart"] = draw(results, out / "chart.png")
    (out / "results.json").write_text(json.dumps(results, indent=1, default=str))
    path = out / "report.md"
    path.write_text(report.render(results))
    return path


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan = plan_for(args)
    started = time.strftime("%Y%m%d-%H%M%S")
    out: Path = args.out or REPO / "benchmarks" / "results" / started
    (out / "logs").mkdir(parents=True, exist_ok=True)
    meta: dict[str, Any] = {
        "started": started,
        "mode": plan.mode,
        "runs": plan.runs,
        "nproc": os.cpu_count(),
        "load_start": load(),
        "python": platform.python_version(),
        "redis_py": redis.__version__,
        "jobq_commit": jobq_commit(),
        "plan": dataclasses.asdict(plan),
    }
    t0 = time.monotonic()
    with BenchServer() as server:
        meta.update(redis_version=server.version(), redis_port=server.port)
        say(f"jobq benchmarks ({plan.mode}) on a private redis-server at {server.url}; results in {out}")
        bench = Bench(server, out / "logs")
        try:
            rows, backlog = run_all(bench, plan, set(args.only.split(",")))
        finally:
            bench.close()
    meta.update(load_end=load(), elapsed_s=time.monotonic() - t0)
    results = {"meta": meta, "rows": rows, "backlog": backlog}
    path = write(out, results, chart.draw)
    say(f"\nreport: {path}\n")
    say("\n".join(report.targets(results)))
    bad = problems(rows)
    for line in bad:
        say(f"!! {line}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
