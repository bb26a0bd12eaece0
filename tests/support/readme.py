"""The README read as data: its fenced code blocks, its shell sessions (`$ command` lines
and the output shown under them), and a normal form of command output in which ids,
times, durations, hosts and pids no longer differ between a run and the README's sample."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).resolve().parent.parent.parent / "README.md"


@dataclass(frozen=True)
class Block:
    """One fenced code block: its language, text, the heading above it, and the prose
    paragraph just before it (where the README says what the block is)."""

    lang: str
    text: str
    heading: str
    before: str


def blocks(text: str | None = None) -> list[Block]:
    found: list[Block] = []
    heading, prose, fresh = "", "", True
    lines = (text if text is not None else README.read_text()).splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
            found.append(Block(line[3:].strip(), "\n".join(lines[i + 1 : end]), heading, prose))
            prose, fresh, i = "", True, end + 1
            continue
        if line.startswith("#"):
            heading, prose, fresh = line.lstrip("#").strip(), "", True
        elif not line.strip():
            fresh = True  # a new paragraph starts at the next line of text
        else:
            prose = line.strip() if fresh else f"{prose} {line.strip()}"
            fresh = False
        i += 1
    return found


def section(heading_start: str, text: str | None = None) -> str:
    """The README text from the heading that starts with `heading_start` to the next
    heading of the same or a higher level."""
    source = text if text is not None else README.read_text()
    match = re.search(rf"^(#+) {re.escape(heading_start)}.*$", source, re.MULTILINE)
    assert match, f"no README heading starting with {heading_start!r}"
    level = len(match.group(1))
    rest = source[match.end() :]
    end = re.search(rf"^#{{1,{level}}} ", rest, re.MULTILINE)
    return rest[: end.start()] if end else rest


@dataclass(frozen=True)
class Step:
    """`$ command` and the lines the README shows it printing."""

    argv: list[str]
    shown: list[str]


def session(text: str) -> list[Step]:
    steps: list[Step] = []
    for line in text.splitlines():
        if line.startswith("$ "):
            steps.append(Step(shlex.split(line[2:], comments=True), []))
        elif steps:
            steps[-1].shown.append(line)
    return steps


RULES = [
    (r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z", "<TIME>"),
    (r"\b\d{2}:\d{2}:\d{2} UTC\b", "<CLOCK>"),
    (r"\b[0-9a-f]{32}\b", "<ID>"),
    (r"(?<![\w.-])[0-9a-f]{8}(?![\w-])", "<ID>"),
    (r"\bjobq-demo-[0-9a-f]+\b", "<NS>"),
    (r"\b(?:redis|rediss)://[^\s:]+:\d+(?:/\d+)?", "<URL>"),
    (r"\b127\.0\.0\.1:\d+", "<ADDR>"),
    (r"\bpid \d+", "pid <PID>"),
    (r"\b\d+(?:\.\d+)?/\d+(?:\.\d+)?ms\b", "<DUR>"),
    (r"\b\d+(?:\.\d+)? ?(?:ms|s)\b", "<DUR>"),
]


def normal(text: str, host: str | None = None) -> list[str]:
    """Each non-empty line with ids, times, durations, pids, URLs and `host` made generic,
    and runs of spaces (column alignment) made one."""
    out = []
    for line in text.splitlines():
        if host:
            line = re.sub(rf"\b{re.escape(host)}:\d+\b", "<WORKER>", line)
            line = re.sub(rf"\b{re.escape(host)} +\d+\b", "<HOST> <PID>", line)
            line = re.sub(rf"\b{re.escape(host)}\b", "<HOST>", line)
        for pattern, replacement in RULES:
            line = re.sub(pattern, replacement, line)
        line = " ".join(line.split())
        if line:
            out.append(line)
    return out
