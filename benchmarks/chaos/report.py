"""The verdict as a markdown table (what the README shows) plus the problems found."""

from __future__ import annotations

from benchmarks.chaos.checker import Verdict


def render(verdict: Verdict, seed: int, seconds: float, workdir: str) -> str:
    lines = [
        f"chaos run: seed {seed}, {seconds:g} s of faults, verdict "
        f"{'FAIL' if verdict.failed else 'PASS'} (history and logs in {workdir})",
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
