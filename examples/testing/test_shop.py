"""Testing tasks with jobq.testing: real Redis, a real worker, in the test process.

Run from this folder: `pytest -q`. Redis: $JOBQ_TEST_REDIS_URL if set, else a throwaway
redis-server that the plugin starts (and stops) itself.
"""

from __future__ import annotations

import pytest
from shop import app, reserve, total

import jobq
from jobq.testing import drain


def test_a_task_is_a_plain_function_too() -> None:
    assert total([1000, 500], discount_percent=10) == 1350  # no Redis, no worker


def test_jobs_run_on_a_background_worker(jobq_worker) -> None:
    jobq_worker(app)  # app now on the test Redis under a fresh namespace, a worker running
    assert total.delay([250, 250]).result(timeout=10) == 500
    assert reserve.delay("tea", 2).result(timeout=10) == "reserved 2 x tea"


def test_a_rejected_job_ends_dead_with_its_reason(jobq_worker) -> None:
    jobq_worker(app)
    with pytest.raises(jobq.JobFailed, match="cannot reserve 0 of tea"):
        reserve.delay("tea", 0).result(timeout=10)


def test_drain_runs_everything_queued_then_returns(jobq_isolate) -> None:
    jobq_isolate(app)  # no background worker: drain() runs one here until the queues are empty
    jobs = total.delay_many([([100],), ([200], 50)])
    assert drain(app) == 2
    assert [job.result(timeout=1) for job in jobs] == [100, 100]
