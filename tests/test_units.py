"""Pure parts: backoff bounds, the retry decision table, the envelope codec, configuration."""

from __future__ import annotations

import json
import random
import time

import pytest

from jobq.config import Config, redact_url, resolve_namespace, resolve_redis_url
from jobq.envelope import DecodeError, Envelope, batch_encoder, decode, encode
from jobq.errors import ConfigError, SerializationError
from jobq.retry import Ack, Cancel, DeadLetter, Outcome, Policy, RetryIn, backoff, decide


@pytest.mark.parametrize("attempt", [1, 2, 3, 5, 10, 40, 100])
def test_backoff_stays_within_half_to_full_of_capped_exponential(attempt: int) -> None:
    rng = random.Random(attempt)
    ceiling = min(60.0, 0.5 * 2 ** (attempt - 1))
    for _ in range(200):
        value = backoff(attempt, 0.5, 60.0, rng)
        assert ceiling / 2 <= value <= ceiling


def test_backoff_is_jittered() -> None:
    rng = random.Random(7)
    assert len({round(backoff(4, 1.0, 3600, rng), 6) for _ in range(50)}) > 40


POLICY = Policy(retries=2, backoff=1.0, backoff_max=10.0)


@pytest.mark.parametrize(
    ("outcome", "attempt", "expected"),
    [
        (Outcome("ok"), 1, Ack()),
        (Outcome("ok"), 3, Ack()),
        (Outcome("cancelled"), 1, Cancel()),
        (Outcome("reject", reason="nope"), 1, DeadLetter("rejected: nope")),
        (Outcome("bad_call", reason="wrong arguments"), 1, DeadLetter("wrong arguments")),
        (Outcome("error", retryable=False, reason="E"), 1, DeadLetter("not retryable: E")),
        (
            Outcome("error", retryable=True, reason="E"),
            3,
            DeadLetter("retries exhausted after 3 attempts: E"),
        ),
        (Outcome("retry", delay=7.0, reason="R"), 2, RetryIn(7.0)),
        (Outcome("retry", delay=7.0, reason="R"), 3, DeadLetter("retries exhausted after 3 attempts: R")),
    ],
)
def test_decision_table(outcome: Outcome, attempt: int, expected: object) -> None:
    assert decide(outcome, attempt, POLICY, random.Random(1)) == expected


def test_retryable_error_with_attempts_left_backs_off() -> None:
    decision = decide(Outcome("error", retryable=True, reason="E"), 2, POLICY, random.Random(1))
    assert isinstance(decision, RetryIn)
    assert 1.0 <= decision.delay <= 2.0


def test_retry_without_delay_uses_backoff() -> None:
    decision = decide(Outcome("retry", reason="R"), 1, POLICY, random.Random(1))
    assert isinstance(decision, RetryIn)
    assert 0.5 <= decision.delay <= 1.0


def test_envelope_round_trip() -> None:
    env = Envelope("abc", "mail.send", (1, "x", [1, 2], {"a": None}), {"k": "é"}, 1700000000.25, 2)
    assert decode(encode(env, 1 << 20)) == env


BIG = 2**70 + 1  # past 64 bits, and no float equals it: orjson would read it as one


@pytest.mark.parametrize(
    ("args", "kwargs", "headers"),
    [
        ((BIG, -BIG, 1e20, -1e300, 2.5), {}, None),  # integers stay whole, floats stay floats
        ((1, [2, [BIG]]), {}, None),
        ((1,), {"deep": {"n": [BIG]}}, None),
        ((), {}, {"trace": BIG}),
        (("\ud800 lone surrogate text", "é", "\n\t"), {"k": "v"}, None),
    ],
)
def test_an_envelope_reads_back_exactly_whatever_the_reader(
    args: tuple[object, ...], kwargs: dict[str, object], headers: dict[str, object] | None
) -> None:
    env = Envelope("abc", "t", args, kwargs, 1700000000.25, headers=headers)
    back = decode(encode(env, 1 << 20))
    assert back == env
    assert [type(a) for a in back.args] == [type(a) for a in args]


def test_what_only_the_standard_library_reads_still_decodes() -> None:
    """orjson refuses these; the standard library reads them as before."""
    raw = '{"id":"a","t":"t","a":[NaN, Infinity, "\\ud800"],"e":1.0}'
    env = decode(raw)
    assert env.args[2] == "\ud800" and env.args[1] == float("inf")


def test_envelope_omits_empty_fields() -> None:
    text = encode(Envelope("abc", "t", (), {}, 1.5), 1 << 20)
    assert text == '{"id":"abc","t":"t","a":[],"e":1.5}'


def test_unserializable_argument_is_a_serialization_error() -> None:
    with pytest.raises(SerializationError, match="cannot encode"):
        encode(Envelope("abc", "t", (object(),), {}, 1.0), 1 << 20)


def test_nan_is_refused_rather_than_sent_as_invalid_json() -> None:
    with pytest.raises(SerializationError):
        encode(Envelope("abc", "t", (float("nan"),), {}, 1.0), 1 << 20)


