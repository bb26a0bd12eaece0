"""Record formats have one source: jobq/records.py.

The job-record markers, stream entry fields, outcome members, counter names and duration
bounds are typed there (the envelope's own members in jobq.envelope); Python code names
them through it and Lua scripts get them as `{{NAME}}` (jobq.luascripts). These tests
fail when one of those literals is typed again in a script, or read, compared, indexed
or built into a field name in another module.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from jobq import records
from jobq.envelope import ENVELOPE_ARGS, ENVELOPE_KWARGS
from jobq.states import JobStatus

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
JOBQ = PACKAGE_ROOT / "jobq"
SOURCE = JOBQ / "records.py"
MARKERS = {records.QUEUED, records.SCHEDULED, records.CANCEL_ASKED}
ENTRY_FIELDS = {records.ENTRY_ENVELOPE, records.ENTRY_DEAD_DETAILS}
MEMBERS = set(records.OUTCOME_MEMBERS)
KEPT = {records.OUTCOME_CUT, ENVELOPE_ARGS, ENVELOPE_KWARGS}  # a kept envelope's members
COUNTERS = {*records.PER_TASK, records.EXPIRED, records.THROTTLED, records.CAPPED, records.DURATION_BUCKET}
LITERALS = MARKERS | ENTRY_FIELDS | MEMBERS | KEPT | COUNTERS
LUA_LITERALS = MARKERS | ENTRY_FIELDS | KEPT | {records.OUTCOME_STATE}
KEY_METHODS = {"get", "pop", "setdefault", "startswith", "endswith", "partition", "rpartition"}

# The same text with another meaning, typed at its own source: (module, line) -> why.
OTHER_MEANING = {
    ("jobq/envelope.py", "e"): "the envelope's own member (enqueued at), typed once there",
    ("jobq/envelope.py", "n"): "the envelope's own member (prior attempts), typed once there",
    ("jobq/workflow/steps.py", "a"): "a workflow step's own member (its arguments), typed once there",
    ("jobq/workflow/steps.py", "k"): "a workflow step's own member (its kwargs), typed once there",
    ("jobq/workflow/start.py", "n"): "a workflow state hash's size (that format is jobq.workflow's)",
    ("jobq/workflow/deps.py", "n"): "a workflow state hash's size (that format is jobq.workflow's)",
    ("jobq/stats.py", '"processed": q.processed,'): "the stats JSON's field (README)",
    ("jobq/stats.py", '"failed": q.failed,'): "the stats JSON's field (README)",
    ("jobq/stats.py", '"expired": q.expired,'): "the stats JSON's field (README)",
    ("jobq/stats.py", '"throttled": q.throttled,'): "the stats JSON's field (README)",
    ("jobq/stats.py", '"capped": q.capped,'): "the stats JSON's field (README)",
    ("jobq/stats.py", '"processed": w.processed,'): "the stats JSON's field (README)",
    ("jobq/stats.py", 'processed=_int(h.get("processed")),'): "the worker heartbeat's field",
    ("jobq/worker/heartbeat.py", '"processed": w.done,'): "the worker heartbeat's field",
    ("jobq/flow.py", '_PERIODS_MS = {"s": 1000, "m": 60_000, "h": 3_600_000}'): "rate limit units",
    (
        "jobq/worker/limits.py",
        'COUNTER = {"r": records.THROTTLED, "c": records.CAPPED}',
    ): "flow_acquire.lua's replies",
}


def lua_code(text: str) -> str:
    return "\n".join(line.split("--", 1)[0] for line in text.splitlines())


def lua_problems(text: str) -> list[str]:
    """Record literals typed in a Lua script instead of its {{NAME}}."""
    found = []
    for literal in re.findall(r"'([^']*)'|\"([^\"]*)\"", lua_code(text)):
        value = "".join(literal)
        if value in LUA_LITERALS or any(f'"{m}":' in value for m in MEMBERS):
            found.append(repr(value))
    return found


def test_no_lua_script_types_a_record_literal() -> None:
    scripts = sorted((JOBQ / "lua").rglob("*.lua"))
    report = {str(p.relative_to(JOBQ)): lua_problems(p.read_text()) for p in scripts}
    assert {name: found for name, found in report.items() if found} == {}


def _uses(tree: ast.AST) -> Iterator[ast.Constant]:
    """String constants where a record format is read or made: indexes, dict keys, keys
    passed to get()/startswith()..., `key in mapping`, comparisons with a marker, and the
    head of a built field name."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript):
            yield from _consts(node.slice)
        elif isinstance(node, ast.Dict):
            yield from (k for k in node.keys if isinstance(k, ast.Constant))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
            if node.func.attr in KEY_METHODS:
                yield from _consts(node.args[0])
        elif isinstance(node, ast.Compare):
            if isinstance(node.ops[0], ast.In | ast.NotIn):
                yield from _consts(node.left)
            for operand in (node.left, *node.comparators):
                yield from (c for c in _consts(operand) if c.value in MARKERS)
        elif isinstance(node, ast.JoinedStr) and node.values:
            yield from _consts(node.values[0])
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            yield from _consts(node.left)


