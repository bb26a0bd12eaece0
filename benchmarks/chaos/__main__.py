"""`python -m benchmarks.chaos --seconds N --seed S [--report PATH]`: one chaos run.

Exit status 0 when the checker finds nothing wrong, 1 when it finds lost, stuck or
illegally duplicated jobs or missed or doubled cron ticks, 2 on bad usage.
`--check HISTORY` re-runs the checker alone on a saved history.json.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.chaos.checker import check
from benchmarks.chaos.history import History
from benchmarks.chaos.report import render


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through the runner's cleanup


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    parser = argparse.ArgumentParser(prog="python -m benchmarks.chaos", description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0, help="how long faults are injected")
    parser.add_argument("--seed", type=int, default=None, help="replays a run (default: random)")
    parser.add_argument("--report", type=Path, default=None, help="also write the table here")
    parser.add_argument("--workdir", type=Path, default=None, help="records, logs, history.json")
    parser.add_argument("--check", type=Path, default=None, metavar="HISTORY", help="only re-check")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else int(time.time()) % 100_000
    if args.check is not None:
        history = History.load(args.check)
        verdict = check(history)
        text = render(verdict, history, seed, 0, str(args.check.parent))
    else:
        from benchmarks.chaos.runner import run

        if args.seconds < 10:
            parser.error("--seconds must be at least 10")
        workdir = args.workdir or Path(tempfile.mkdtemp(prefix=f"jobq-chaos-{seed}-"))
        print(f"chaos run: seed {seed}, {args.seconds:g} s, workdir {workdir}", flush=True)
        history, verdict = run(seed, args.seconds, workdir)
        text = render(verdict, history, seed, args.seconds, str(workdir))
    sys.stdout.write(text)
    if args.report is not None:
        args.report.write_text(text)
    return 1 if verdict.failed else 0


if __name__ == "__main__":
    sys.exit(main())
