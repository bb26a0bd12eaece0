"""How long an operator waits for `jobq --help` and `jobq stats`, as whole processes.

    python -m benchmarks.cli_startup [--runs 20] [--jobq PATH] [--redis-url URL]

Starts a private redis-server (or uses the one at --redis-url, in a namespace of its own
that it deletes afterwards) with three queues of queued jobs, then runs each command
--runs times, interleaved, and prints the median wall time and the median CPU time
(user + sys of the child, from getrusage) next to the interpreter's own floor. CPU time
is the steadier figure on a shared machine; the targets (issue 17) are wall times.
`jobq stats` reads one server without redis-py (jobq.broker.lite); the row "jobq stats
via redis-py" names the same server with an option only redis-py takes, so it shows the
other path, which Cluster and Sentinel URLs use.
`jobq` is the console script next to this interpreter unless --jobq names another. The
commands run in the temporary directory, so PYTHONPATH alone decides which jobq they
import: `PYTHONPATH=/path/to/other/checkout python -m benchmarks.cli_startup` measures it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import jobq
from jobq.localredis import LocalRedis

NAMESPACE = f"clibench-{os.getpid()}"
TARGETS_S = {"jobq --help": 0.15, "jobq stats": 0.25, "jobq stats --json": 0.25}


def child_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall s, CPU s) of one whole process; it must exit 0."""
    cpu, started = child_cpu_s(), time.perf_counter()
    done = subprocess.run(
        argv,
        env=env,
        cwd=tempfile.gettempdir(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.decode()[-500:]}")
    return wall, child_cpu_s() - cpu


def fill(url: str) -> jobq.App:
    """Three queues with jobs waiting, so `jobq stats` renders real tables."""
    app = jobq.App(url, NAMESPACE)
    for queue in ("emails", "reports", "default"):
        for n in range(20):
            app.submit("bench.send", [n], queue=queue)
    return app


@contextlib.contextmanager
def server_url(given: str | None) -> Iterator[str]:
    """The URL of a Redis with NAMESPACE filled: `given`, or a private redis-server."""
    with contextlib.ExitStack() as stack:
        url = given or stack.enter_context(LocalRedis()).url
        app = fill(url)
        try:
            yield url
        finally:
            if given:
                app.broker.delete_namespace()
            app.broker.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--jobq", default=str(Path(sys.executable).with_name("jobq")))
    parser.add_argument("--redis-url", default=None, help="a running Redis (else a private redis-server)")
    args = parser.parse_args()
    script = args.jobq if os.path.exists(args.jobq) else shutil.which("jobq")
    if script is None:
        raise SystemExit("no jobq console script: pip install -e . first")
    py = sys.executable
    with server_url(args.redis_url) as url:
        env = {**os.environ, "JOBQ_REDIS_URL": url, "JOBQ_NAMESPACE": NAMESPACE}
        only_redis_py = url + ("&" if "?" in url else "?") + "socket_timeout=5"
        commands = {
            "python -S -c pass": [py, "-S", "-c", "pass"],
            "python -c pass": [py, "-c", "pass"],
            "python -c 'import redis'": [py, "-c", "import redis"],
            "jobq --help": [script, "--help"],
            "python -m jobq --help": [py, "-m", "jobq", "--help"],
            "jobq stats": [script, "stats"],
            "jobq stats --json": [script, "stats", "--json"],
            "jobq stats via redis-py": [script, "stats", "--redis-url", only_redis_py],
        }
        for argv in commands.values():  # warm the page cache and the .pyc files
            run_once(argv, env)
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, argv in commands.items():
                samples[name].append(run_once(argv, env))
    load = os.getloadavg()[0]
    print(f"median of {args.runs} runs each, interleaved; load average {load:.2f}, {os.cpu_count()} cores")
    print(f"redis: {args.redis_url or 'a private redis-server'}")
    print(f"{'command':<28} {'wall ms':>8} {'CPU ms':>8}  target")
    for name, runs in samples.items():
        wall = statistics.median(w for w, _ in runs) * 1000
        cpu = statistics.median(c for _, c in runs) * 1000
        target = TARGETS_S.get(name)
        verdict = ""
        if target is not None:
            verdict = f"≤ {target * 1000:.0f} ms " + ("met" if wall <= target * 1000 else "MISSED")
        print(f"{name:<28} {wall:8.1f} {cpu:8.1f}  {verdict}")


if __name__ == "__main__":
    main()
