"""The real `jobq dashboard` in a real terminal (tmux), read back as text from the screen."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import jobq
from tests.support.processes import JobqProcess, jobq_executable
from tests.support.redis_server import RedisServer
from tests.support.waiting import wait_for

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux (apt-get install tmux)")

DEADLINE = 20.0


class Terminal:
    """One tmux session on a private tmux server, `width` x `height` cells."""

    def __init__(self, width: int, height: int) -> None:
        self.socket = Path(tempfile.gettempdir()) / f"jobq-tmux-{uuid.uuid4().hex[:8]}"
        self.width = width
        self.height = height

    def tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-S", str(self.socket), "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            timeout=10,
        )
        return done.stdout

    def start(self, command: list[str]) -> None:
        size = ["-x", str(self.width), "-y", str(self.height)]
        # keep the pane after the program ends, so a crash stays readable on the screen
        self.tmux(
            "new-session", "-d", *size, "-s", "t", shlex.join(command), ";", "set", "remain-on-exit", "on"
        )

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "t")

    def running(self) -> bool:
        return self.tmux("display-message", "-p", "-t", "t", "#{pane_dead}").strip() == "0"

    def close(self) -> None:
        self.tmux("kill-server")
        self.socket.unlink(missing_ok=True)


@pytest.fixture
def terminal() -> Iterator[Callable[[int, int], Terminal]]:
    made: list[Terminal] = []

    def make(width: int, height: int) -> Terminal:
        made.append(Terminal(width, height))
        return made[-1]

    yield make
    for t in made:
        t.close()


def row(screen: str, name: str) -> list[str]:
    """The first five columns (name, backlog, run, sched, dead) of queue `name`'s line."""
    for line in screen.splitlines():
        words = line.split()
        if words and words[0] == name:
            return words[:5]
    return []


def dashboard(redis_url: str, namespace: str) -> list[str]:
    return [
        *jobq_executable(),
        "dashboard",
        "--refresh",
        "0.3",
        "--redis-url",
        redis_url,
        "--namespace",
        namespace,
    ]


def test_the_screen_follows_a_queue_as_it_drains_and_outlives_a_redis_restart(
    private_redis: Callable[..., RedisServer],
    terminal: Callable[[int, int], Terminal],
    jobq_cli: Callable[..., JobqProcess],
    namespace: str,
) -> None:
    redis = private_redis(aof=True)
    producer = jobq.App(redis.url, namespace=namespace)
    for _ in range(24):
        producer.submit("report.build", [0.4], queue="reports")
    term = terminal(80, 24)
    term.start(dashboard(redis.url, namespace))
    wait_for(
        lambda: row(term.screen(), "reports") == ["reports", "24", "0", "0", "0"], DEADLINE, "24 waiting"
    )
    assert "● live" in term.screen()

    jobq_cli(["worker", "dashboard_app", "-q", "reports", "-c", "3"], redis.url, JOBQ_NAMESPACE=namespace)
    seen: list[int] = []

    def drained() -> bool:
        words = row(term.screen(), "reports")
        if len(words) == 5 and words[1].isdigit():
            if not seen or seen[-1] != int(words[1]):
                seen.append(int(words[1]))
            return words[1:3] == ["0", "0"] and seen[0] == 24
        return False

    wait_for(drained, DEADLINE + 20, "the backlog to drain on screen", interval=0.05)
    assert seen == sorted(seen, reverse=True), f"the backlog went up while draining: {seen}"
    assert len(seen) >= 3, f"expected the drain to show in steps, saw {seen}"
    wait_for(lambda: " 3/3 " in term.screen() or " 0/3 " in term.screen(), DEADLINE, "the worker's line")

    redis.kill()
    wait_for(lambda: "disconnected" in term.screen(), DEADLINE, "the screen to say disconnected")
    assert term.running()
    assert row(term.screen(), "reports")[:2] == ["reports", "0"]  # the last numbers stay up

    redis.start()
    wait_for(lambda: "● live" in term.screen(), DEADLINE, "the screen to reconnect")
    for _ in range(5):
        producer.submit("mail.send", ["a@b.c"], queue="mail")  # no worker reads mail
    wait_for(lambda: row(term.screen(), "mail") == ["mail", "5", "0", "0", "0"], DEADLINE, "fresh numbers")
    assert term.running()


def test_eighty_by_twenty_four_and_narrower_show_names_and_backlogs(
    redis_url: str, terminal: Callable[[int, int], Terminal], namespace: str
) -> None:
    producer = jobq.App(redis_url, namespace=namespace)
    for i, name in enumerate(["default", "mail", "reports", "thumbnails-for-the-web"]):
        for _ in range((i + 1) * 3):
            producer.submit("x", [], queue=name)
    wide, narrow = terminal(80, 24), terminal(30, 10)
    wide.start(dashboard(redis_url, namespace))
    narrow.start(dashboard(redis_url, namespace))
    wait_for(lambda: row(wide.screen(), "reports")[:2] == ["reports", "9"], DEADLINE, "80x24 numbers")
    screen = wide.screen()
    assert row(screen, "default")[:2] == ["default", "3"] and row(screen, "mail")[:2] == ["mail", "6"]
    assert "QUEUE" in screen and "BACKLOG" in screen and "WORKER" in screen

    def narrow_layout() -> bool:
        lines = narrow.screen().splitlines()
        long_name = [line.split()[:2] for line in lines if line.startswith("thumbnails-")]
        header = [line.split() for line in lines if line.startswith("QUEUE")]
        # a long name is cut, and columns that do not fit are dropped rather than cut
        return bool(long_name and long_name[0][1] == "12" and header and header[0][-1] == "RUN")

    wait_for(lambda: row(narrow.screen(), "reports")[:2] == ["reports", "9"], DEADLINE, "30x10 numbers")
    wait_for(narrow_layout, DEADLINE, f"the 30x10 layout, not\n{narrow.screen()}")

    wide.tmux("send-keys", "-t", "t", "q")
    wait_for(lambda: not wide.running(), DEADLINE, "q to quit")
