"""Worker lifecycle hooks: a database connection pool opened once per worker process.

    jobq worker db_pool -p 2       # terminal 1: two worker processes, one pool each
    python db_pool.py              # terminal 2: enqueue visits, print who served them

`@app.on_worker_start` runs in every worker process before its first job (never in the
pool supervisor) and `@app.on_worker_stop` after its last one; what they put on
`jobq.current_worker().state` is there for every task that process runs, sync or async.
SQLite stands in for your real database driver and pool.
"""

from __future__ import annotations

import os
import queue
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

import jobq

app = jobq.App()


class Pool:
    """A small connection pool (use psycopg_pool, asyncpg or SQLAlchemy's in real code)."""

    def __init__(self, path: str, size: int = 4) -> None:
        self.free: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self.all = [sqlite3.connect(path, check_same_thread=False) for _ in range(size)]
        for conn in self.all:
            self.free.put(conn)
        with self.connection() as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS visits (page TEXT)")

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        conn = self.free.get()
        try:
            with conn:  # one transaction
                yield conn
        finally:
            self.free.put(conn)

    def close(self) -> None:
        for conn in self.all:
            conn.close()


@app.on_worker_start
def open_pool() -> None:
    path = os.path.join(tempfile.mkdtemp(prefix="jobq-db-pool-"), "visits.db")
    jobq.current_worker().state.db = Pool(path)


@app.on_worker_stop
def close_pool() -> None:
    jobq.current_worker().state.db.close()


@app.task(name="db_pool.add_visit")
def add_visit(page: str) -> dict[str, int]:
    db: Pool = jobq.current_worker().state.db
    with db.connection() as conn:
        conn.execute("INSERT INTO visits VALUES (?)", (page,))
        (count,) = conn.execute("SELECT count(*) FROM visits").fetchone()
    return {"worker_pid": os.getpid(), "pool": id(db), "visits_seen_by_this_pool": count}


def main() -> None:
    jobs = add_visit.delay_many([(f"/page/{i}",) for i in range(40)])
    results = [job.result(timeout=30) for job in jobs]
    pools = {(r["worker_pid"], r["pool"]) for r in results}
    processes = {pid for pid, _ in pools}
    print(f"40 visits recorded through {len(pools)} pool(s) in {len(processes)} worker process(es)")
    print("one pool per process:", len(pools) == len(processes))
    print("highest count seen by one pool:", max(r["visits_seen_by_this_pool"] for r in results))


if __name__ == "__main__":
    main()
