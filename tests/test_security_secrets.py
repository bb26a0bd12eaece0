"""Passwords never show: not in worker logs, CLI output or errors, the dashboard, nor the
messages and tracebacks of the Python API — with the right password, a wrong one, and no
server at all (issue 3, scenario 9)."""

from __future__ import annotations

import json
import signal
import subprocess
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

import jobq
from jobq.broker import describe_error
from jobq.config import redact_url
from jobq.stats import snapshot
from tests.support.inproc import work_until
from tests.support.processes import JobqProcess, env_for, jobq_executable
from tests.support.redis_server import RedisServer, free_port
from tests.support.waiting import wait_for

Start = Callable[..., JobqProcess]

USER = "jobq-app"
CANARY = "Canary"  # in every secret below: grep for it, raw or percent-encoded
PASSWORD = "s3cr3t:Canary/7f3a@9"  # characters that must be percent-encoded in a URL
WRONG = "wrong-Canary-5e1d"


def url_for(port: int, password: str, user: str = USER) -> str:
    return f"redis://{user}:{quote(password, safe='')}@127.0.0.1:{port}/0"


def require_password(server: RedisServer, namespace: str) -> str:
    """An ACL user limited to the namespace's keys, and no anonymous access; its URL."""
    client = server.client()
    client.execute_command(
        "ACL", "SETUSER", USER, "on", f">{PASSWORD}", f"~{namespace}:*", "+@all", "-@dangerous"
    )
    client.execute_command("ACL", "SETUSER", "default", "off")
    return url_for(server.port, PASSWORD)


@pytest.fixture
def locked(private_redis: Callable[..., RedisServer], namespace: str) -> Iterator[tuple[RedisServer, str]]:
    server = private_redis()
    yield server, require_password(server, namespace)


def assert_clean(text: str, where: str) -> None:
    assert CANARY not in text, f"a password leaked into {where}:\n{text}"
    assert quote(PASSWORD, safe="") not in text and quote(WRONG, safe="") not in text


def one_shot(jobq_cli: Start, args: list[str], url: str, **env: str) -> tuple[int, str]:
    proc = jobq_cli(args, url, **env)
    code = proc.wait(60)
    return code, proc.output()


# the Python API ------------------------------------------------------------------------


def test_redact_url_hides_every_secret_a_url_can_carry() -> None:
    cases = {
        url_for(6379, PASSWORD): f"redis://{USER}:***@127.0.0.1:6379/0",
        f"rediss://:{quote(PASSWORD, safe='')}@h:6380/1?ssl_cert_reqs=none": "rediss://:***@h:6380/1?ssl_cert_reqs=none",
        "redis://h:6379/0?password=Canary1&db=2": "redis://h:6379/0?password=***&db=2",
        "redis+sentinel://:Canary2@a:1,b:2/mymaster?sentinel_password=Canary3": (
            "redis+sentinel://:***@a:1,b:2/mymaster?sentinel_password=***"
        ),
        "redis://127.0.0.1:6379/0": "redis://127.0.0.1:6379/0",
    }
    for url, expected in cases.items():
        assert redact_url(url) == expected
    for exc in (ConnectionError(f"Error connecting to {url_for(1, PASSWORD)}"), OSError("refused")):
        assert_clean(str(describe_error(url_for(1, PASSWORD), exc)), "describe_error")


def _api_failures(url: str) -> list[BaseException]:
    """Every public call that talks to Redis, on a URL that cannot work; their exceptions."""
    app = jobq.App(url, namespace="leaks")

    @app.task(name="t")
    def t(x: int) -> int:
        return x

    calls: list[Callable[[], object]] = [
        lambda: t.delay(1),
        lambda: t.delay_many([(1,), (2,)]),
        lambda: app.enqueue("t", 1),
        lambda: app.job("some-id").status(),
        lambda: app.job("some-id").result(timeout=0.5),
        lambda: app.job("some-id").cancel(),
        lambda: snapshot(app.broker),
    ]
    caught: list[BaseException] = []
    for call in calls:
        with pytest.raises(jobq.JobqError) as info:
            call()
        caught.append(info.value)
    return caught


