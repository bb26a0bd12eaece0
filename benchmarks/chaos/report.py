"""The verdict as a markdown table (what the README shows) plus the problems found."""

from __future__ import annotations

from benchmarks.chaos.checker import Verdict
from benchmarks.chaos.history import History


def render(verdict: Verdict, h: History, seed: int, seconds: float, workdir: str) -> str:
    lines = [
        f"chaos run: seed {seed}, {seconds:g} s of faults, verdict "
        f"{'FAIL' if verdict.failed else 'PASS'} (history and logs in {workdir})",
        f"lease (visibility_timeout) {h.vt:g} s; Redis with appendonly yes, appendfsync {h.fsync}; "
        f"deadline {h.deadline - h.t0:.0f} s after the start",
        "",
        "| what | count |",
        "|---|---:|",
    ]
    for name, value in verdict.table.items():
        lines.append(f"| {name} | {value} |")
        if name == "dead-lettered":
            for reason, n in verdict.dead_reasons.most_common():
                lines.append(f"| &nbsp;&nbsp;dead: {reason} | {n} |")
    if verdict.problems:
        lines += ["", "problems:"] + [f"- {p}" for p in verdict.problems]
    return "\n".join(lines) + "\n"
