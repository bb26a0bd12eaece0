"""Tasks for the security process tests. The signing key comes from $JOBQ_SIGNING_KEY (the
App default); every run leaves a marker file, so a test can prove a forged job never ran."""

from __future__ import annotations

import os
from pathlib import Path

import jobq

app = jobq.App(namespace=os.environ.get("JOBQ_NAMESPACE", "jobq"), visibility_timeout=5.0)


@app.task(name="secure.touch", retries=0)
def touch(name: str) -> str:
    """Write marker `name` (a bare file name) into $JOBQ_MARKER_DIR."""
    Path(os.environ["JOBQ_MARKER_DIR"], Path(name).name).write_text(str(os.getpid()))
    return name
