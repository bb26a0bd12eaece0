"""Misuse of jobq that a type checker must reject: each line marked `# E: <code>` must be
reported by mypy with that error code, and no other line may be.

Checked by tests/test_typing.py with mypy --strict; never run.
"""

from __future__ import annotations

import jobq

app = jobq.App()


@app.task
def add(x: int, y: int) -> int:
    return x + y


@app.task(name="mail.send", retries=5)
async def send(to: str) -> bool:
    return bool(to)


add.delay("x", 2)  # E: arg-type
add.delay(1)  # E: call-arg
add.delay(1, 2, 3)  # E: call-arg
add.delay(1, z=2)  # E: call-arg
send.delay(42)  # E: arg-type
text: str = add.delay(1, 2).result()  # E: assignment
flag: int = send.delay("a@b.c").result()
done: str = send.delay("a@b.c").result()  # E: assignment
value: int = add(1, 2)
pending: int = send("a@b.c")  # E: assignment
add.s("x", 2)  # E: call-overload
add.s(1, 2, 3)  # E: call-overload
add.si(1)  # E: call-arg
send.si(42)  # E: arg-type
bad_chain: str = jobq.chain(add.s(1, 2), add.s(3)).delay().result()  # E: assignment
