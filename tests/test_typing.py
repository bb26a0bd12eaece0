"""Typing: mypy accepts the typed samples and the examples, and reports exactly the marked
misuses.

`tests/typing/sample_ok.py` must be clean under `mypy --strict` (its `assert_type` calls
pin the inferred types); every line of `tests/typing/sample_errors.py` marked
`# E: <code>` must be reported with that code, and no other line.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "tests" / "typing"
EXAMPLES = [*sorted((ROOT / "examples").glob("*.py")), ROOT / "examples" / "testing" / "shop.py"]
REPORT = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): error: (?P<msg>.*)  \[(?P<code>[a-z-]+)\]$")
MARK = re.compile(r"#\s*E:\s*(?P<code>[a-z-]+)")


@pytest.fixture(scope="module")
def mypy_errors(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[tuple[int, str]]]:
    """Run mypy once on both samples; {file name: {(line, code)}}."""
    cache = tmp_path_factory.mktemp("mypy-cache")
    files = [str(SAMPLES / "sample_ok.py"), str(SAMPLES / "sample_errors.py"), *map(str, EXAMPLES)]
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", "--cache-dir", str(cache), *files],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode in (0, 1), f"mypy crashed:\n{proc.stdout}\n{proc.stderr}"
    found: dict[str, set[tuple[int, str]]] = {Path(f).name: set() for f in files}
    for line in proc.stdout.splitlines():
        m = REPORT.match(line)
        if m:
            found.setdefault(Path(m["file"]).name, set()).add((int(m["line"]), m["code"]))
    return found


def expected_errors(path: Path) -> set[tuple[int, str]]:
    marks = set()
    for number, text in enumerate(path.read_text().splitlines(), start=1):
        m = MARK.search(text)
        if m:
            marks.add((number, m["code"]))
    return marks


def test_typed_usage_is_clean(mypy_errors: dict[str, set[tuple[int, str]]]) -> None:
    assert mypy_errors["sample_ok.py"] == set()


def test_misuse_is_reported_on_exactly_the_marked_lines(
    mypy_errors: dict[str, set[tuple[int, str]]],
) -> None:
    expected = expected_errors(SAMPLES / "sample_errors.py")
    assert len(expected) >= 8  # the sample really holds the misuses it claims to
    assert mypy_errors["sample_errors.py"] == expected


def test_wrong_argument_type_to_delay_is_flagged(mypy_errors: dict[str, set[tuple[int, str]]]) -> None:
    """The issue's own example: add(x: int, ...) then add.delay("x", ...)."""
    lines = (SAMPLES / "sample_errors.py").read_text().splitlines()
    line = next(i for i, text in enumerate(lines, start=1) if text.startswith('add.delay("x"'))
    assert (line, "arg-type") in mypy_errors["sample_errors.py"]


def test_examples_are_clean_under_strict_mypy(mypy_errors: dict[str, set[tuple[int, str]]]) -> None:
    assert len(EXAMPLES) >= 7
    assert {path.name: mypy_errors[path.name] for path in EXAMPLES} == {path.name: set() for path in EXAMPLES}
