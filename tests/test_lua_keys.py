"""Lua scripts never make key names: every key they touch arrives in KEYS (jobq.keys makes
them all), as Redis Cluster requires. A name built inside a script once doubled its own
prefix and left a finished run's outcome behind (issue 11, item 3)."""

from __future__ import annotations

import re

import redis

import jobq
from jobq import protocol
from jobq.keys import NamespaceKeys
from tests.support.inproc import work_until

KEYLESS = {"TIME"}
KEY_AFTER_SUBCOMMAND = {"XINFO", "XGROUP"}
ALL_ARGS_ARE_KEYS = {"DEL", "EXISTS", "UNLINK", "TOUCH"}
KEYS_INDEX = re.compile(r"KEYS\[[^\]\.]+\]")
KEY_NAME = re.compile(r"[A-Za-z_]\w*_key")
KEY_PIECE = re.compile(r"[\w{}.:-]*:")  # "result:", "ns:{q}:" ...
PLAIN = re.compile(r"[\w{}.:*+-]*")  # command names, fields, key pieces: kept as written


def code_of(text: str) -> str:
    """The script without comments, and with every string literal that holds punctuation
    replaced by '' (so that commas and brackets in strings do not upset the parsing)."""
    out: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if text.startswith("--", i):
            i = text.find("\n", i)
            i = len(text) if i < 0 else i
        elif c in "'\"":
            end = text.index(c, i + 1)
            literal = text[i + 1 : end]
            out.append(f"'{literal}'" if PLAIN.fullmatch(literal) else "''")
            i = end + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def split_args(code: str, start: int) -> list[str]:
    """The comma-separated arguments of the call whose '(' is at code[start - 1]."""
    args, depth, current = [], 0, ""
    for c in code[start:]:
        if c in "([{":
            depth += 1
        elif c in ")]}":
            if depth == 0:
                break
            depth -= 1
        if c == "," and depth == 0:
            args.append(current.strip())
            current = ""
        else:
            current += c
    args.append(current.strip())
    return [a for a in args if a]


def is_key(expr: str) -> bool:
    return bool(KEYS_INDEX.fullmatch(expr) or KEY_NAME.fullmatch(expr))


def key_arguments(args: list[str]) -> list[str]:
    command = args[0].strip("'\"").upper() if args else ""
    if command in KEYLESS or not args[1:]:
        return []
    if command in ALL_ARGS_ARE_KEYS:
        return args[1:]
    if command == "XREADGROUP":  # ... STREAMS key id: the one stream a script may read
        named = [a.strip("'\"").upper() for a in args]
        return args[named.index("STREAMS") + 1 :][:1] if "STREAMS" in named else []
    return args[2:3] if command in KEY_AFTER_SUBCOMMAND else args[1:2]


def problems(text: str) -> list[str]:
    """Every place `text` (a Lua script) makes or uses a key name it did not get in KEYS."""
    code = code_of(text)
    found = []
    for call in re.finditer(r"redis\.call\(|pcall\(\s*redis\.call\s*,", code):
        args = split_args(code, call.end())
        for key in key_arguments(args):
            if not is_key(key):
                found.append(f"redis.call({', '.join(args[:2])}...): key {key!r} does not come from KEYS")
    for m in re.finditer(r"(?:local\s+)?([\w\s,]+?)\s*=(?!=)\s*([^\n]+)", code):
        names = [n.strip() for n in m.group(1).replace("local", "").split(",")]
        values = split_args(m.group(2) + ")", 0)
        for name, value in zip(names, values, strict=False):
            if KEY_NAME.fullmatch(name) and not is_key(value):
                found.append(f"{name} = {value}: a key variable must hold KEYS[...]")
    found += _calls_passing_keys(code)
    for m in re.finditer(r"\.\.", code):
        left = re.search(r"(KEYS\[[^\]]*\]|[\w.]+|'[^']*')\s*$", code[: m.start()])
        right = re.match(r"\s*(KEYS\[[^\]]*\]|[\w.]+|'[^']*')", code[m.end() :])
        for operand in (left.group(1) if left else "", right.group(1) if right else ""):
            if operand.startswith("KEYS[") or KEY_NAME.fullmatch(operand) or operand in ("prefix", "KEYS"):
                found.append(f"'..' joins {operand!r}, a key name or a piece of one")
            elif operand.startswith("'") and KEY_PIECE.fullmatch(operand.strip("'")):
                found.append(f"'..' joins {operand}, a piece of a key name")
    return found


