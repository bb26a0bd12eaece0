"""One producer process of the mixed scaling run (benchmarks.scaling): enqueues no-op jobs
as fast as it can for a while, one `delay` per job or `delay_many` in batches.

``python -m benchmarks.producer --index K --seconds S [--batch B] --out FILE``: it
connects, creates FILE.ready, waits for a line on stdin (the runner starts every
producer at once), enqueues for S seconds, and writes {"n", "t0", "t1", "cpu_s"} to FILE.
Job sequence numbers start at K * 10**9, so those of two producers never collide.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from benchmarks.bench_app import noop

SEQ_BASE = 10**9


def produce(index: int, seconds: float, batch: int) -> dict[str, float]:
    seq = index * SEQ_BASE
    cpu0, t0 = time.process_time(), time.time()
    end = t0 + seconds
    if batch <= 1:
        while time.time() < end:
            noop.delay(seq, time.time())
            seq += 1
    else:
        while time.time() < end:
            now = time.time()
            noop.delay_many([(i, now) for i in range(seq, seq + batch)])
            seq += batch
    return {"n": seq - index * SEQ_BASE, "t0": t0, "t1": time.time(), "cpu_s": time.process_time() - cpu0}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=int, required=True)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--batch", type=int, default=1, help="1: one delay() per job")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    noop.app.broker.client.ping()  # connected before the start signal
    args.out.with_suffix(".ready").touch()
    sys.stdin.readline()
    args.out.write_text(json.dumps(produce(args.index, args.seconds, args.batch)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
