"""No pickle anywhere: arguments and results travel as JSON, and what JSON cannot carry is
refused in the caller with nothing enqueued (issue 3, scenario 9; the README's "Writing tasks")."""

from __future__ import annotations

import ast
import json
import math
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis

import jobq
from jobq.keys import NamespaceKeys
from tests.support.inproc import work_until

PACKAGE = Path(jobq.__file__).resolve().parent
# Modules that turn bytes into arbitrary objects (or code) when loading.
UNSAFE = {"pickle", "_pickle", "cPickle", "cloudpickle", "dill", "jsonpickle", "marshal", "shelve", "joblib"}


def imported_modules(source: str) -> set[str]:
    """Top-level names of every module a source imports, statically or by a literal name."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            if name in ("__import__", "import_module") and isinstance(node.args[0].value, str):
                found.add(node.args[0].value.split(".")[0])
    return found


def test_the_checker_sees_every_form_of_import() -> None:
    source = "import pickle\nfrom marshal import loads\nimport importlib\nimportlib.import_module('dill')\n"
    assert imported_modules(source) >= {"pickle", "marshal", "dill"}


def test_no_module_of_the_package_imports_a_pickle_like_loader() -> None:
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 20, f"expected the jobq package under {PACKAGE}"
    offenders = {
        str(f.relative_to(PACKAGE)): sorted(imported_modules(f.read_text()) & UNSAFE)
        for f in files
        if imported_modules(f.read_text()) & UNSAFE
    }
    assert offenders == {}
    words = [f for f in files if "pickle" in f.read_text().lower().replace("no pickle", "")]
    assert [str(f.relative_to(PACKAGE)) for f in words] == []


def nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


NOT_JSON: dict[str, tuple[tuple[Any, ...], dict[str, Any]]] = {
    "a set": (({1, 2},), {}),
    "bytes": ((b"\x00raw",), {}),
    "an object": ((object(),), {}),
    "a datetime kwarg": ((), {"when": datetime(2024, 1, 1, tzinfo=timezone.utc)}),
    "a Decimal in a list": (([Decimal("1.5")],), {}),
    "NaN": ((math.nan,), {}),
    "infinity in a dict": (({"x": math.inf},), {}),
    "a non-string key": (({(1, 2): "tuple key"},), {}),
    "nesting past the recursion limit": ((nested(100_000),), {}),
}


def backlog(app: jobq.App) -> tuple[int, int, int]:
    """(stream entries, scheduled jobs, job records) of the default queue."""
    client = redis.Redis.from_url(app.config.redis_url, decode_responses=True)
    keys = NamespaceKeys(app.config.namespace).queue("default")
    return client.xlen(keys.stream), client.zcard(keys.scheduled), client.hlen(keys.jobs)


@pytest.mark.parametrize("case", list(NOT_JSON))
def test_a_value_json_cannot_carry_is_refused_at_enqueue_and_nothing_is_enqueued(
    case: str, app: jobq.App
) -> None:
    args, kwargs = NOT_JSON[case]

    @app.task(name="anything")
    def anything(*a: Any, **k: Any) -> None:
        return None

    with pytest.raises(jobq.SerializationError):
        anything.enqueue(args=args, kwargs=kwargs)
    with pytest.raises(jobq.SerializationError):
        anything.enqueue(args=args, kwargs=kwargs, delay=60)
    with pytest.raises(jobq.SerializationError):
        app.enqueue("anything", *args, **kwargs)
    with pytest.raises(jobq.SerializationError):  # one bad call fails the batch before any is sent
        anything.delay_many([(1,), args or tuple(kwargs.values()), (2,)])
    assert backlog(app) == (0, 0, 0)


def test_a_result_json_cannot_carry_fails_the_job_clearly(app: jobq.App) -> None:
    @app.task(name="returns_a_set", retries=0)
    def returns_a_set() -> set[int]:
        return {1, 2}

    job = returns_a_set.delay()
    work_until(app, lambda: job.status() == "dead")
    with pytest.raises(jobq.JobFailed) as info:
        job.result(timeout=1)
    assert "cannot encode result" in str(info.value) and "set" in str(info.value)


def test_what_travels_is_plain_json(app: jobq.App) -> None:
    @app.task(name="echo")
    def echo(value: Any) -> Any:
        return value

    sent = {"list": [1, 2.5, None, True], "text": "héllo", "nested": {"a": [{"b": []}]}}
    job = echo.delay(sent)
    client = redis.Redis.from_url(app.config.redis_url, decode_responses=True)
    [(_, fields)] = client.xrange(NamespaceKeys(app.config.namespace).queue("default").stream)
    assert json.loads(fields["j"])["a"] == [sent]
    work_until(app, lambda: job.status() == "succeeded")
    assert job.result() == sent


def test_a_hostile_entry_nested_past_the_recursion_limit_is_dead_lettered_and_work_goes_on(
    app: jobq.App,
) -> None:
    @app.task(name="ok")
    def ok() -> str:
        return "fine"

    client = redis.Redis.from_url(app.config.redis_url, decode_responses=True)
    keys = NamespaceKeys(app.config.namespace).queue("default")
    client.xadd(keys.stream, {"j": '{"id":"x","t":"ok","a":' + "[" * 100_000})
    job = ok.delay()
    work_until(app, lambda: job.status() == "succeeded" and client.xlen(keys.dead) == 1)
    [(_, fields)] = client.xrange(keys.dead)
    assert json.loads(fields["d"])["reason"] == "undecodable payload: JSON nested too deeply"
