"""Redis memory per queued job: ``python -m benchmarks.memory [--n 100000]``.

For each variant, a fresh private redis-server namespace gets N no-op jobs that nobody
consumes; the figure is INFO used_memory after minus before, over N. The breakdown is
MEMORY USAGE (SAMPLES 0: every element counted) of each key the jobs made, over N, with
the size of one element of each (a stream entry's fields and values, a hash field and
its value, a sorted-set member), so a change of record format shows where it went.

- ``default``: ``task.delay_many`` (the same records as ``delay``), default options;
- ``job_id``: ``task.enqueue(..., job_id=<20 characters>)``, one call per job;
- ``scheduled``: ``task.enqueue(..., delay=3600)``, one call per job.

Target (issue 17): at most 300 bytes per queued job.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.context import NAMESPACE, Bench
from benchmarks.server import BenchServer

TARGET_BYTES = 300
BATCH = 1_000


def fill_default(b: Bench, n: int) -> None:
    b.prefill("bench.noop", n, BATCH)


def fill_job_id(b: Bench, n: int) -> None:
    task, now = b.task("bench.noop"), time.time()
    for i in range(n):
        task.enqueue(args=(i, now), job_id=f"import-{i:013d}")


def fill_scheduled(b: Bench, n: int) -> None:
    task, now = b.task("bench.noop"), time.time()
    for i in range(n):
        task.enqueue(args=(i, now), delay=3600)


VARIANTS: dict[str, Callable[[Bench, int], None]] = {
    "default": fill_default,
    "job_id": fill_job_id,
    "scheduled": fill_scheduled,
}


def element_bytes(r: Any, key: str, kind: str) -> int:
    """The payload of one element of the key: what one job adds to it, before overhead."""
    if kind == "stream":
        entries = r.xrange(key, "-", "+", count=1)
        return sum(len(f) + len(v) for f, v in entries[0][1].items()) if entries else 0
    if kind == "hash":
        _, items = r.hscan(key, 0, count=1)
        return next((len(f) + len(v) for f, v in items.items()), 0)
    if kind == "zset":
        members = r.zrange(key, 0, 0)
        return len(members[0]) + 8 if members else 0  # the score is a double
    return 0


def measure(b: Bench, variant: str, n: int) -> dict[str, Any]:
    b.fresh()
    r = b.server.redis
    before = b.server.counters().used_memory
    started = time.perf_counter()
    VARIANTS[variant](b, n)
    seconds = time.perf_counter() - started
    after = b.server.counters().used_memory
    keys: dict[str, dict[str, Any]] = {}
    for key in sorted(r.scan_iter(f"{NAMESPACE}:*", count=1000)):
        kind = r.type(key)
        keys[key] = {
            "type": kind,
            "encoding": r.object("encoding", key),
            "bytes_per_job": (r.memory_usage(key, samples=0) or 0) / n,
            "element_bytes": element_bytes(r, key, kind),
        }
    per_job = (after - before) / n
    return {"variant": variant, "n": n, "bytes_per_job": per_job, "fill_s": seconds, "keys": keys}


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| variant | bytes per queued job (used_memory) | where (MEMORY USAGE / N; one element's payload) |",
        "|---|---:|---|",
    ]
    for row in rows:
        parts = [
            f"`{k.removeprefix(NAMESPACE + ':')}` {v['type']} ({v['encoding']}) "
            f"{v['bytes_per_job']:.0f} B; {v['element_bytes']} B"
            for k, v in row["keys"].items()
            if v["bytes_per_job"] >= 1
        ]
        lines.append(f"| {row['variant']} | {row['bytes_per_job']:.0f} | {'<br>'.join(parts)} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--json", type=Path, help="also write the rows to this JSON file")
    args = parser.parse_args(argv)
    rows = []
    with BenchServer() as server:
        b = Bench(server, Path(tempfile.mkdtemp(prefix="jobq-memory-logs-")))
        try:
            print(f"redis {server.version()}, {args.n:,} jobs per variant", flush=True)
            for variant in args.variants:
                rows.append(measure(b, variant, args.n))
                print(f"{variant}: {rows[-1]['bytes_per_job']:.0f} B/job", flush=True)
        finally:
            b.close()
    print()
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    over = [r["variant"] for r in rows if r["bytes_per_job"] > TARGET_BYTES]
    if over:
        print(f"over the {TARGET_BYTES} B target: {', '.join(over)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