def test_payload_over_the_limit_is_refused() -> None:
    with pytest.raises(SerializationError, match="over the 100 byte limit"):
        encode(Envelope("abc", "t", ("x" * 200,), {}, 1.0), 100)


@pytest.mark.parametrize(
    "raw",
    [b"\xff\xfe", "not json", "[1,2]", '{"t":"x"}', '{"id":1,"t":"x"}', '{"id":"a","t":"x","a":5}'],
)
def test_malformed_envelopes_raise_decode_error(raw: str | bytes) -> None:
    with pytest.raises(DecodeError, match="undecodable payload"):
        decode(raw)


def test_config_resolution_order() -> None:
    assert resolve_redis_url(None, {}) == "redis://localhost:6379/0"
    assert resolve_redis_url(None, {"JOBQ_REDIS_URL": "redis://e:1/0"}) == "redis://e:1/0"
    assert resolve_redis_url("redis://x:2/0", {"JOBQ_REDIS_URL": "redis://e:1/0"}) == "redis://x:2/0"
    assert resolve_namespace(None, {"JOBQ_NAMESPACE": "ns"}) == "ns"
    assert resolve_namespace(None, {}) == "jobq"


@pytest.mark.parametrize(
    "kwargs",
    [{"namespace": ""}, {"namespace": "a{b"}, {"default_queue": "a:b"}, {"visibility_timeout": 0}],
)
def test_invalid_config_is_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        Config(**kwargs)  # type: ignore[arg-type]


def test_redact_url_hides_passwords() -> None:
    assert redact_url("redis://user:secret@h:6379/0") == "redis://user:***@h:6379/0"
    assert redact_url("rediss://:secret@h/1") == "rediss://:***@h/1"
    assert redact_url("redis://h:6379/0") == "redis://h:6379/0"


@pytest.mark.parametrize(
    ("args", "expires", "priority", "key"),
    [
        ((1, 2.5), None, 5, None),
        (("é\n", {"z": [None, True]}), 1_764_676_800.25, 2, None),
        ((), None, 9, "secret"),
    ],
)
def test_a_batch_encoder_writes_what_encode_writes(
    args: tuple[object, ...], expires: float | None, priority: int, key: str | None
) -> None:
    one = batch_encoder("mod.task", 1_764_676_800.5, expires, priority, 1 << 20, key)
    env = Envelope("0123abcd" * 4, "mod.task", args, {}, 1_764_676_800.5, 0, expires, None, "", "", priority)
    assert one(env.id, args) == encode(env, 1 << 20, key)
    assert decode(one(env.id, args), key) == env


@pytest.mark.parametrize(("priority", "key"), [(5, None), (7, "secret")])
def test_a_linked_batch_encoder_writes_a_members_envelope(priority: int, key: str | None) -> None:
    """A group's members: each envelope carries its own workflow link."""
    one = batch_encoder("mod.task", 1_764_676_800.5, None, priority, 1 << 20, key, linked=True)
    for link in ("ab12" * 8 + "/1", "cd34" * 8 + "/10000"):
        at = 1_764_676_800.5
        env = Envelope("0123abcd" * 4, "mod.task", (1, "x"), {}, at, priority=priority, workflow=link)
        assert one(env.id, env.args, link) == encode(env, 1 << 20, key)
        assert decode(one(env.id, env.args, link), key) == env


@pytest.mark.parametrize("link", [5, ["ab/1"], {"w": 1}])
def test_a_member_whose_link_is_not_text_is_refused(link: object) -> None:
    raw = json.dumps({"id": "0" * 32, "t": "mod.task", "a": [1], "e": 1.5, "w": link})
    with pytest.raises(DecodeError, match="workflow must be strings"):
        decode(raw)


def test_a_batch_encoder_refuses_what_encode_refuses() -> None:
    one = batch_encoder("mod.task", 1.0, None, 5, 200, None)
    with pytest.raises(SerializationError, match=r"cannot encode arguments of mod\.task"):
        one("0" * 32, (object(),))
    with pytest.raises(SerializationError, match="over the 200 byte limit"):
        one("0" * 32, ("x" * 300,))


def test_the_latency_window_measures_waits_on_redis_time_from_entry_ids() -> None:
    from jobq.worker.latency import WINDOW_S, LatencyWindow

    window = LatencyWindow()
    window.offset_ms = 250.0  # Redis's clock runs 250 ms ahead of this host's
    started = time.monotonic()
    redis_now_ms = time.time() * 1000 + window.offset_ms
    for waited_ms, ref in ((10, "{}-0"), (40, "7/{}-3"), (90, "{}-12")):  # "7/": a levelled entry
        window.add("q", ref.format(int(redis_now_ms - waited_ms)), started)
    window.add("q", f"{int(redis_now_ms - 5000)}-0", started - WINDOW_S - 1)  # out of the window
    p50, p95 = window.percentiles()["q"]
    assert 40 <= p50 < 45 and 40 <= p95 < 45
    assert window.percentiles().keys() == {"q"}
