"""No piece of a password shows, whatever the URL form and wherever jobq reports it (issue 12,
item 5): `redis://:Sup3r@Secr3tPart/rest@127.0.0.1:1` used to print "Error -2 connecting to
secr3tpart:6379". A URL whose user name or password is ambiguous is refused before any use,
naming nothing past its scheme; a percent-encoded one is shown redacted."""

from __future__ import annotations

import signal
import traceback
from collections.abc import Callable
from urllib.parse import quote

import pytest

import jobq
from jobq.config import redact_url
from tests.support.processes import JobqProcess
from tests.support.redis_server import free_port
from tests.support.waiting import wait_for

Start = Callable[..., JobqProcess]

PIECES = ("sup3r", "secr3t", "r3st")  # compared with the output in lower case (hosts are lowered)
PASSWORDS = ("Sup3r@Secr3tPart/R3st", "Sup3r/Secr3t:R3st", "Sup3r#Secr3t?R3st", "Sup3r?Secr3t@R3st")


def forms(password: str, port: int) -> dict[str, str]:
    """The password, as given, in every URL form jobq takes."""
    return {
        "redis": f"redis://:{password}@127.0.0.1:{port}/0",
        "redis-user": f"redis://app:{password}@127.0.0.1:{port}/0",
        "rediss": f"rediss://:{password}@127.0.0.1:{port}/0",
        "sentinel": f"redis+sentinel://:{password}@127.0.0.1:{port}/mymaster",
        "cluster": f"redis+cluster://:{password}@127.0.0.1:{port}",
        "unix": f"unix://:{password}@/tmp/jobq-nothing-{port}.sock",
    }


def assert_clean(text: str, where: str) -> None:
    lowered = text.lower()
    assert not [p for p in PIECES if p in lowered], f"a piece of the password leaked into {where}:\n{text}"
    assert "Traceback" not in text, f"{where}:\n{text}"


AMBIGUOUS = [url for pw in PASSWORDS for url in forms(pw, 1).values()]
ENCODED = list(forms(quote(PASSWORDS[0], safe=""), 1).values())
ENCODED.append(f"redis+sentinel://127.0.0.1:1/mymaster?sentinel_password={quote(PASSWORDS[0], safe='')}")


@pytest.mark.parametrize("url", AMBIGUOUS)
def test_an_ambiguous_url_is_refused_at_once_naming_nothing_but_its_scheme(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for make in (lambda: jobq.App(url), lambda: jobq.App()):
        monkeypatch.setenv("JOBQ_REDIS_URL", url)
        with pytest.raises(jobq.ConfigError) as info:
            make()
        text = "".join(traceback.format_exception(info.value)) + repr(info.value)
        assert_clean(text.replace("Traceback (most recent call last)", ""), f"the error for {url}")
        scheme = url.partition("://")[0]
        assert str(info.value).startswith(f"ambiguous Redis URL {scheme}://***: ")
        assert "percent-encode" in str(info.value) and "'@' as %40" in str(info.value)
    assert redact_url(url) == f"{url.partition('://')[0]}://***"


COMMANDS = [
    ["stats"],
    ["stats", "--json"],
    ["dashboard", "--refresh", "0.2"],  # stdin is not a terminal: the plain rendering
    ["dlq", "list", "default"],
    ["job", "show", "0123abcd"],
    ["enqueue", "secure_app", "secure.touch", '"x"'],
    ["worker", "secure_app"],
]


def test_every_command_refuses_every_ambiguous_url_form_in_one_clean_line(
    jobq_cli: Start, namespace: str
) -> None:
    started = []
    for i, url in enumerate(forms(PASSWORDS[0], free_port()).values()):
        for j, args in enumerate(COMMANDS):
            flagged = (i + j) % 2 == 0  # half by --redis-url, half by $JOBQ_REDIS_URL
            command = [*args, "--redis-url", url] if flagged else args
            env_url = "redis://127.0.0.1:1/0" if flagged else url
            started.append((command, jobq_cli(command, env_url, JOBQ_NAMESPACE=namespace)))
    for command, proc in started:
        code, out = proc.wait(60), proc.output()
        assert code == 1, f"jobq {command} exited {code}:\n{out}"
        lines = out.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), f"jobq {command}:\n{out}"
        assert "ambiguous Redis URL" in out and "percent-encode" in out, out
        assert_clean(out, f"jobq {command}")


@pytest.mark.parametrize("url", ENCODED)
def test_a_percent_encoded_password_is_redacted_in_errors_and_exceptions(url: str) -> None:
    real = url.replace(":1/", f":{free_port()}/").replace(":1?", f":{free_port()}?")
    with pytest.raises(jobq.JobqError) as info:
        jobq.App(real, namespace="leaks").enqueue("t", 1)
    text = "".join(traceback.format_exception(info.value)) + repr(info.value.__cause__)
    assert_clean(text.replace("Traceback (most recent call last)", ""), f"the error for {url}")
    assert "***" in str(info.value)


def test_percent_encoded_forms_stay_redacted_in_cli_errors_the_dashboard_and_worker_logs(
    jobq_cli: Start, namespace: str
) -> None:
    env = {"JOBQ_NAMESPACE": namespace, "JOBQ_MARKER_DIR": "/nonexistent"}
    one_shots, workers = [], []
    for url in ENCODED:
        for args in (["stats"], ["dashboard", "--refresh", "0.2"]):
            one_shots.append((args, url, jobq_cli(args, url, **env)))
        workers.append((url, jobq_cli(["worker", "secure_app", "--log-format", "json"], url, **env)))
    for args, url, proc in one_shots:
        code, out = proc.wait(60), proc.output()
        assert code == 1 and out.startswith("error: "), f"jobq {args} on {url}:\n{out}"
        assert redact_url(url) in out, out
        assert_clean(out, f"jobq {args} on {url}")
    for url, proc in workers:
        wait_for(lambda p=proc: "redis.unavailable" in p.output(), 60, f"the worker on {url} to say so")
        proc.signal(signal.SIGTERM)
    for url, proc in workers:
        assert proc.wait(60) == 0, proc.output()
        assert redact_url(url) in proc.output()
        assert_clean(proc.output(), f"the worker log on {url}")
