"""Weighted queues: `-q critical:6 -q default:3 -q bulk:1` takes work in proportion to the
weights while every queue has backlog (real Redis, a real Worker)."""

from __future__ import annotations

import subprocess
import sys

import pytest

import jobq
from jobq import stats
from jobq.flow import queue_weight
from jobq.worker.weights import WeightedShares
from tests.support.weights import WEIGHTS, assert_shares, fill_and_drain


def test_shares_follow_the_weights_one_slot_at_a_time_and_in_batches() -> None:
    shares = WeightedShares(WEIGHTS)
    totals = dict.fromkeys(WEIGHTS, 0)
    for _ in range(1000):
        for q, n in shares.plan(1, list(WEIGHTS)).items():
            totals[q] += n
    assert totals == {"critical": 600, "default": 300, "bulk": 100}
    assert shares.plan(10, list(WEIGHTS)) == {"critical": 6, "default": 3, "bulk": 1}
    assert shares.plan(4, ["default", "bulk"]) == {"default": 3, "bulk": 1}  # critical paused
    assert WeightedShares({"a": 1, "b": 1}).uniform


def test_a_queue_weight_is_a_whole_number_of_at_least_one() -> None:
    assert queue_weight("critical:6") == ("critical", 6)
    assert queue_weight("bulk") == ("bulk", 1)
    for bad in ("bulk:0", "bulk:x", "bulk:", "bulk:-1"):
        with pytest.raises(jobq.ConfigError, match="whole number >= 1"):
            queue_weight(bad)


def test_work_is_taken_in_proportion_to_the_weights(app: jobq.App) -> None:
    done = fill_and_drain(app, 10_000, 10_000)
    assert_shares(done)
    assert all(q.backlog for q in stats.snapshot(app.broker, list(WEIGHTS)).queues)  # all had backlog


def test_a_bad_weight_is_a_usage_error(redis_url: str) -> None:
    command = [sys.executable, "-m", "jobq", "worker", "tests.apps.core_app", "-q", "bulk:0"]
    command += ["--redis-url", redis_url]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert "whole number >= 1" in proc.stderr and "Traceback" not in proc.stderr
