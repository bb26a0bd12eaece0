"""The scheduler's calls (jobq.scheduler, jobq.cron).

Each entry's state lives under its queue's hash tag, so deciding a tick and enqueueing its
job is one script in one slot.
"""

from __future__ import annotations

from collections.abc import Sequence

from jobq import protocol_cron
from jobq.broker.link import Link


class CronCalls(Link):
    """Fire ticks and trigger runs of cron entries."""

    def cron_fire(self, queue: str, tick: protocol_cron.CronTick) -> tuple[str, int]:
        """Offer one tick to cron_fire.lua: (fired | decided | missed | overlap | early, ms late)."""
        with self._errors():
            reply = self._run("cron_fire", protocol_cron.cron_fire(self.ns.queue(queue), tick))
        return protocol_cron.parse_cron_fire(reply)

    def cron_trigger(self, queue: str, name: str, job_id: str, envelope: str) -> str:
        """Enqueue one run of entry `name` by hand; returns its stream id."""
        with self._errors():
            call = protocol_cron.cron_trigger(self.ns.queue(queue), name, job_id, envelope)
            return str(self._run("cron_trigger", call))

    def cron_register_queues(self, queues: Sequence[str]) -> None:
        """Record the queues cron entries enqueue into (as every enqueue does), for stats."""
        if queues:
            with self._errors():
                self.client.sadd(self.ns.queues, *queues)
