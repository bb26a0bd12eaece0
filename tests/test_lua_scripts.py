"""Lua scripts as Redis runs them: each loads, and shared helpers exist once.

A script names a helper of jobq/lua/lib/ with `--#include NAME` and its record formats as
`{{NAME}}`; jobq.luascripts expands both when the script is loaded. These tests load every
expanded script on a real Redis, and fail when a helper's code is pasted into a script
instead of included (compared line by line with names, keys and arguments left out, so a
copy that renamed its variables is still one).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from jobq import luascripts, protocol
from tests.support.redis_server import RedisServer

LUA_DIR = Path(luascripts.__file__).parent / "lua"
SCRIPTS = sorted(LUA_DIR.glob("*.lua"))
HELPERS = sorted((LUA_DIR / "lib").glob("*.lua"))
LUA_WORDS = (  # Lua keywords and the library names helpers use: `shape` keeps them
    "and break do else elseif end false for function if in local nil not or repeat return then "
    "true until while redis call pcall tonumber tostring math floor string sub cjson decode "
    "encode table unpack ipairs pairs type"
)
KEEP = frozenset(LUA_WORDS.split())
TOKEN = re.compile(r"'[^']*'|\"[^\"]*\"|{{\w+}}|(?:KEYS|ARGV)\[[^\]]*\]|[A-Za-z_]\w*|\S")
TRIVIAL = {"", "_", "end", "else", "then"}


def test_every_script_file_is_loaded_by_name() -> None:
    assert {p.stem for p in SCRIPTS} == set(protocol.SCRIPT_NAMES)


@pytest.mark.parametrize("name", protocol.SCRIPT_NAMES)
def test_a_script_loads_on_redis_as_expanded(redis_server: RedisServer, name: str) -> None:
    text = protocol.load_script(name)
    assert text.startswith("#!lua"), "the flags line must stay first"
    assert not re.search(r"^--#include|{{\w+}}", text, re.MULTILINE)
    with redis_server.client() as client:
        assert client.script_load(text) == hashlib.sha1(text.encode()).hexdigest()


def test_every_helper_is_included_somewhere() -> None:
    used = {m for p in SCRIPTS + HELPERS for m in luascripts.INCLUDE.findall(p.read_text())}
    assert {p.stem for p in HELPERS} - used == set()


def test_expand_includes_each_helper_once_and_fills_placeholders() -> None:
    helpers = {"a": "--#include b\nlocal function a() return b() end\n", "b": "local function b() end\n"}
    text = "#!lua\n--#include a\n--#include b\nreturn a() .. {{MARK}} .. {{N}}\n"
    out = luascripts.expand(text, helpers.__getitem__, {"MARK": "it's", "N": 7})
    assert out.count("local function b()") == 1
    assert out.index("local function b()") < out.index("local function a()")
    assert out.endswith("return a() .. 'it\\'s' .. 7\n")


@pytest.mark.parametrize(
    ("text", "error"),
    [("--#include nowhere\n", "no helper"), ("return {{NOWHERE}}\n", "not a name")],
)
def test_expand_refuses_what_it_cannot_resolve(text: str, error: str) -> None:
    def missing(name: str) -> str:
        raise FileNotFoundError(name)

    with pytest.raises(ValueError, match=error):
        luascripts.expand(text, missing, luascripts.LUA_VALUES)


def shape(line: str) -> str:
    """A code line with every name, key and argument as `_`: what a pasted copy keeps."""
    code = line.split("--", 1)[0].strip()
    tokens = [t if t in KEEP or not re.match(r"[A-Za-z_]|KEYS|ARGV", t) else "_" for t in TOKEN.findall(code)]
    out = " ".join(tokens).replace("pcall ( redis . call ,", "redis . call (")
    while re.search(r"_ \[ [^\[\]]* \]", out):  # t[1], entry[2][j]: a value, whatever its path
        out = re.sub(r"_ \[ [^\[\]]* \]", "_", out)
    out = re.sub(r"^(?:return |local )?(?:_ (?:, _ )*= )?", "", out)
    return re.sub(r" \[ \d+ \]$", "", out)


def code_shapes(text: str) -> list[str]:
    shapes = [shape(line) for line in text.splitlines()]
    return [s for s in shapes if s not in TRIVIAL and not s.startswith("function ")]


def pasted(helper: str, text: str) -> bool:
    """Whether `text` holds the code of `helper` (two lines in a row of it, or its only one)."""
    body = code_shapes(helper)
    width = min(2, len(body))
    seen = code_shapes(text)
    windows = {tuple(body[i : i + width]) for i in range(len(body) - width + 1)}
    return any(tuple(seen[i : i + width]) in windows for i in range(len(seen) - width + 1))


def test_no_helper_is_pasted_into_a_script() -> None:
    found = [
        f"{other.relative_to(LUA_DIR)} repeats lib/{helper.name}: --#include {helper.stem} instead"
        for helper in HELPERS
        for other in SCRIPTS + HELPERS
        if other != helper and pasted(helper.read_text(), other.read_text())
    ]
    assert found == []


def test_the_paste_check_finds_renamed_copies() -> None:
    """The checker itself, on the copies the scripts held before the helpers existed."""
    lib = {p.stem: p.read_text() for p in HELPERS}
    copies = {
        "now_ms": "local t = redis.call('TIME')\nlocal now = tonumber(t[1]) * 1000 + "
        "math.floor(tonumber(t[2]) / 1000)\n",
        "pending_entry": "local ok, p = pcall(redis.call, 'XPENDING', KEYS[2], ARGV[1], rest, rest, 1)\n",
        "queue_entry": "local sid = redis.call('XADD', KEYS[1], '*', {{ENTRY_ENVELOPE}}, ARGV[3])\n"
        "local rec = {{JOB_QUEUED}} .. at_level(level or {{LEVEL_DEFAULT}}, sid)\n",
        "wake_waiters": "local waiting = tonumber(redis.call('HGET', KEYS[6], id) or '0')\n"
        "for _ = 1, waiting do redis.call('RPUSH', KEYS[7], '1') end\n",
        "entry_envelope": "for j = 1, #entry[2], 2 do\n  if entry[2][j] == {{ENTRY_ENVELOPE}} then "
        "env = entry[2][j + 1] end\nend\n",
    }
    for name, copy in copies.items():
        assert pasted(lib[name], f"local x = 1\n{copy}return x\n"), name
    assert not pasted(lib["queue_entry"], "redis.call('XADD', KEYS[5], '*', 'j', x1, 'd', x2)\n")
