"""The envelope: what one enqueued call looks like on the wire, and its JSON codec.

Wire form (JSON object, short keys because a million queued jobs pay for every byte)::

    id  job id (str)          t  task name (str)       a  positional args (list)
    k   keyword args (object, omitted when empty)
    h   headers (object of JSON values, omitted when empty; see jobq.middleware)
    n   attempts already made before this delivery (int, omitted when 0)
    e   enqueued at, Unix seconds (float)
    x   expires at, Unix seconds (float, omitted when the job never expires): a worker
        that gets it later settles it as "expired" instead of running it
    rk  rate limit key, ck concurrency cap key: what the task's rate_limit_key /
        concurrency_key gave for this call (omitted: the task's one limit)
    p   priority level 0..9 (int, omitted at the default 5): where its entry lives, kept
        so that retries, delays and replays come back at the level it was given
    w   the workflow it is a member of and its index there, "<workflow id>/<k>" (omitted:
        none): settle.lua and cancel.lua tell that workflow when the job finishes
    m   HMAC-SHA256 of the rest, first member, only when the App has a signing key
        (see jobq.signing: the MAC covers the exact JSON text spliced in after it)

With a key, `decode` refuses entries that are unsigned or whose MAC does not match with
DecodeError("bad signature: ..."), which the worker dead-letters without running them.
Without a key, signed and unsigned entries both decode and nothing is verified.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any

import orjson

from jobq.errors import SerializationError
from jobq.flow import DEFAULT_PRIORITY, PRIORITIES
from jobq.signing import BadSignature, as_key, sign, verified

_encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _made_once(encoder: json.JSONEncoder) -> Callable[[Any], str]:
    """`encoder.encode`, minus the C encoder it builds anew on every call (about a quarter
    of encode()'s time). No circular-reference marks: a cycle fails as RecursionError,
    which every caller catches like TypeError and ValueError."""
    if c_make_encoder is None:
        return encoder.encode
    try:
        made = c_make_encoder(None, encoder.default, encode_basestring, None, ":", ",", False, False, False)
        sample = [1, 2.5, None, {"é": "\n"}]
        if "".join(made(sample, 0)) != encoder.encode(sample):
            return encoder.encode
    except TypeError:  # another Python's private signature
        return encoder.encode

    def encode(value: Any) -> str:
        return "".join(made(value, 0))

    return encode


_encode = _made_once(_encoder)
_decode = json.JSONDecoder().decode
_raw_decode = json.JSONDecoder().raw_decode  # skips decode()'s whitespace regex: hot path

ENVELOPE_ARGS = "a"  # the members holding the call's arguments: what jobq.records.kept_text
ENVELOPE_KWARGS = "k"  # leaves out of a large envelope kept with a finished job's outcome
ENVELOPE_HEADERS = "h"  # the caller's headers (tracing context and the like)
ENVELOPE_WORKFLOW = "w"  # a workflow member's link, read by Lua too (jobq.luascripts.LUA_VALUES)
ENVELOPE_PRIORITY = "p"  # the priority level (requeue_dead.lua reads it to replay a job there)


@dataclass(slots=True)  # not frozen: made for every delivery, and a frozen __init__ costs 6x more
class Envelope:
    """One job as carried through Redis."""

    id: str
    task: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    enqueued_at: float
    prior_attempts: int = 0
    expires: float | None = None
    headers: dict[str, Any] | None = None
    rate_key: str = ""
    cap_key: str = ""
    priority: int = DEFAULT_PRIORITY
    workflow: str = ""

    def with_prior_attempts(self, prior: int) -> Envelope:
        return replace(self, prior_attempts=prior)


def encode(env: Envelope, max_bytes: int, key: str | bytes | None = None) -> str:
    """JSON text of the envelope, signed when `key` is given; SerializationError if it
    cannot be encoded or is too big (the limit is on the JSON, not the 71 bytes the MAC adds)."""
    body: dict[str, Any] = {"id": env.id, "t": env.task, ENVELOPE_ARGS: env.args, "e": env.enqueued_at}
    if env.kwargs:
        body[ENVELOPE_KWARGS] = env.kwargs
    if env.prior_attempts:
        body["n"] = env.prior_attempts
    if env.expires is not None:
        body["x"] = env.expires
    if env.headers:
        body[ENVELOPE_HEADERS] = env.headers
    if env.rate_key:
        body["rk"] = env.rate_key
    if env.cap_key:
        body["ck"] = env.cap_key
    if env.priority != DEFAULT_PRIORITY:
        body[ENVELOPE_PRIORITY] = env.priority
    if env.workflow:
        body[ENVELOPE_WORKFLOW] = env.workflow
    try:
        text = _encode(body)
    except (TypeError, ValueError, RecursionError) as exc:
        raise SerializationError(f"cannot encode arguments of {env.task}: {exc}") from None
    if len(text) * 4 > max_bytes and len(text.encode()) > max_bytes:  # UTF-8: <= 4 bytes a char
        raise SerializationError(
            f"payload of {env.task} is {len(text.encode())} bytes, over the {max_bytes} byte limit"
        )
    secret = as_key(key)
    return sign(text, secret) if secret else text


def batch_encoder(
    task: str,
    enqueued_at: float,
    expires: float | None,
    priority: int,
    max_bytes: int,
    key: str | bytes | None,
    linked: bool = False,
) -> Callable[..., str]:
    """encode() of envelopes that differ only in their id (one jobq made: hex digits) and
    positional args, as delay_many makes them, and with `linked`, in their workflow link
    (jobq.records.link_of: hex digits, "/" and digits), as a group's members do: all
    the rest is encoded once, and the text is the one encode() gives."""
    mark = "L" if linked else ""
    sample = encode(
        Envelope("", task, (), {}, enqueued_at, 0, expires, None, "", "", priority, mark), max_bytes
    )
    args_at = sample.index(f',"{ENVELOPE_ARGS}":[]')
    head, middle = sample[: len('{"id":"')], sample[len('{"id":"') : args_at] + f',"{ENVELOPE_ARGS}":'
    tail = sample[args_at + len(f',"{ENVELOPE_ARGS}":[]') :]
    end = ""
    if linked:
        tail, end = tail[: -len('L"}')], '"}'
    secret = as_key(key)

    def one(job_id: str, args: Sequence[Any], link: str = "") -> str:
        try:
            text = head + job_id + middle + _encode(args) + tail + link + end
        except (TypeError, ValueError, RecursionError) as exc:
            raise SerializationError(f"cannot encode arguments of {task}: {exc}") from None
        if len(text) * 4 > max_bytes and len(text.encode()) > max_bytes:
            raise SerializationError(
                f"payload of {task} is {len(text.encode())} bytes, over the {max_bytes} byte limit"
            )
        return sign(text, secret) if secret else text

    return one


class DecodeError(ValueError):
    """The stream entry is not a valid envelope, or (with a key) not one signed with it.

    `unverified` is what a bad-signature entry claims to be, when it parses: for closing
    its job record and showing it, never for running it.
    """

    def __init__(self, message: str, unverified: Envelope | None = None) -> None:
        super().__init__(message)
        self.unverified = unverified


def decode(raw: str | bytes, key: str | bytes | None = None) -> Envelope:
    """Parse an envelope, verifying its MAC when `key` is given; DecodeError with a human
    reason ("bad signature: ..." or "undecodable payload: ...") when it cannot be run."""
    try:
        text = raw if isinstance(raw, str) else raw.decode()
    except UnicodeDecodeError as exc:
        raise DecodeError(f"undecodable payload: {exc}") from None
    secret = as_key(key)
    if secret:
        try:
            text = verified(text, secret)
        except BadSignature as exc:
            raise DecodeError(f"bad signature: {exc}", _claimed(text)) from None
    return _parse(text)


def _claimed(text: str) -> Envelope | None:
    try:
        return _parse(text)
    except DecodeError:
        return None


_EXACT_BELOW = float(1 << 63)


def _read_exactly(body: Any) -> bool:
    """No number in the arguments or headers that orjson may have read inexactly: it reads
    an integer past 64 bits as a float, where the standard library keeps it whole. Plain
    positional arguments are looked at here; anything nested, kwargs or headers by _whole."""
    if body.__class__ is not dict:
        return True  # from_object refuses it either way
    args = body.get(ENVELOPE_ARGS)
    if args.__class__ is list:
        for value in args:
            kind = value.__class__
            if kind is float:
                if not -_EXACT_BELOW < value < _EXACT_BELOW:
                    return False
            elif kind is list or kind is dict:
                return _whole((args, body.get(ENVELOPE_KWARGS), body.get(ENVELOPE_HEADERS)))
    if ENVELOPE_KWARGS in body or ENVELOPE_HEADERS in body:
        return _whole((args, body.get(ENVELOPE_KWARGS), body.get(ENVELOPE_HEADERS)))
    return True


def _whole(values: Iterable[Any]) -> bool:
    """The same for any values, nested lists and objects too."""
    stack = [values]
    while stack:
        for value in stack.pop():
            kind = value.__class__
            if kind is float:
                if not -_EXACT_BELOW < value < _EXACT_BELOW:
                    return False
            elif kind is list:
                stack.append(value)
            elif kind is dict:
                stack.append(value.values())
    return True


def _parse(text: str) -> Envelope:
    """orjson reads an envelope in a quarter of the standard library's time (a worker's
    largest cost per job after the job itself). Whatever orjson refuses (NaN, a lone
    surrogate) or may have read inexactly goes to the standard library, which decides."""
    try:
        body = orjson.loads(text)
    except orjson.JSONDecodeError:
        pass
    else:
        if _read_exactly(body):
            return from_object(body)
    try:
        body, end = _raw_decode(text)
        if end != len(text) and text[end:].strip():
            raise ValueError(f"extra data at char {end}")
    except ValueError as exc:
        raise DecodeError(f"undecodable payload: {exc}") from None
    except RecursionError:
        raise DecodeError("undecodable payload: JSON nested too deeply") from None
    return from_object(body)


_PLAIN = frozenset(("id", "t", ENVELOPE_ARGS, "e"))  # a call with positional arguments only
_PLAIN_MEMBER = _PLAIN | {ENVELOPE_WORKFLOW}  # the same, as a workflow member


def from_object(body: Any) -> Envelope:
    """The envelope in an already parsed JSON value (as kept inside a stored outcome);
    DecodeError if it is not one."""
    if body.__class__ is dict and 4 <= len(body) <= 5:  # the common jobs: plain, or a member
        link = body.get(ENVELOPE_WORKFLOW, "")
        if body.keys() == (_PLAIN_MEMBER if link else _PLAIN) and link.__class__ is str:
            job_id, task, args, at = body["id"], body["t"], body[ENVELOPE_ARGS], body["e"]
            plain = job_id.__class__ is str and task.__class__ is str and args.__class__ is list
            if plain and (at.__class__ is float or at.__class__ is int):
                return Envelope(job_id, task, tuple(args), {}, float(at), workflow=link)
    if not isinstance(body, dict):
        raise DecodeError("undecodable payload: not a JSON object")
    try:
        job_id = body["id"]
        task = body["t"]
        args = body.get(ENVELOPE_ARGS, ())
        kwargs = body.get(ENVELOPE_KWARGS) or {}
        enqueued_at = float(body.get("e", 0.0))
        prior = int(body.get("n", 0))
        expires = body.get("x")
        expires = None if expires is None else float(expires)
        headers = body.get(ENVELOPE_HEADERS)
        rate_key, cap_key = body.get("rk", ""), body.get("ck", "")
        priority = body.get(ENVELOPE_PRIORITY, DEFAULT_PRIORITY)
        workflow = body.get(ENVELOPE_WORKFLOW, "")
    except (KeyError, TypeError, ValueError) as exc:
        raise DecodeError(f"undecodable payload: missing or bad field {exc}") from None
    if not (isinstance(job_id, str) and isinstance(task, str)):
        raise DecodeError("undecodable payload: id and task must be strings")
    if not isinstance(args, (list, tuple)) or not isinstance(kwargs, dict):
        raise DecodeError("undecodable payload: args must be a list and kwargs an object")
    if headers is not None and not isinstance(headers, dict):
        raise DecodeError("undecodable payload: headers must be an object")
    if not (isinstance(rate_key, str) and isinstance(cap_key, str) and isinstance(workflow, str)):
        raise DecodeError("undecodable payload: limit keys and workflow must be strings")
    if priority.__class__ is not int or priority not in PRIORITIES:
        raise DecodeError("undecodable payload: priority must be a whole number from 0 to 9")
    return Envelope(
        *(job_id, task, tuple(args), kwargs, enqueued_at, prior, expires, headers or None),
        *(rate_key, cap_key, priority, workflow),
    )


def encode_value(value: Any) -> str:
    """JSON text of a task's return value."""
    try:
        return _encode(value)
    except (TypeError, ValueError, RecursionError) as exc:
        raise SerializationError(f"cannot encode result: {exc}") from None


def decode_value(text: str | bytes) -> Any:
    return _decode(text if isinstance(text, str) else text.decode())
