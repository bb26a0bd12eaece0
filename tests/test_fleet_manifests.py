"""workers/: every manifest parses, every jobq command and flag it uses exists (read from
`jobq <command> --help`), and every stop grace period covers --shutdown-timeout."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from click.testing import CliRunner

from jobq import metrics, stats
from jobq.broker.rows import QueueRow
from jobq.cli import cli
from jobq.worker.pool import KILL_GRACE_S

WORKERS = Path(__file__).resolve().parent.parent / "workers"
YAML_FILES = sorted(WORKERS.rglob("*.yaml"))
UNITS = sorted((WORKERS / "systemd").glob("*.service"))


def yaml_docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def k8s(kind: str) -> list[dict[str, Any]]:
    return [d for p in YAML_FILES if "k8s" in p.parts for d in yaml_docs(p) if d.get("kind") == kind]


# where jobq is invoked -----------------------------------------------------------------


def dockerfile_invocations() -> Iterator[tuple[str, list[str]]]:
    text = (WORKERS / "Dockerfile").read_text()
    entry = json.loads(re.search(r"^ENTRYPOINT (\[.*\])$", text, re.M).group(1))  # type: ignore[union-attr]
    cmd = json.loads(re.search(r"^CMD (\[.*\])$", text, re.M).group(1))  # type: ignore[union-attr]
    assert entry[-1] == "jobq", "the image's entrypoint should be jobq"
    yield "Dockerfile", cmd


def compose_invocations() -> Iterator[tuple[str, list[str]]]:
    for name, service in yaml_docs(WORKERS / "compose.yaml")[0]["services"].items():
        if name != "redis":
            yield f"compose {name}", [str(a) for a in service["command"]]


def unit_invocations() -> Iterator[tuple[str, list[str]]]:
    for unit in UNITS:
        for line in unit.read_text().splitlines():
            if line.startswith("ExecStart="):
                argv = shlex.split(line.removeprefix("ExecStart="))
                assert argv[0].endswith("/jobq"), line
                yield unit.name, argv[1:]


def k8s_invocations() -> Iterator[tuple[str, list[str]]]:
    for deployment in k8s("Deployment"):
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            yield deployment["metadata"]["name"], [str(a) for a in container["args"]]


def readme_invocations() -> Iterator[tuple[str, list[str]]]:
    for line in (WORKERS / "README.md").read_text().splitlines():
        text = line.strip()
        if text.startswith("jobq ") and not text.startswith("jobq:"):
            yield "README", shlex.split(text.split("  #")[0])[1:]


INVOCATIONS = [
    *dockerfile_invocations(),
    *compose_invocations(),
    *unit_invocations(),
    *k8s_invocations(),
    *readme_invocations(),
]


# what jobq accepts -----------------------------------------------------------------------


@cache
def help_options(path: tuple[str, ...]) -> frozenset[str]:
    """The option names `jobq <path> --help` lists."""
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, f"`jobq {' '.join(path)} --help` failed: {result.output}"
    options = set()
    for line in result.output.split("Options:", 1)[1].splitlines():
        match = re.match(r"\s{2}((?:-{1,2}[\w-]+(?:, |\s|/|$))+)", line)
        if match:
            options |= set(re.findall(r"-{1,2}[\w-]+", match.group(1)))
    return frozenset(options)


def command_path(args: list[str]) -> tuple[tuple[str, ...], list[str]]:
    """Split `args` into the (sub)command path and what follows it."""
    group: click.Command = cli
    path: list[str] = []
    rest = list(args)
    while isinstance(group, click.Group) and rest:
        sub = group.get_command(click.Context(group), rest[0])  # the CLI loads commands lazily
        assert sub is not None, f"jobq has no command {' '.join([*path, rest[0]])!r}"
        path.append(rest.pop(0))
        group = sub
    return tuple(path), rest


@pytest.mark.parametrize(("where", "args"), INVOCATIONS, ids=[w for w, _ in INVOCATIONS])
def test_every_jobq_command_and_flag_used_exists(where: str, args: list[str]) -> None:
    path, rest = command_path(args)
    known = help_options(path)
    for token in rest:
        if token.startswith("-"):
            flag = token.split("=", 1)[0]
            assert flag in known, f"{where}: `jobq {' '.join(path)}` has no option {flag}"


def test_the_manifests_cover_what_the_fleet_needs() -> None:
    commands = {command_path(args)[0][0] for _, args in INVOCATIONS}
    assert {"worker", "scheduler", "dashboard"} <= commands
    assert k8s("Deployment") and k8s("PodDisruptionBudget") and k8s("ScaledObject")
    assert UNITS and any(u.name == "jobq-worker@.service" for u in UNITS)


def shutdown_timeout(args: list[str]) -> float:
    _, rest = command_path(args)
    assert "--shutdown-timeout" in rest, "say --shutdown-timeout explicitly where the grace is set"
    return float(rest[rest.index("--shutdown-timeout") + 1])


def test_every_stop_grace_covers_the_shutdown_timeout() -> None:
    """The platform's SIGKILL must come after the supervisor's own: timeout + kill grace."""
    graces: list[tuple[str, float, list[str]]] = []
    for deployment in k8s("Deployment"):
        spec = deployment["spec"]["template"]["spec"]
        for container in spec["containers"]:
            if container["args"][0] == "worker":
                graces.append(("k8s", spec["terminationGracePeriodSeconds"], container["args"]))
    service = yaml_docs(WORKERS / "compose.yaml")[0]["services"]["worker"]
    graces.append(("compose", float(service["stop_grace_period"].rstrip("s")), service["command"]))
    unit = (WORKERS / "systemd" / "jobq-worker@.service").read_text()
    stop_s = float(re.search(r"^TimeoutStopSec=(\d+)$", unit, re.M).group(1))  # type: ignore[union-attr]
    graces.append(("systemd", stop_s, next(a for w, a in unit_invocations() if w == "jobq-worker@.service")))
    assert len(graces) == 3
    for where, grace, args in graces:
        assert grace >= shutdown_timeout(args) + KILL_GRACE_S, f"{where}: grace {grace}s is too short"
    assert "KillMode=mixed" in unit, "systemd must signal the supervisor alone, not its children"


def test_keda_scales_the_worker_deployment_on_the_whole_backlog() -> None:
    """The triggers read the queue's backlog and in-flight count over every priority level
    from the metrics exporter's /queues/<queue> (a trigger per level stream would take the
    largest level's backlog, not their sum)."""
    (scaled,) = k8s("ScaledObject")
    target = scaled["spec"]["scaleTargetRef"]["name"]
    assert target == "jobq-worker" and any(d["metadata"]["name"] == target for d in k8s("Deployment"))
    assert scaled["spec"]["minReplicaCount"] >= 1
    triggers = scaled["spec"]["triggers"]
    assert {t["type"] for t in triggers} == {"metrics-api"}
    (service,) = k8s("Service")
    (port,) = service["spec"]["ports"]
    exporter = next(d for d in k8s("Deployment") if d["metadata"]["name"] == service["metadata"]["name"])
    (container,) = exporter["spec"]["template"]["spec"]["containers"]
    assert container["args"][:1] == ["metrics"] and str(port["port"]) in container["args"]
    fields = set(stats.queue_json(stats.queue_stats(QueueRow("default"), 0.0)))
    for trigger in triggers:
        meta = trigger["metadata"]
        host = f"http://{service['metadata']['name']}.default.svc.cluster.local:{port['port']}"
        assert meta["url"] == host + metrics.QUEUE_PATH + "default"
        assert meta["valueLocation"] in fields
    assert {t["metadata"]["valueLocation"] for t in triggers} == {"backlog", "in_flight"}


def test_pdb_selects_the_worker_pods_and_pods_run_as_non_root() -> None:
    (pdb,) = k8s("PodDisruptionBudget")
    for deployment in k8s("Deployment"):
        template = deployment["spec"]["template"]
        assert template["spec"]["securityContext"]["runAsNonRoot"] is True
        for container in template["spec"]["containers"]:
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
    (worker,) = [d for d in k8s("Deployment") if d["metadata"]["name"] == "jobq-worker"]
    labels = worker["spec"]["template"]["metadata"]["labels"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()


def test_the_image_is_non_root_and_pid_1_forwards_signals() -> None:
    text = (WORKERS / "Dockerfile").read_text()
    user = re.findall(r"^USER (\S+)$", text, re.M)
    assert user and user[-1].split(":")[0] not in {"root", "0"}
    assert re.search(r'^ENTRYPOINT \["/usr/bin/tini", "--", "jobq"\]$', text, re.M)
