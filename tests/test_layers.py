"""The layer rule: a module imports only from its own layer or the layers below it.

Lowest first. A new module must be placed in a layer (the test says which one is missing);
cycles inside a layer are the cycle test's business (tests/test_import_cycles.py).
"""

from __future__ import annotations

from pathlib import Path

from tests.support.imports import Edge, graph, layer_of, upward_imports

PACKAGE = Path(__file__).resolve().parent.parent / "jobq"

LAYERS: list[tuple[str, ...]] = [
    # core types and pure decisions: no I/O, no Redis, no App
    (
        "jobq.errors",
        "jobq.lazy",
        "jobq.states",
        "jobq.signing",
        "jobq.retry",
        "jobq.schedule",
        "jobq.redis_urls",
        "jobq.config",
        "jobq.envelope",
        "jobq.cron_entry",
        "jobq.startfail",
        "jobq.flow",
        "jobq.progress",
        "jobq.jobtext",
    ),
    # the Redis boundary: key names, script arguments, connections, error translation,
    # typed reads (jobq.broker is the only package that imports redis: tests/test_boundary.py)
    (
        "jobq.keys",
        "jobq.records",
        "jobq.luascripts",
        "jobq.protocol",
        "jobq.protocol_cron",
        "jobq.protocol_levels",
        "jobq.broker",
        "jobq.localredis",
    ),
    # the producer side: the App, its tasks and job handles
    (
        "jobq",
        "jobq.app",
        "jobq.task",
        "jobq.job",
        "jobq.execute",
        "jobq.log",
        "jobq.cron",
        "jobq.hooks",
        "jobq.workflow",
        "jobq.middleware",
        "jobq.otel",
    ),
    # the processes that run jobs and fire ticks
    ("jobq.worker", "jobq.scheduler"),
    # reads of what happened
    ("jobq.stats", "jobq.jobfacts", "jobq.explain", "jobq.flow_facts", "jobq.dlq", "jobq.metrics"),
    # what a person runs
    ("jobq.cli", "jobq.__main__", "jobq.dashboard", "jobq.demo", "jobq.testing", "jobq.reload"),
]


def test_every_jobq_module_has_a_layer() -> None:
    unplaced = [name for name in graph(PACKAGE) if layer_of(name, LAYERS) is None]
    assert not unplaced, f"add these modules to a layer in {__file__}: {unplaced}"


def test_imports_point_down_the_layers() -> None:
    upward = upward_imports(graph(PACKAGE), LAYERS)
    assert not upward, "imports from a higher layer:\n" + "\n".join(map(str, upward))


def test_the_rule_finds_an_upward_import() -> None:
    layers = [("pkg.low",), ("pkg.high",)]
    down = Edge("pkg.high", "pkg.low", Path("pkg/high.py"), 1)
    up = Edge("pkg.low.part", "pkg.high", Path("pkg/low/part.py"), 3)
    edges = {"pkg.high": {"pkg.low": down}, "pkg.low.part": {"pkg.high": up}}
    assert upward_imports(edges, layers) == [up]
    assert layer_of("pkg.low.part.deeper", layers) == 0
    assert layer_of("pkg.new", [("pkg",)]) is None  # the top package places only itself
