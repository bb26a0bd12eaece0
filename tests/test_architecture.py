"""ARCHITECTURE.md and keys.py's docstring list exactly the keys keys.py makes, so the
key schema a reader sees cannot drift from the code (issue 16)."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterator
from pathlib import Path

from jobq import keys, protocol

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = re.compile(r"<[^>]*>")


def normal(key: str) -> str:
    """`ns:{q}:result:<id>` and `ns:{q}:result:<job_id>` are the same key."""
    return PLACEHOLDER.sub("<>", key)


def _made_by(obj: object) -> Iterator[str]:
    for name, member in inspect.getmembers(type(obj)):
        if name.startswith("_") or name == "prefix":
            continue
        if isinstance(member, property):
            value = getattr(obj, name)
            if isinstance(value, str):
                yield value
        elif inspect.isfunction(member) and len(inspect.signature(member).parameters) == 2:
            made = getattr(obj, name)("<>")
            if isinstance(made, str):
                yield made


def made_keys() -> set[str]:
    """Every key name keys.py makes, with `<>` for the variable part."""
    queue = keys.QueueKeys("ns", "q")
    found = {*_made_by(keys.NamespaceKeys("ns")), *_made_by(queue)}
    # Until every key name is made in keys.py (issue 11.3): a cron entry's state key.
    maker: Callable[[keys.QueueKeys, str], str] | None = getattr(protocol, "cron_state_key", None)
    if maker is not None:
        found.add(maker(queue, "<>"))
    return {normal(k) for k in found}


def architecture_keys() -> set[str]:
    text = (ROOT / "ARCHITECTURE.md").read_text()
    section = text.split("## Redis keys", 1)[1].split("\n## ", 1)[0]
    return {normal(m) for m in re.findall(r"^\| `(ns:[^`]+)` \|", section, re.MULTILINE)}


def docstring_keys() -> set[str]:
    doc = keys.__doc__ or ""
    return {normal(m) for m in re.findall(r"^ {4}(ns:\S+)", doc, re.MULTILINE)}


def test_the_key_table_lists_every_key_keys_py_makes() -> None:
    made = made_keys()
    assert len(made) >= 15, made  # the introspection found the keys
    table = architecture_keys()
    assert table == made, f"ARCHITECTURE.md: add {sorted(made - table)}, remove {sorted(table - made)}"


def test_the_keys_docstring_lists_every_key_keys_py_makes() -> None:
    made, doc = made_keys(), docstring_keys()
    assert doc == made, f"keys.py docstring: add {sorted(made - doc)}, remove {sorted(doc - made)}"


def test_no_module_in_jobq_is_long() -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in (ROOT / "jobq").rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 360
    }
    assert not long, f"split these modules (about 350 lines at most): {long}"
