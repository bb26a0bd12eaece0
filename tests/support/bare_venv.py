"""A virtual environment holding this checkout installed as a user installs it
(`pip install -e .`: runtime dependencies only, no dev extra, so no pytest)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent


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
