"""One configuration rule for every process (issue 12, item 1): a command-line flag, else the
value written in code, else the environment, else the default."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import redis

import jobq
from tests.support.corepool import Start
from tests.support.jobq_run import run_jobq
from tests.support.processes import APPS_DIR, env_for
from tests.support.redis_server import RedisServer

PRODUCE = "import env_app; print(' '.join(j.id for j in env_app.add.delay_many([(1, 2), (3, 4)])))"


def produce_from_environment(redis_url: str, **env: str) -> list[str]:
    """A separate producer process whose only configuration is its environment."""
    out = subprocess.run(
        [sys.executable, "-c", PRODUCE],
        env=env_for(redis_url, **env),
        cwd=str(APPS_DIR),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return out.stdout.split()


def test_producer_worker_and_stats_configured_only_by_the_environment_meet(
    private_redis: type[RedisServer], jobq_cli: Start
) -> None:
    server = private_redis()
    ids = produce_from_environment(server.url, JOBQ_NAMESPACE="staging")
    worker = jobq_cli(["worker", "env_app", "--burst"], server.url, JOBQ_NAMESPACE="staging")
    assert worker.wait(60) == 0, worker.output()
    stats = run_jobq(["stats", "--json"], server.url, JOBQ_NAMESPACE="staging")
    assert stats.returncode == 0, stats.stderr
    queues = {q["name"]: q for q in json.loads(stats.stdout)["queues"]}
    assert queues["default"]["processed"] == 2 and queues["default"]["backlog"] == 0
    app = jobq.App(server.url, namespace="staging")
    assert [app.job(i).result(timeout=5) for i in ids] == [3, 7]
    keys = redis.Redis.from_url(server.url, decode_responses=True).keys("*")
    assert keys and all(k.startswith("staging:") for k in keys), sorted(keys)


def test_the_value_in_code_beats_the_environment(monkeypatch: pytest.MonkeyPatch, redis_url: str) -> None:
    in_code, in_env = redis_url.replace("/0", "/7"), redis_url.replace("/0", "/8")
    monkeypatch.setenv("JOBQ_REDIS_URL", in_env)
    monkeypatch.setenv("JOBQ_NAMESPACE", "from-env")
    assert jobq.App().config.namespace == "from-env"
    assert jobq.App(namespace=None).config.redis_url == in_env
    app = jobq.App(redis_url=in_code, namespace="from-code")
    assert (app.config.redis_url, app.config.namespace) == (in_code, "from-code")


def test_a_command_given_an_app_uses_what_the_app_resolved_unless_a_flag_is_given(redis_url: str) -> None:
    db7, db8, db9 = (redis_url.replace("/0", f"/{n}") for n in (7, 8, 9))
    for url in (db7, db8, db9):
        redis.Redis.from_url(url).flushdb()
    env = {"PINNED_URL": db7, "PINNED_NAMESPACE": "in-code", "JOBQ_NAMESPACE": "in-env"}
    spec = "env_app:pinned"
    assert run_jobq(["enqueue", spec, "env.add", "1", "2"], db8, **env).returncode == 0
    flagged = ["enqueue", spec, "env.add", "1", "2", "--redis-url", db9, "--namespace", "flag"]
    assert run_jobq(flagged, db8, **env).returncode == 0
    seen = {url: redis.Redis.from_url(url, decode_responses=True).keys("*") for url in (db7, db8, db9)}
    assert seen[db8] == [], "JOBQ_REDIS_URL must not beat App(redis_url=...)"
    assert seen[db7] and all(k.startswith("in-code:") for k in seen[db7]), seen[db7]
    assert seen[db9] and all(k.startswith("flag:") for k in seen[db9]), seen[db9]


def test_the_help_states_the_rule() -> None:
    from tests.support.jobq_run import run_main

    text = " ".join(run_main(["stats", "--help"]).stdout.split())
    assert "Redis URL (else the APP's own, else $JOBQ_REDIS_URL, else localhost)" in text
    assert "Key prefix (else the APP's own, else $JOBQ_NAMESPACE, else jobq)" in text
