"""Markdown report of one benchmark run (pure: results in, text out)."""

from __future__ import annotations

from typing import Any

from benchmarks.figures import floor_of, median, ratio

# Targets of issue 6, and the peer figures they are stated against (../shared/bench/PEERS.md,
# same machine class; the side-by-side run there gives same-run ratios).
W1_SINGLE_RATIO = 0.9
W1_BATCH_RATE = 100_000
W1_BATCH_RATIO = 0.8  # issue 17: delay_many >= 0.8x the raw pipelined XADD floor
HUEY_W2 = 12_674
W2_FACTOR = 2.0
W3_P50_MS, W3_P99_MS = 0.3, 0.6
PEER_W4 = 7_728
W4_FACTOR = 1.3
BYTES_PER_JOB = 300
STATS_MS = 50

Row = dict[str, Any]


def num(v: float | None, nd: int = 0) -> str:
    return "-" if v is None else f"{v:,.{nd}f}"


def groups(rows: list[Row], workload: str) -> dict[str, list[Row]]:
    out: dict[str, list[Row]] = {}
    for r in rows:
        if r.get("workload") == workload:
            out.setdefault(f"{r['variant']}|{r.get('config', '')}", []).append(r)
    return out


def _med(rows: list[Row], key: str) -> float | None:
    return median(r.get(key) for r in rows)


def verdict(ok: bool | None) -> str:
    return "-" if ok is None else ("met" if ok else "**missed**")


def w1_ratios(rows: list[Row]) -> dict[str, float | None]:
    """Median over runs of (variant rate / its raw floor's rate in the same run): raw XADD
    one per round trip for one-by-one enqueues, pipelined for batches."""
    by_run: dict[int, dict[str, float]] = {}
    for r in rows:
        if r.get("workload") == "W1":
            by_run.setdefault(r["run"], {})[r["variant"]] = r["rate"]
    variants = {v for runs in by_run.values() for v in runs}
    return {
        v: median(ratio(runs.get(v), runs.get(floor_of(v))) for runs in by_run.values()) for v in variants
    }


