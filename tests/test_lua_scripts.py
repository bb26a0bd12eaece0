"""Lua scripts as Redis runs them: each loads, and shared helpers exist once.

A script names a helper of jobq/lua/lib/ with `--#include NAME` and its record formats as
`{{NAME}}`; jobq.luascripts expands both when the script is loaded. These tests load every
expanded script on a real Redis.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from jobq import luascripts, protocol, records
from tests.support.redis_server import RedisServer

LUA_DIR = Path(luascripts.__file__).parent / "lua"
SCRIPTS = sorted(LUA_DIR.glob("*.lua"))
HELPERS = sorted((LUA_DIR / "lib").glob("*.lua"))


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
        luascripts.expand(text, missing, records.LUA_VALUES)
