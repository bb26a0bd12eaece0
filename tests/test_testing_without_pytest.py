"""jobq.testing's drain() is documented as usable without pytest: prove it in a virtual
environment holding jobq and its runtime dependencies only (no dev extra, no pytest)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = textwrap.dedent(
    """
    import sys

    import jobq
    from jobq.testing import drain

    assert "pytest" not in sys.modules, "jobq.testing imported pytest"
    app = jobq.App(sys.argv[1], namespace=sys.argv[2])

    @app.task(name="double")
    def double(x: int) -> int:
        return 2 * x

    jobs = double.delay_many([(1,), (2,), (3,)])
    print(drain(app, timeout=30), [job.result(timeout=5) for job in jobs], jobq.__file__)
    app.broker.delete_namespace()
    """
)


def bare_venv() -> Path:
    """A venv with `pip install -e .` (runtime dependencies only), reused while pyproject.toml
    and this checkout stay the same: built once into a scratch dir, then renamed into place."""
    key = hashlib.sha256(str(ROOT).encode() + (ROOT / "pyproject.toml").read_bytes()).hexdigest()[:16]
    tag = f"py{sys.version_info[0]}{sys.version_info[1]}"
    home = Path(tempfile.gettempdir()) / f"jobq-bare-venv-{tag}-{key}"
    python = home / "bin" / "python"
    if python.exists():
        return python
    scratch = Path(tempfile.mkdtemp(prefix=home.name + "-", dir=home.parent))
    try:
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(scratch)], check=True)
        pip = [sys.executable, "-m", "pip", "--python", str(scratch / "bin" / "python")]
        install = subprocess.run(
            [*pip, "install", "-q", "--disable-pip-version-check", "-e", str(ROOT)],
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
        if install.returncode != 0:
            last = (install.stderr.strip().splitlines() or ["no output"])[-1]
            pytest.skip(f"cannot install jobq's runtime dependencies into a bare venv (offline?): {last}")
        with contextlib.suppress(OSError):  # another run put one there first: use that
            os.rename(scratch, home)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return python


def test_drain_works_where_pytest_is_not_installed(redis_url: str, namespace: str) -> None:
    python = bare_venv()
    check = subprocess.run([str(python), "-c", "import pytest"], capture_output=True, text=True, check=False)
    assert check.returncode != 0 and "No module named 'pytest'" in check.stderr  # truly without pytest
    done = subprocess.run(
        [str(python), "-c", SCRIPT, redis_url, namespace],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=str(ROOT / "tests"),  # not the checkout: jobq must come from the venv's install
        check=False,
    )
    assert done.returncode == 0, done.stderr
    *_, last = done.stdout.strip().splitlines()  # (worker log lines come first)
    settled_and_results, _, source = last.rpartition(" ")
    assert settled_and_results == "3 [2, 4, 6]", done.stdout
    assert source == str(ROOT / "jobq" / "__init__.py")  # this checkout's code, installed editable