def _consts(node: ast.AST) -> Iterator[ast.Constant]:
    parts = node.elts if isinstance(node, ast.Tuple | ast.List | ast.Set) else [node]
    yield from (p for p in parts if isinstance(p, ast.Constant) and isinstance(p.value, str))


def python_problems(path: Path, text: str) -> list[str]:
    """Record literals a module types instead of naming them from jobq.records."""
    module = str(path)
    found = []
    for const in _uses(ast.parse(text)):
        value = str(const.value)
        head = value.split(":", 1)[0] if ":" in value and not value.startswith("{") else value
        fragment = any(f'"{m}":' in value for m in MEMBERS)
        if head not in LITERALS and not fragment:
            continue
        line = text.splitlines()[const.lineno - 1].strip()
        if (module, value) in OTHER_MEANING or (module, line) in OTHER_MEANING:
            continue
        found.append(f"{module}:{const.lineno}: {line}")
    return found


def test_no_module_types_a_record_literal() -> None:
    modules = sorted(p for p in JOBQ.rglob("*.py") if p != SOURCE)
    found = [
        problem
        for p in modules
        for problem in python_problems(p.relative_to(PACKAGE_ROOT), p.read_text(encoding="utf-8"))
    ]
    assert found == []


def test_the_scans_find_retyped_formats() -> None:
    """The checkers themselves, on the copies jobq held before jobq.records."""
    assert lua_problems("if kind == 'X' then return 3 end -- 'Q' in a comment is fine") == ["'X'"]
    assert lua_problems("blob = string.sub(blob, 1, -2) .. ',\"j\":' .. env .. '}'") == ["',\"j\":'"]
    assert lua_problems("redis.call('XADD', KEYS[1], '*', {{ENTRY_ENVELOPE}}, env)") == []
    retyped = [
        'kind, rest = record[:1], record[1:]\nif kind in ("Q", "X"):\n    pass\n',
        'ok = \'{"s":"succeeded","r":\' + result\n',
        'buckets = tuple(f"dle:{task}:{name}" for name in names)\n',
        'n = counters.get("processed")\n',
        'details = fields["d"]\n',
        'c = {"failed": 1}\n',
    ]
    for text in retyped:
        assert python_problems(Path("jobq/x.py"), text), text
    assert python_problems(Path("jobq/x.py"), "print(f\"{n} job{'s' if n != 1 else ''}\")\n") == []


def test_counter_field_names_stay_as_stored() -> None:
    """Counters already in Redis keep parsing: the names are part of the stored format."""
    fields = records.TaskCounters.of("t")
    assert fields.buckets[0] == "dle:t:0.005" and fields.buckets[7] == "dle:t:1"
    assert fields.buckets[-1] == "dle:t:inf" and len(fields.buckets) == len(records.DURATION_BOUNDS) + 1
    assert (fields.count, fields.sum_us, fields.processed, fields.failed) == (
        "dcount:t",
        "dsum_us:t",
        "processed:t",
        "failed:t",
    )
    assert records.task_counter("dle:a:b:2.5") == ("dle", "a:b", 2.5)
    assert records.task_counter("processed") is None


def test_outcome_blobs_stay_as_stored() -> None:
    """Outcomes already in Redis keep parsing, and new ones are written byte for byte as
    before the builders moved here."""
    env = '{"id":"j1","t":"add","a":[1],"e":1.5}'
    assert records.succeeded_blob(2, 1700000000123, 450, env, "3") == (
        '{"s":"succeeded","n":2,"t1":1700000000123,"d":450,"j":' + env + ',"r":3}'
    )
    dead = records.outcome_blob(
        JobStatus.DEAD, env, error="boom", traceback="tb", reason="error", attempts=3, ended_ms=9, took_us=8
    )
    assert dead == '{"s":"dead","e":"boom","tb":"tb","why":"error","n":3,"t1":9,"d":8,"j":' + env + "}"
    assert records.CANCELLED_BLOB == '{"s":"cancelled"}'
    assert records.outcome_state(records.parse_outcome(dead)) == "dead"
    assert records.outcome_state({}) == "succeeded"
