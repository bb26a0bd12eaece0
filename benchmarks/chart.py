"""chart.png of one run (matplotlib, from the `bench` extra; optional)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks import report
from benchmarks.figures import median

Row = dict[str, Any]


def _series(rows: list[Row], workload: str, key: str) -> tuple[list[str], list[float]]:
    labels, values = [], []
    for group in report.groups(rows, workload).values():
        v = median(r.get(key) for r in group)
        g0 = group[0]
        conc = f"\n-c {g0['concurrency']}" if "concurrency" in g0 else ""
        labels.append(f"{g0['variant']}{conc}")
        values.append(v or 0.0)
    return labels, values


def _bars(ax: Any, labels: list[str], values: list[float], title: str, unit: str) -> None:
    bars = ax.bar(range(len(values)), values, color="#4C72B0")
    ax.set_xticks(range(len(values)), labels, fontsize=7)
    ax.set_title(title, fontsize=9)
    ax.set_ylabel(unit, fontsize=8)
    ax.bar_label(bars, labels=[f"{v:,.0f}" if v >= 10 else f"{v:.2f}" for v in values], fontsize=7)


def _target(ax: Any, y: float, text: str, color: str = "#C44E52") -> None:
    ax.axhline(y, color=color, linestyle="--", linewidth=1)
    ax.annotate(text, (0, y), xytext=(2, 2), textcoords="offset points", fontsize=7, color=color)


def draw(results: Row, path: Path) -> bool:
    """Write the chart; False when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    rows: list[Row] = results["rows"]
    fig, axes = plt.subplots(2, 3, figsize=(15, 8.5))
    ax = axes[0][0]
    _bars(ax, *_series(rows, "W1", "rate"), "W1 enqueue", "jobs/s")
    ax.set_yscale("log")
    _target(ax, report.W1_BATCH_RATE, "delay_many target 100k/s")
    ax = axes[0][1]
    _bars(ax, *_series(rows, "W2", "rate"), "W2 drain, no-op (steady)", "jobs/s")
    _target(ax, report.HUEY_W2, "huey (PEERS.md)", "#888888")
    _target(ax, report.W2_FACTOR * report.HUEY_W2, "target 2x huey")
    ax = axes[0][2]
    labels, worker = _series(rows, "W2", "worker_cpu_us")
    _, redis_cpu = _series(rows, "W2", "redis_cpu_us")
    ax.bar(range(len(worker)), worker, label="worker", color="#4C72B0")
    ax.bar(range(len(worker)), redis_cpu, bottom=worker, label="redis-server", color="#DD8452")
    ax.set_xticks(range(len(worker)), labels, fontsize=7)
    ax.set_title("W2 CPU per job", fontsize=9)
    ax.set_ylabel("µs/job", fontsize=8)
    ax.legend(fontsize=7)
    ax = axes[1][0]
    _w3(ax, rows)
    ax = axes[1][1]
    _bars(ax, *_series(rows, "W4", "rate"), "W4 drain, 10 ms sleep (steady)", "jobs/s")
    _target(ax, report.PEER_W4, "dramatiq/taskiq (PEERS.md)", "#888888")
    _target(ax, report.W4_FACTOR * report.PEER_W4, "target 1.3x")
    _backlog(axes[1][2], results.get("backlog"))
    fig.suptitle(
        f"jobq benchmarks {results['meta']['started']} (busy shared {results['meta']['nproc']}-core machine)"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _w3(ax: Any, rows: list[Row]) -> None:
    labels, values = [], []
    for group in report.groups(rows, "W3").values():
        name = group[0]["variant"].split(",")[0]
        for key in ("p50_ms", "p95_ms", "p99_ms"):
            labels.append(f"{name}\n{key[:3]}")
            values.append(median(r.get(key) for r in group) or 0.0)
    _bars(ax, labels, values, "W3 enqueue-to-start latency", "ms")
    _target(ax, report.W3_P50_MS, "p50 target")
    _target(ax, report.W3_P99_MS, "p99 target")


def _backlog(ax: Any, bk: Row | None) -> None:
    if not bk:
        ax.set_axis_off()
        return
    fill = bk["fill"]
    values = [fill["bytes_per_job"], fill["stream_bytes_per_job"], fill["jobs_hash_bytes_per_job"]]
    _bars(
        ax,
        ["total (INFO)", "stream", "jobs hash"],
        values,
        f"Redis bytes per queued job ({fill['n']:,})",
        "bytes",
    )
    _target(ax, report.BYTES_PER_JOB, "target 300")
    snap = bk["snapshot_with_group"].get("median_ms")
    if snap is not None:
        ax.text(0.98, 0.95, f"stats snapshot {snap:.1f} ms", transform=ax.transAxes, ha="right", fontsize=8)
