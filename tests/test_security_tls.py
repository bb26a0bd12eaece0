"""`rediss://` against a redis-server that speaks only TLS, with a self-signed certificate:
verified with the server's CA, or explicitly unverified; refused when the certificate
cannot be trusted. Skipped, saying why, where openssl or a TLS-capable redis-server is
missing (issue 3, scenario 9)."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from urllib.parse import quote

import pytest

import jobq
from jobq.broker.lite import LiteReads, open_reads
from jobq.broker.reads import Reads
from jobq.config import Config
from tests.support.inproc import work_until
from tests.support.processes import JobqProcess
from tests.support.tls import Certificate, TlsRedisServer, TlsUnavailable, make_certificate, openssl_missing

Start = Callable[..., JobqProcess]
USER, PASSWORD = "tls-user", "tls-Canary-pw"


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> tuple[Certificate, Certificate]:
    """The server's certificate, and an unrelated one (a CA the server's is not from)."""
    reason = openssl_missing()
    if reason:
        pytest.skip(reason)
    directory = tmp_path_factory.mktemp("tls")
    return make_certificate(directory, "server"), make_certificate(directory, "stranger")


@pytest.fixture(scope="module")
def tls_server(certificates: tuple[Certificate, Certificate]) -> Iterator[TlsRedisServer]:
    server = TlsRedisServer(certificates[0])
    try:
        server.start()
    except TlsUnavailable as exc:
        pytest.skip(str(exc))
    client = server.client()
    client.execute_command("ACL", "SETUSER", USER, "on", f">{PASSWORD}", "~*", "+@all")
    yield server
    server.close()


def tls_url(server: TlsRedisServer, query: str, auth: str = "") -> str:
    return f"rediss://{auth}127.0.0.1:{server.tls_port}/0?{query}"


def ca_query(certificate: Certificate) -> str:
    return f"ssl_ca_certs={quote(str(certificate.cert), safe='')}"


@pytest.mark.parametrize("form", ["verified with the CA", "unverified", "verified, with an ACL user"])
def test_jobs_run_over_tls(form: str, tls_server: TlsRedisServer, namespace: str) -> None:
    query = "ssl_cert_reqs=none" if form == "unverified" else ca_query(tls_server.certificate)
    auth = f"{USER}:{PASSWORD}@" if "ACL" in form else ""
    app = jobq.App(tls_url(tls_server, query, auth), namespace=namespace, visibility_timeout=5.0)

    @app.task(name="square", retries=1, backoff=0.01)
    def square(x: int) -> int:
        return x * x

    jobs = [square.delay(3), *square.delay_many([(4,), (5,)])]
    work_until(app, lambda: all(j.status() == "succeeded" for j in jobs), timeout=30)
    assert [j.result(timeout=5) for j in jobs] == [9, 16, 25]
    if auth:
        clients = tls_server.client().execute_command("CLIENT", "LIST")
        assert f"user={USER}" in str(clients)  # the app's pooled connection logged in as the user


@pytest.mark.parametrize("trust", ["the system CAs", "a CA that did not sign it"])
def test_an_untrusted_certificate_is_refused_clearly_and_promptly(
    trust: str, tls_server: TlsRedisServer, certificates: tuple[Certificate, Certificate]
) -> None:
    query = ca_query(certificates[1]) if trust.startswith("a CA") else ""
    app = jobq.App(tls_url(tls_server, query), namespace="refused")
    started = time.monotonic()
    with pytest.raises(jobq.BrokerError) as info:
        app.enqueue("anything", 1)
    assert time.monotonic() - started < 30  # a refusal, not a hang
    assert "certificate verify failed" in str(info.value)
    assert str(info.value).startswith(f"cannot reach Redis at rediss://127.0.0.1:{tls_server.tls_port}/0")


def test_plain_redis_to_a_tls_port_fails_clearly(tls_server: TlsRedisServer) -> None:
    app = jobq.App(f"redis://127.0.0.1:{tls_server.tls_port}/0", namespace="refused")
    with pytest.raises(jobq.BrokerError) as info:
        app.enqueue("anything", 1)
    assert str(info.value).startswith("cannot reach Redis at redis://127.0.0.1:")


def test_the_real_worker_and_cli_over_tls_with_a_password(
    tls_server: TlsRedisServer, namespace: str, jobq_cli: Start, tmp_path: Path
) -> None:
    url = tls_url(tls_server, ca_query(tls_server.certificate), f"{USER}:{PASSWORD}@")
    env = {"JOBQ_NAMESPACE": namespace, "JOBQ_MARKER_DIR": str(tmp_path), "JOBQ_SIGNING_KEY": "tls-and-hmac"}
    enqueue = jobq_cli(["enqueue", "secure_app", "secure.touch", '"over-tls"'], url, **env)
    assert enqueue.wait(60) == 0, enqueue.output()
    job_id = enqueue.output().strip().splitlines()[-1]
    worker = jobq_cli(["worker", "secure_app", "-c", "2"], url, **env)

    app = jobq.App(url, namespace=namespace, signing_key="tls-and-hmac")
    assert app.job(job_id).result(timeout=60) == "over-tls"
    assert (tmp_path / "over-tls").exists()
    stats = jobq_cli(["stats", "--json"], url, **env)
    assert stats.wait(60) == 0, stats.output()
    [queue] = json.loads(stats.output())["queues"]
    assert (queue["name"], queue["processed"], queue["backlog"]) == ("default", 1, 0)
    worker.signal(signal.SIGTERM)
    assert worker.wait(60) == 0, worker.output()
    for proc in (enqueue, worker, stats):
        assert "Canary" not in proc.output()


@pytest.mark.parametrize("form", ["verified with the CA", "unverified", "a CA that did not sign it"])
def test_stats_reads_over_tls_without_redis_py_as_with_it(
    form: str, tls_server: TlsRedisServer, certificates: tuple[Certificate, Certificate], namespace: str
) -> None:
    """`jobq stats`' own small client (jobq.broker.lite) over TLS, with an ACL user."""
    query = {
        "verified with the CA": ca_query(tls_server.certificate),
        "unverified": "ssl_cert_reqs=none",
        "a CA that did not sign it": ca_query(certificates[1]),
    }[form]
    config = Config(redis_url=tls_url(tls_server, query, f"{USER}:{PASSWORD}@"), namespace=namespace)
    lite = open_reads(config)
    assert isinstance(lite, LiteReads)
    if form.startswith("a CA"):
        refusals = []
        for reads in (lite, Reads(config)):
            with pytest.raises(jobq.BrokerError) as info:
                reads.snapshot(None)
            refusals.append(str(info.value))
        assert refusals[0] == refusals[1] and "certificate verify failed" in refusals[0]
        return
    jobq.App(config.redis_url, namespace).submit("any.task", [1], queue="tls")
    theirs = Reads(config).snapshot(None)
    assert replace(lite.snapshot(None), time=theirs.time) == theirs and theirs.queues
