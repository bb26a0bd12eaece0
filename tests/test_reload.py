"""`jobq worker APP --reload`: edit a task file, see the new code run; in-flight jobs finish
first; an import error waits for the fix; without watchfiles, a clear error."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

import jobq
from tests.support.processes import JobqProcess, env_for, jobq_executable
from tests.support.redis_server import RedisServer
from tests.support.waiting import wait_for

TASKS = """
import os, time
import jobq

app = jobq.App(namespace=os.environ["JOBQ_NAMESPACE"])


@app.task(name="version")
def version() -> str:
    return "{version}"


@app.task(name="slow")
def slow(marker: str) -> str:
    open(marker, "w").close()
    time.sleep(1.5)
    return "slow {version} finished"
"""


def write(path: Path, text: str) -> None:
    """Write as an editor does, in one go, with a fresh modification time."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def test_an_edited_task_file_is_picked_up_after_in_flight_jobs_finish(
    jobq_cli: Callable[..., JobqProcess], redis_server: RedisServer, namespace: str, tmp_path: Path
) -> None:
    code = tmp_path / "project"
    code.mkdir()
    module = code / "reload_tasks.py"
    write(module, TASKS.format(version="v1"))
    env = {"PYTHONPATH": str(code), "JOBQ_NAMESPACE": namespace}
    worker = jobq_cli(["worker", "reload_tasks", "--reload", "-c", "4"], redis_server.url, **env)
    app = jobq.App(redis_server.url, namespace=namespace)
    assert app.enqueue("version").result(timeout=30) == "v1"

    marker = tmp_path / "slow-started"
    slow = app.enqueue("slow", str(marker))
    wait_for(marker.exists, 30, "the slow job to start")
    write(module, TASKS.format(version="v2"))

    assert slow.result(timeout=30) == "slow v1 finished", "the in-flight job was cut short"
    wait_for(lambda: worker.output().count("worker.started") >= 2, 60, "the restarted worker")
    assert app.enqueue("version").result(timeout=30) == "v2"
    assert "pool.reloading" in worker.output() and "reload_tasks.py" in worker.output()
    assert worker.proc.poll() is None, "the supervisor must restart in place"

    write(module, "this is not python(\n")  # a typo mid-edit: wait, do not exit
    wait_for(lambda: "pool.reload_waiting" in worker.output(), 60, "the import error")
    assert worker.proc.poll() is None
    write(module, TASKS.format(version="v3"))
    wait_for(lambda: worker.output().count("worker.started") >= 3, 60, "the fixed worker")
    assert app.enqueue("version").result(timeout=30) == "v3"

    worker.signal(signal.SIGTERM)
    assert worker.wait(30) == 0, worker.output()


def test_reload_without_watchfiles_is_a_clear_usage_error(redis_server: RedisServer, tmp_path: Path) -> None:
    blocker = tmp_path / "watchfiles.py"
    blocker.write_text("raise ImportError('not installed')\n")
    env = env_for(redis_server.url)
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), env["PYTHONPATH"]])
    proc = subprocess.run(
        [*jobq_executable(), "worker", "hooks_app", "--reload"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=str(Path(__file__).parent / "apps"),
    )
    assert proc.returncode == 2, proc.stderr
    assert "--reload needs watchfiles: pip install 'jobq[reload]'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_fix_saved_before_the_watcher_is_up_still_restarts(tmp_path: Path) -> None:
    """The error shows, the user saves the fix at once, the watcher starts after: the
    change must not be missed (the supervisor would wait for another save forever)."""
    from jobq.reload import Reloader

    module = tmp_path / "tasks.py"
    write(module, "this is not python(\n")
    reloader = Reloader()
    reloader._loaded = reloader.modified_times(tmp_path)  # as Reloader.load takes them
    os.utime(module, ns=(0, 0))  # saved again: another modification time, before any watcher
    found: list[list[str]] = []
    watcher = threading.Thread(target=lambda: found.append(reloader.wait(tmp_path)), daemon=True)
    watcher.start()
    watcher.join(10)
    reloader._stop.set()  # a missed change would block the watcher: end it either way
    watcher.join(10)
    assert found == [["tasks.py"]]
