"""jobq.testing's drain() is documented as usable without pytest: prove it in a virtual
environment holding jobq and its runtime dependencies only (no dev extra, no pytest)."""

from __future__ import annotations

import subprocess
import textwrap

from tests.support.bare_venv import ROOT, bare_venv

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
