"""A virtual environment holding this checkout installed as a user installs it
(`pip install -e .`: runtime dependencies only, no dev extra, so no pytest)."""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent


def bare_venv() -> Path:
    """A venv with `pip install -e .` (runtime dependencies only), reused while pyproject.toml
    and this checkout stay the same. Built in place (console scripts name their interpreter
    by path) under a lock, and marked ready only once complete."""
    key = hashlib.sha256(str(ROOT).encode() + (ROOT / "pyproject.toml").read_bytes()).hexdigest()[:16]
    tag = f"py{sys.version_info[0]}{sys.version_info[1]}"
    home = Path(tempfile.gettempdir()) / f"jobq-bare-venv-{tag}-{key}"
    python, ready = home / "bin" / "python", home / "ready"
    with open(f"{home}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another test run may be building it right now
        if ready.exists():
            return python
        shutil.rmtree(home, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(home)], check=True)
        pip = [sys.executable, "-m", "pip", "--python", str(python)]
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
        ready.touch()
    return python