def _calls_passing_keys(code: str) -> list[str]:
    """A local function's `*_key` parameter must receive KEYS[...] or another key variable."""
    found = []
    for fn in re.finditer(r"local\s+function\s+(\w+)\s*\(([^)]*)\)", code):
        params = [p.strip() for p in fn.group(2).split(",")]
        for call in re.finditer(rf"(?<![\w.]){fn.group(1)}\s*\(", code):
            if code[call.start() - len("function ") : call.start()].strip() == "function":
                continue
            for param, arg in zip(params, split_args(code, call.end()), strict=False):
                if KEY_NAME.fullmatch(param) and not is_key(arg):
                    found.append(f"{fn.group(1)}(...{arg}...): parameter {param} must get a key from KEYS")
    return found


def test_no_script_makes_a_key_name() -> None:
    """Scripts as Redis runs them: with their helpers (jobq/lua/lib/) included."""
    assert len(protocol.SCRIPT_NAMES) >= 10
    report = {name: problems(protocol.load_script(name)) for name in protocol.SCRIPT_NAMES}
    assert {name: found for name, found in report.items() if found} == {}


def test_the_scan_finds_key_building() -> None:
    """The checker itself: each way a script could make a key name is caught."""
    built = [
        "local prefix = ARGV[1]\nredis.call('DEL', prefix .. 'result:' .. id)",
        "redis.call('SET', ARGV[3] .. id, blob)",
        "local nk = KEYS[1] .. ':notify'\nredis.call('RPUSH', nk, '1')",
        "redis.call('GET', 'jobq:{default}:result:' .. id)",
        "local result_key = ARGV[2]\nredis.call('GET', result_key)",
        "local function f(id, result_key) redis.call('DEL', result_key) end\nf(id, ARGV[1])",
        "local ok, p = pcall(redis.call, 'XPENDING', ARGV[1], 'g', '-', '+', 1)",
        "redis.call('XINFO', 'GROUPS', ARGV[1])",
    ]
    for script in built:
        assert problems(script), script
    fine = (
        "local result_key = KEYS[9]\nredis.call('SET', result_key, ARGV[1] .. 'x', 'EX', 5)\n"
        "local function f(id, notify_key) redis.call('RPUSH', notify_key, id) end\nf(id, KEYS[2])\n"
        "redis.call('TIME')\nredis.call('HSET', KEYS[2], id, 'Q' .. sid)\n"
        "local ok, p = pcall(redis.call, 'XPENDING', KEYS[1], ARGV[1], sid, sid, 1)"
    )
    assert problems(fine) == []


def test_settle_wakes_waiters_without_naming_their_keys(app: jobq.App) -> None:
    """settle.lua reports who waits; the worker pushes their wake-ups (one per waiter)."""

    @app.task(name="echo")
    def echo(x: int) -> int:
        return x

    waited, alone = echo.delay(1), echo.delay(2)
    k = NamespaceKeys(app.config.namespace).queue("default")
    client = redis.Redis.from_url(app.config.redis_url, decode_responses=True)
    client.hincrby(k.waiters, waited.id, 2)  # as two callers blocked in result() do
    work_until(app, lambda: waited.status() == alone.status() == "succeeded")
    assert client.lrange(k.notify(waited.id), 0, -1) == ["1", "1"]
    assert 0 < client.ttl(k.notify(waited.id)) <= 60
    assert client.exists(k.notify(alone.id)) == 0