@pytest.mark.parametrize("case", ["wrong password", "no server"])
def test_api_errors_and_their_tracebacks_never_show_the_password(
    case: str, locked: tuple[RedisServer, str]
) -> None:
    server, _ = locked
    url = url_for(server.port, WRONG) if case == "wrong password" else url_for(free_port(), PASSWORD)
    for exc in _api_failures(url):
        assert isinstance(exc, jobq.BrokerError), repr(exc)
        full = (
            "".join(traceback.format_exception(exc)) + repr(exc) + repr(exc.__cause__) + repr(exc.__context__)
        )
        assert_clean(full, f"the API error {exc!r}")
        assert f"{USER}:***@127.0.0.1" in str(exc)
    if case == "wrong password":
        assert "refused the credentials" in str(exc)


def test_a_malformed_url_error_does_not_echo_the_password() -> None:
    for url in (  # port 1: should one of them parse after all, nothing answers there
        f"redis://{USER}:{PASSWORD}@127.0.0.1:notaport/0",
        f"redis://{USER}:Canary@127.0.0.1:1/zero",
        "redis+sentinel://:Canary@/x?sentinel_password=Canary",
        "redis://:Canary@127.0.0.1:1/0?socket_timeout=not-a-number",
        f"redis://{USER}:Canary@x/y@127.0.0.1:1/0",
        "redis+cluster://:Ca/nary@127.0.0.1:1",
    ):
        with pytest.raises(jobq.JobqError) as info:  # ConfigError, or BrokerError if it parses
            jobq.App(url, namespace="leaks").enqueue("t", 1)
        text = "".join(traceback.format_exception(info.value))
        assert isinstance(info.value, jobq.JobqError), repr(info.value)
        assert CANARY not in text and "nary" not in text, f"{url} -> {info.value!r}"


# the command line ----------------------------------------------------------------------


ONE_SHOT = {
    "wrong password": [
        ["stats"],
        ["stats", "--json"],
        ["enqueue", "secure_app", "secure.touch", '"x"'],
        ["dlq", "list", "default"],
        ["job", "show", "0123abcd"],
        ["dashboard", "--refresh", "0.2"],
    ],
    "no server": [
        ["stats", "--json"],
        ["enqueue", "secure_app", "secure.touch", '"x"'],
        ["stats", "--redis-url"],  # the URL as a flag, not from the environment
    ],
}


@pytest.mark.parametrize("case", list(ONE_SHOT))
def test_one_shot_commands_fail_in_one_clean_line(
    case: str, locked: tuple[RedisServer, str], namespace: str, jobq_cli: Start
) -> None:
    server, _ = locked
    url = url_for(server.port, WRONG) if case == "wrong password" else url_for(free_port(), PASSWORD)
    env = {"JOBQ_NAMESPACE": namespace, "JOBQ_MARKER_DIR": "/nonexistent"}
    commands = [[*args, url] if args[-1] == "--redis-url" else args for args in ONE_SHOT[case]]
    started = [(args, jobq_cli(args, url, **env)) for args in commands]  # side by side: faster
    for args, proc in started:
        code, out = proc.wait(60), proc.output()
        assert code == 1, f"jobq {' '.join(args)} exited {code}:\n{out}"
        lines = out.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), f"jobq {args}:\n{out}"
        assert "Traceback" not in out
        assert_clean(out, f"`jobq {' '.join(args)}`")
        assert f"{USER}:***@127.0.0.1" in out