def w1_table(rows: list[Row]) -> list[str]:
    ratios = w1_ratios(rows)
    lines = [
        "| variant | N | median jobs/s | x its raw floor (same run) | producer CPU µs/job "
        "| Redis CPU µs/job | Redis cmds/job | runs (jobs/s) |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for group in groups(rows, "W1").values():
        v = group[0]["variant"]
        lines.append(
            f"| {v} | {group[0]['n']:,} | {num(_med(group, 'rate'))} | {num(ratios.get(v), 2)} "
            f"| {num(_med(group, 'producer_cpu_us'), 1)} | {num(_med(group, 'redis_cpu_us'), 1)} "
            f"| {num(_med(group, 'redis_cmds'), 2)} | {', '.join(num(r['rate']) for r in group)} |"
        )
    return lines


def drain_table(rows: list[Row], workload: str) -> list[str]:
    lines = [
        "| variant | worker | N | median jobs/s (steady) | jobs/s incl. start-up | start-up s "
        "| worker CPU µs/job | Redis CPU µs/job | Redis cmds/job | runs (steady jobs/s) "
        "| lost/dup | log errors |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|---:|",
    ]
    for group in groups(rows, workload).values():
        g0 = group[0]
        lost = sum(max(0, r.get("lost", 0)) for r in group)
        dup = sum(r.get("duplicates", 0) for r in group)
        lines.append(
            f"| {g0['variant']} | `{g0['config']}` | {g0['n']:,} | {num(_med(group, 'rate'))} "
            f"| {num(_med(group, 'rate_incl_startup'))} | {num(_med(group, 'startup_s'), 2)} "
            f"| {num(_med(group, 'worker_cpu_us'))}{_spawn_mark(group)} | {num(_med(group, 'redis_cpu_us'))} "
            f"| {num(_med(group, 'redis_cmds'), 2)} | {', '.join(num(r.get('rate')) for r in group)} "
            f"| {lost}/{dup} | {sum(r.get('log_problems', 0) for r in group)} |"
        )
    return lines


def _spawn_mark(group: list[Row]) -> str:
    """A mark on CPU figures taken from the worker's spawn: the drain ended before the first
    sample, so they include start-up (an upper bound)."""
    return " (incl. start-up)" if any(r.get("cpu_window") == "spawn" for r in group) else ""


def best_drain(rows: list[Row], workload: str, variant_prefix: str = "") -> tuple[str, float | None]:
    """(config, median steady rate) of the fastest configuration of a drain workload."""
    best: tuple[str, float | None] = ("-", None)
    for group in groups(rows, workload).values():
        if not group[0]["variant"].startswith(variant_prefix):
            continue
        m = _med(group, "rate")
        if m is not None and (best[1] is None or m > best[1]):
            best = (f"{group[0]['variant']}, {group[0]['config']}", m)
    return best


def best_latency(rows: list[Row]) -> tuple[str, float | None, float | None]:
    """(variant, median p50, median p99) of the W3 variant with the lowest median p50."""
    best: tuple[str, float | None, float | None] = ("-", None, None)
    for group in groups(rows, "W3").values():
        p50 = _med(group, "p50_ms")
        if p50 is not None and (best[1] is None or p50 < best[1]):
            best = (group[0]["variant"], p50, _med(group, "p99_ms"))
    return best


def w3_table(rows: list[Row]) -> list[str]:
    lines = [
        "| variant | worker | p50 ms | p95 ms | p99 ms | max ms | runs (p50) | received |",
        "|---|---|---:|---:|---:|---:|---|---|",
    ]
    for group in groups(rows, "W3").values():
        g0 = group[0]
        lines.append(
            f"| {g0['variant']} | `{g0['config']}` | {num(_med(group, 'p50_ms'), 3)} "
            f"| {num(_med(group, 'p95_ms'), 3)} | {num(_med(group, 'p99_ms'), 3)} "
            f"| {num(_med(group, 'max_ms'), 2)} | {', '.join(num(r.get('p50_ms'), 3) for r in group)} "
            f"| {', '.join(_received(r) for r in group)} |"
        )
    return lines


def _received(r: Row) -> str:
    return f"{r.get('unique', 0)}/{r['n']}"


def backlog_table(bk: Row) -> list[str]:
    fill, snap0, snap1 = bk["fill"], bk["snapshot_no_group"], bk["snapshot_with_group"]
    cli, sl = bk["cli"], bk["slice"]
    rows = [
        ("jobs queued", f"{fill['n']:,} (envelope {fill['envelope_bytes']} bytes)"),
        (
            "enqueue time (delay_many, batches of 10,000)",
            f"{num(fill['enqueue_s'], 1)} s = {num(fill['enqueue_rate'])} jobs/s",
        ),
        ("Redis memory per queued job (INFO used_memory)", f"{num(fill['bytes_per_job'], 1)} bytes"),
        (
            "... of which the stream / the jobs hash (MEMORY USAGE, sampled)",
            f"{num(fill['stream_bytes_per_job'], 1)} / {num(fill['jobs_hash_bytes_per_job'], 1)} bytes "
            f"({fill['stream_encoding']}, {fill['jobs_hash_encoding']})",
        ),
        ("`jobq.stats.snapshot` in-process, before any worker (median / max)", _snap(snap0)),
        ("`jobq.stats.snapshot` in-process, consumer group present (median / max)", _snap(snap1)),
        ("`jobq stats --json` whole process, wall (minus `jobq stats --help`)", _cli(cli)),
        (
            f"worker RSS draining {sl['n']:,} of the backlog (`{sl['config']}`), per process",
            f"{num(sl['rss_early_mib'], 1)} MiB after 1,000 jobs, peak {num(sl['rss_peak_mib'], 1)} MiB",
        ),
        ("drain rate on the deep backlog (incl. start-up)", f"{num(sl['rate_incl_startup'])} jobs/s"),
    ]
    return ["| measure | value |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows)]


def _snap(s: Row) -> str:
    if "error" in s:
        return s["error"]
    seen = "" if s.get("backlog_ok", True) else f" (backlog read {s['backlog_seen']:,}: WRONG)"
    return f"{num(s['median_ms'], 2)} / {num(s['max_ms'], 2)} ms{seen}"


def _cli(c: Row) -> str:
    if "error" in c:
        return c["error"]
    return f"{num(c['wall_ms'], 0)} ms ({num(c['query_ms'], 0)} ms over {num(c['help_wall_ms'], 0)} ms)"


def at_most(value: float | None, limit: float) -> bool | None:
    return None if value is None else value <= limit


def at_least(value: float | None, limit: float) -> bool | None:
    return None if value is None else value >= limit


def targets(results: Row) -> list[str]:
    rows: list[Row] = results["rows"]
    bk = results.get("backlog")
    ratios = w1_ratios(rows)
    single = ratios.get("delay")
    w1 = groups(rows, "W1")
    batch = next((_med(g, "rate") for k, g in w1.items() if k.startswith("delay_many")), None)
    batch_ratio = next((r for v, r in ratios.items() if v.startswith("delay_many")), None)
    w2_cfg, w2 = best_drain(rows, "W2")
    w3_cfg, p50, p99 = best_latency(rows)
    w4_cfg, w4 = best_drain(rows, "W4")
    bpj = bk["fill"]["bytes_per_job"] if bk else None
    snap = bk["snapshot_with_group"].get("median_ms") if bk else None
    w3_ok = None if p50 is None or p99 is None else bool(at_most(p50, W3_P50_MS) and at_most(p99, W3_P99_MS))
    table = [
        ("W1 `delay` ≥ 0.9x raw XADD loop", f"{num(single, 2)}x", at_least(single, W1_SINGLE_RATIO)),
        ("W1 `delay_many` ≥ 100,000 jobs/s", f"{num(batch)} jobs/s", at_least(batch, W1_BATCH_RATE)),
        (
            f"W1 `delay_many` ≥ {W1_BATCH_RATIO}x raw pipelined XADD",
            f"{num(batch_ratio, 2)}x",
            at_least(batch_ratio, W1_BATCH_RATIO),
        ),
        (
            f"W2 ≥ {W2_FACTOR}x huey ({HUEY_W2:,}/s in PEERS.md)",
            f"{num(w2)} jobs/s ({w2_cfg})",
            at_least(w2, W2_FACTOR * HUEY_W2),
        ),
        (
            f"W3 p50 ≤ {W3_P50_MS} ms, p99 ≤ {W3_P99_MS} ms",
            f"p50 {num(p50, 3)} / p99 {num(p99, 3)} ms ({w3_cfg})",
            w3_ok,
        ),
        (
            f"W4 ≥ {W4_FACTOR}x dramatiq/taskiq ({PEER_W4:,}/s in PEERS.md)",
            f"{num(w4)} jobs/s ({w4_cfg})",
            at_least(w4, W4_FACTOR * PEER_W4),
        ),
        (f"backlog ≤ {BYTES_PER_JOB} bytes/job", f"{num(bpj, 1)} bytes", at_most(bpj, BYTES_PER_JOB)),
        (
            f"`jobq.stats.snapshot` < {STATS_MS} ms on the backlog",
            f"{num(snap, 2)} ms",
            at_most(snap, STATS_MS),
        ),
    ]
    return [
        "| target (issue 6) | measured (median) | status |",
        "|---|---|---|",
        *(f"| {what} | {measured} | {verdict(ok)} |" for what, measured, ok in table),
    ]


def render(results: Row) -> str:
    meta, rows = results["meta"], results["rows"]
    out = [
        f"# jobq benchmarks, {meta['started']}",
        "",
        f"**Measured on a busy, shared machine** ({meta['nproc']} cores, load average "
        f"{meta['load_start']} at start and {meta['load_end']} at the end; other engineers' test "
        "runs share the CPUs). Compare ratios taken within one run, not absolute figures "
        "across runs.",
        "",
        f"jobq {meta['jobq_commit']}, Python {meta['python']}, redis-py {meta['redis_py']}, "
        f'redis-server {meta["redis_version"]} (private, `--save "" --appendonly no`), '
        f"{meta['runs']} run(s) per figure (median), mode `{meta['mode']}`, "
        f"{num(meta.get('elapsed_s'), 0)} s in all.",
        "",
        "## Targets",
        "",
        *targets(results),
        "",
        "## W1 enqueue",
        "",
        *w1_table(rows),
        "",
        "## W2 drain, no-op jobs",
        "",
        *drain_table(rows, "W2"),
        "",
        "## W3 enqueue-to-start latency (idle worker)",
        "",
        *w3_table(rows),
        "",
        "## W4 drain, jobs that sleep 10 ms",
        "",
        *drain_table(rows, "W4"),
        "",
    ]
    if results.get("backlog"):
        out += ["## Deep backlog", "", *backlog_table(results["backlog"]), ""]
    out += ["![chart](chart.png)" if results.get("chart") else "(no chart: matplotlib is not installed)", ""]
    return "\n".join(out)
