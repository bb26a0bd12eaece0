"""HMAC signing of envelopes: signed jobs run; unsigned, tampered or foreign ones are
dead-lettered as "bad signature" and never executed (issue 3, scenario 9)."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis

import jobq
from jobq import cron, dlq
from jobq.config import Config, resolve_signing_key
from jobq.envelope import DecodeError, Envelope, decode, encode
from jobq.keys import NamespaceKeys
from jobq.signing import sign, verified
from tests.support.inproc import work_until
from tests.support.processes import JobqProcess
from tests.support.waiting import wait_for

KEY = "correct horse battery staple"
ENV = Envelope("job-1", "mail.send", ("a@b.c", {"n": [1, 2.5, None]}), {"subject": "hé"}, 1700000000.25, 2)


def stream_texts(app: jobq.App, queue: str = "default") -> list[str]:
    client = redis.Redis.from_url(app.config.redis_url, decode_responses=True)
    return [f["j"] for _, f in client.xrange(NamespaceKeys(app.config.namespace).queue(queue).stream)]


def dead_details(app: jobq.App, queue: str = "default") -> list[dict[str, Any]]:
    client = redis.Redis.from_url(app.config.redis_url, decode_responses=True)
    entries = client.xrange(NamespaceKeys(app.config.namespace).queue(queue).dead)
    return [json.loads(fields["d"]) for _, fields in entries]


def inject(app: jobq.App, text: str, queue: str = "default") -> None:
    """What an attacker with write access to Redis does: add an entry by hand."""
    client = redis.Redis.from_url(app.config.redis_url, decode_responses=True)
    client.xadd(NamespaceKeys(app.config.namespace).queue(queue).stream, {"j": text})


# the codec, no Redis --------------------------------------------------------------------


def test_a_signed_envelope_is_still_one_json_object_and_round_trips() -> None:
    plain, signed = encode(ENV, 1 << 20), encode(ENV, 1 << 20, KEY)
    body = json.loads(signed)
    assert next(iter(body)) == "m" and len(body["m"]) == 64
    assert {k: v for k, v in body.items() if k != "m"} == json.loads(plain)
    assert len(signed.encode()) - len(plain.encode()) == 71
    assert decode(signed, KEY) == ENV
    assert decode(signed.encode(), KEY.encode()) == ENV
    assert decode(signed) == ENV  # readers without the key (dlq list, job show) still see it


def test_str_and_bytes_keys_agree_and_an_empty_key_means_off() -> None:
    assert encode(ENV, 1 << 20, KEY) == encode(ENV, 1 << 20, KEY.encode())
    assert encode(ENV, 1 << 20, "") == encode(ENV, 1 << 20, b"") == encode(ENV, 1 << 20)
    assert decode(encode(ENV, 1 << 20), "") == ENV


def _tampered() -> dict[str, str]:
    signed = encode(ENV, 1 << 20, KEY)
    mac = json.loads(signed)["m"]
    return {
        "unsigned": encode(ENV, 1 << 20),
        "signed with another key": encode(ENV, 1 << 20, "another key"),
        "argument changed": signed.replace("a@b.c", "x@b.c"),
        "task changed": signed.replace("mail.send", "mail.drop"),
        "attempts reset": signed.replace('"n":2', '"n":0'),
        "member appended": signed[:-1] + ',"k":{"subject":"x"}}',
        "mac flipped": signed.replace(mac, mac[:-1] + ("0" if mac[-1] != "0" else "1")),
        "mac upper case": signed.replace(mac, mac.upper()),
        "mac truncated": signed.replace(mac, mac[:63]),
        "mac not first": '{"id":"job-1","m":"' + mac + '",' + signed[72:],
        "mac of another body": '{"m":"' + mac + '","id":"evil","t":"mail.send","a":[],"e":0}',
        "only a mac": '{"m":"' + mac + '",}',
        "empty": "",
        "not json": "garbage",
    }


@pytest.mark.parametrize("case", list(_tampered()))
def test_a_keyed_decode_refuses_anything_not_signed_with_that_key(case: str) -> None:
    with pytest.raises(DecodeError) as info:
        decode(_tampered()[case], KEY)
    assert str(info.value).startswith("bad signature: ")


def test_a_bad_signature_says_what_the_entry_claims_to_be_for_bookkeeping_only() -> None:
    with pytest.raises(DecodeError) as info:
        decode(encode(ENV, 1 << 20), KEY)
    assert info.value.unverified == ENV
    with pytest.raises(DecodeError) as info:
        decode('{"m":"' + "0" * 64 + '",garbage', KEY)
    assert info.value.unverified is None


def test_every_single_character_change_is_caught() -> None:
    signed = encode(ENV, 1 << 20, KEY)
    for i, ch in enumerate(signed):
        for other in {"0", "x", '"', "}"} - {ch}:
            forged = signed[:i] + other + signed[i + 1 :]
            with pytest.raises(DecodeError):
                decode(forged, KEY)
    with pytest.raises(DecodeError):
        decode(signed[:-1], KEY)


def test_sign_and_verify_are_inverse_on_the_exact_text() -> None:
    text = '{"id":"x","t":"y","a":[],"e":0.0}'
    assert verified(sign(text, b"k"), b"k") == text
    with pytest.raises(ValueError):
        sign("{}", b"k")


def test_the_payload_limit_is_on_the_json_not_the_mac() -> None:
    size = len(encode(ENV, 1 << 20).encode())
    assert decode(encode(ENV, size, KEY), KEY) == ENV
    with pytest.raises(jobq.SerializationError):
        encode(ENV, size - 1, KEY)


@pytest.mark.parametrize(
    ("explicit", "env", "expected"),
    [
        (None, {}, None),
        (None, {"JOBQ_SIGNING_KEY": ""}, None),
        (None, {"JOBQ_SIGNING_KEY": "from-env"}, b"from-env"),
        ("explicit", {"JOBQ_SIGNING_KEY": "from-env"}, b"explicit"),
        (b"\x00\xffbytes", {}, b"\x00\xffbytes"),
        ("", {"JOBQ_SIGNING_KEY": "from-env"}, None),  # explicit wins: empty turns signing off
        ("clé", {}, "clé".encode()),
    ],
)
def test_key_resolution(explicit: str | bytes | None, env: dict[str, str], expected: bytes | None) -> None:
    assert resolve_signing_key(explicit, env) == expected


def test_app_takes_the_key_by_keyword_or_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOBQ_SIGNING_KEY", "env-key")
    assert jobq.App("redis://127.0.0.1:1/0").config.signing_key == b"env-key"
    assert jobq.App("redis://127.0.0.1:1/0", signing_key="mine").config.signing_key == b"mine"
    assert jobq.App("redis://127.0.0.1:1/0", signing_key="").config.signing_key is None
    with pytest.raises(TypeError):
        jobq.App("redis://127.0.0.1:1/0", "ns", "default", 30.0, 1 << 20, "positional")  # type: ignore[misc]


def test_config_repr_shows_neither_the_key_nor_the_password() -> None:
    config = Config(redis_url="redis://user:hunter2-pw@127.0.0.1:6379/0", signing_key=b"sekrit-key")
    text = repr(config) + str(config)
    assert "hunter2-pw" not in text and "sekrit-key" not in text
    assert "user:***@127.0.0.1:6379" in text and "namespace='jobq'" in text
    app = jobq.App("redis://user:hunter2-pw@127.0.0.1:6379/0", signing_key="sekrit-key")
    assert "hunter2-pw" not in repr(app) and "sekrit-key" not in repr(app)


# end to end on a real Redis ------------------------------------------------------------


@pytest.fixture
def signed(redis_url: str, namespace: str) -> jobq.App:
    return jobq.App(redis_url, namespace=namespace, visibility_timeout=5.0, signing_key=KEY)


def test_every_enqueue_path_signs_and_a_keyed_worker_runs_them(signed: jobq.App) -> None:
    tries: list[int] = []

    @signed.task(name="add")
    def add(x: int, y: int) -> int:
        return x + y

    @signed.task(name="flaky", retries=2, backoff=0.01)
    def flaky() -> str:
        tries.append(jobq.current_job().attempt)
        if len(tries) == 1:
            raise ConnectionError("once")  # the retry re-encodes the envelope: it must be signed again
        return "second"

    jobs = [add.delay(1, 2), signed.enqueue("add", 3, 4), *add.delay_many([(5, 6), (7, 8)]), flaky.delay()]
    later = add.enqueue(args=(9, 10), delay=0.2)  # via the scheduled set and promote
    texts = stream_texts(signed)
    assert len(texts) == 5 and all(decode(t, KEY) for t in texts)
    work_until(signed, lambda: all(j.status() == "succeeded" for j in [*jobs, later]), timeout=30)
    assert [j.result() for j in [*jobs, later]] == [3, 7, 11, 15, "second", 19]
    assert tries == [1, 2]
    assert dead_details(signed) == []


def test_unsigned_forged_and_foreign_entries_are_dead_lettered_and_never_run(
    signed: jobq.App, redis_url: str, namespace: str
) -> None:
    ran: list[str] = []

    @signed.task(name="pay")
    def pay(who: str) -> str:
        ran.append(who)
        return who

    keyless = jobq.App(redis_url, namespace=namespace, signing_key="")
    foreign = jobq.App(redis_url, namespace=namespace, signing_key="someone else's key")
    keyless.enqueue("pay", "unsigned")
    foreign.enqueue("pay", "foreign")
    genuine = pay.delay("genuine")
    mac = json.loads(stream_texts(signed)[-1])["m"]
    inject(signed, stream_texts(signed)[-1].replace("genuine", "attacker"))  # tampered copy
    inject(signed, '{"m":"' + mac + '","id":"evil","t":"pay","a":["forged"],"e":0}')

    work_until(signed, lambda: genuine.status() == "succeeded" and len(dead_details(signed)) == 4, timeout=30)
    assert ran == ["genuine"]
    reasons = sorted(d["reason"] for d in dead_details(signed))
    assert reasons == [
        "bad signature: MAC does not match (tampered, or signed with another key)",
        "bad signature: MAC does not match (tampered, or signed with another key)",
        "bad signature: MAC does not match (tampered, or signed with another key)",
        "bad signature: entry is not signed",
    ]
    assert stream_texts(signed) == []  # nothing left to be retried or run later


def test_a_worker_without_a_key_runs_signed_jobs(signed: jobq.App, redis_url: str, namespace: str) -> None:
    @signed.task(name="echo")
    def echo(x: str) -> str:
        return x

    job = echo.delay("hi")
    keyless = jobq.App(redis_url, namespace=namespace, signing_key="")
    keyless.register(echo)
    work_until(keyless, lambda: job.status() == "succeeded")
    assert job.result() == "hi"


def test_dead_letter_requeue_re_signs_genuine_jobs_and_refuses_forged_ones(signed: jobq.App) -> None:
    runs: list[str] = []

    @signed.task(name="once", retries=0)
    def once(tag: str) -> str:
        runs.append(tag)
        if runs.count(tag) == 1:
            raise jobq.Reject("first run refuses")
        return tag

    job = once.delay("genuine")
    inject(signed, encode(Envelope("forged-id", "once", ("forged",), {}, 0.0), 1 << 20))  # unsigned
    work_until(signed, lambda: job.status() == "dead" and len(dead_details(signed)) == 2)

    replay = dlq.requeue_all(signed.broker, "default")
    assert replay.requeued == [job.id]
    assert [why for _, why in replay.skipped] == ["bad signature or undecodable payload: cannot be replayed"]
    work_until(signed, lambda: job.status() == "succeeded")
    assert runs == ["genuine", "genuine"]
    assert job.result() == "genuine"


def test_the_real_worker_with_a_key_runs_signed_jobs_and_dead_letters_the_rest(
    jobq_cli: Callable[..., JobqProcess], redis_url: str, namespace: str, tmp_path: Path
) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    env = {"JOBQ_NAMESPACE": namespace, "JOBQ_SIGNING_KEY": KEY, "JOBQ_MARKER_DIR": str(markers)}
    enqueue = jobq_cli(["enqueue", "secure_app", "secure.touch", '"signed"'], redis_url, **env)
    assert enqueue.wait(60) == 0, enqueue.output()
    job = jobq.App(redis_url, namespace=namespace, signing_key=KEY).job(enqueue.output().split()[-1])
    keyless = jobq.App(redis_url, namespace=namespace, signing_key="")
    keyless.enqueue("secure.touch", "unsigned")
    inject(keyless, stream_texts(keyless)[0].replace('["signed"]', '["tampered"]'))

    worker = jobq_cli(["worker", "secure_app", "-c", "2"], redis_url, **env)
    assert job.result(timeout=60) == "signed"
    wait_for(lambda: len(dead_details(keyless)) == 2, 60, "the unsigned and the tampered entry to be dead")
    worker.signal(signal.SIGTERM)
    assert worker.wait(60) == 0, worker.output()
    assert sorted(p.name for p in markers.iterdir()) == ["signed"]  # nothing else ever ran
    assert {d["reason"].split(":")[0] for d in dead_details(keyless)} == {"bad signature"}
    assert worker.output().count("bad signature") >= 2, worker.output()
    assert KEY not in worker.output() + enqueue.output()


def test_cron_ticks_are_signed_like_every_other_enqueue(signed: jobq.App) -> None:
    @signed.cron("* * * * *", name="nightly")
    def nightly() -> None:
        return None

    [entry] = cron.entries(signed)
    assert decode(cron.tick_envelope(signed, entry, "tick-1", 0.0), KEY).id == "tick-1"


def test_an_unsigned_job_is_closed_as_dead_and_a_forged_twin_cannot_end_a_genuine_job(
    signed: jobq.App, redis_url: str, namespace: str
) -> None:
    @signed.task(name="echo")
    def echo(x: str) -> str:
        return x

    keyless = jobq.App(redis_url, namespace=namespace, signing_key="")
    unsigned = keyless.enqueue("echo", "no key")
    genuine = echo.delay("real")
    inject(keyless, stream_texts(keyless)[1].replace('["real"]', '["forged"]'))
    work_until(signed, lambda: len(dead_details(signed)) == 2 and genuine.status() == "succeeded")
    assert unsigned.status() == "dead"
    with pytest.raises(jobq.JobFailed, match="bad signature"):
        unsigned.result(timeout=1)
    assert genuine.result(timeout=1) == "real"