def test_stats_and_the_dashboard_with_the_right_password_show_it_redacted(
    locked: tuple[RedisServer, str], namespace: str, jobq_cli: Start, tmp_path: Path
) -> None:
    _, url = locked
    app = jobq.App(url, namespace=namespace)
    app.enqueue("secure.touch", "queued")
    code, out = one_shot(jobq_cli, ["stats", "--json"], url, JOBQ_NAMESPACE=namespace)
    assert code == 0, out
    assert json.loads(out)["queues"][0]["backlog"] == 1
    assert_clean(out, "`jobq stats --json`")
    code, out = one_shot(jobq_cli, ["stats"], url, JOBQ_NAMESPACE=namespace)
    assert code == 0 and "default" in out, out
    assert_clean(out, "`jobq stats`")

    log = tmp_path / "dashboard.out"
    with open(log, "wb") as sink:  # stdin not a terminal: the dashboard prints plain frames
        board = subprocess.Popen(
            [*jobq_executable(), "dashboard", "--refresh", "0.2"],
            env=env_for(url, JOBQ_NAMESPACE=namespace),
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for(lambda: log.read_text().count("default") >= 2, 30, "two dashboard frames")
    finally:
        board.send_signal(signal.SIGINT)
        board.wait(15)
    frames = log.read_text()
    assert f"{USER}:***@127.0.0.1:" in frames
    assert_clean(frames, "the dashboard")


# the worker ----------------------------------------------------------------------------


def test_worker_logs_never_show_the_password(
    locked: tuple[RedisServer, str], namespace: str, jobq_cli: Start, tmp_path: Path
) -> None:
    server, url = locked
    env = {"JOBQ_NAMESPACE": namespace, "JOBQ_MARKER_DIR": str(tmp_path), "JOBQ_LOG_LEVEL": "debug"}
    wrong = jobq_cli(["worker", "secure_app", "--log-format", "json"], url_for(server.port, WRONG), **env)
    absent = jobq_cli(["worker", "secure_app"], url_for(free_port(), PASSWORD), **env)
    right = jobq_cli(["worker", "secure_app", "-p", "2"], url, **env)

    job = jobq.App(url, namespace=namespace).enqueue("secure.touch", "ran")
    assert job.result(timeout=60) == "ran"
    wait_for(lambda: "redis.unavailable" in wrong.output(), 60, "the wrong-password worker to say so")
    wait_for(lambda: "redis.unavailable" in absent.output(), 60, "the serverless worker to say so")
    for proc in (wrong, absent, right):
        assert proc.proc.poll() is None, proc.output()  # it waits for Redis, it does not die
        proc.signal(signal.SIGTERM)
    for name, proc in (("wrong password", wrong), ("no server", absent), ("right password", right)):
        assert proc.wait(60) == 0, proc.output()
        out = proc.output()
        assert_clean(out, f"the log of the worker with {name}")
        assert "Traceback" not in out, out
    assert "refused the credentials" in wrong.output()
    assert f"{USER}:***@127.0.0.1" in wrong.output() and f"{USER}:***@127.0.0.1" in absent.output()


def test_an_acl_user_limited_to_its_namespace_runs_the_whole_path(
    locked: tuple[RedisServer, str], namespace: str
) -> None:
    _, url = locked
    app = jobq.App(url, namespace=namespace, visibility_timeout=5.0)

    @app.task(name="mul", retries=1, backoff=0.01)
    def mul(x: int, y: int) -> int:
        return x * y

    jobs = [mul.delay(2, 3), *mul.delay_many([(4, 5)]), mul.enqueue(args=(6, 7), delay=0.1)]
    work_until(app, lambda: all(j.status() == "succeeded" for j in jobs), timeout=30)
    assert [j.result() for j in jobs] == [6, 20, 42]
    assert snapshot(app.broker).queues[0].processed == 3
    outsider = jobq.App(url, namespace=namespace + "x")  # keys outside ~ns:* are refused
    with pytest.raises(jobq.BrokerError) as info:
        outsider.enqueue("mul", 1, 2)
    assert_clean(str(info.value), "a NOPERM error")


def test_the_demo_names_its_redis_without_the_password(locked: tuple[RedisServer, str]) -> None:
    server, _ = locked
    env = env_for(url_for(server.port, WRONG))
    env["PATH"] = str(Path(jobq_executable()[0]).parent)  # no redis-server: it stops at once
    demo = [*jobq_executable(), "demo"]
    proc = subprocess.run(demo, env=env, capture_output=True, text=True, timeout=60, start_new_session=True)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"nothing answers at redis://{USER}:***@127.0.0.1:{server.port}/0" in proc.stderr
    assert_clean(proc.stdout + proc.stderr, "`jobq demo`")
