"""Weighted queues (`-q critical:6 -q default:3 -q bulk:1`): how many entries to ask of each
queue per fetch, so that while all have backlog each gets its share of the slots.

Smooth weighted round robin over slots (as nginx balances upstreams): every slot, each
queue earns its weight in credit, the richest queue takes the slot and pays the total.
Credit carries over between fetches, so shares hold even when each fetch fills one slot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class WeightedShares:
    def __init__(self, weights: Mapping[str, int]) -> None:
        self.weights = dict(weights)
        self.credit = dict.fromkeys(self.weights, 0)

    @property
    def uniform(self) -> bool:
        """All weights equal: plain fetching is already fair, no plan needed."""
        return len(set(self.weights.values())) <= 1

    def plan(self, slots: int, queues: Sequence[str]) -> dict[str, int]:
        """Queue -> entries to ask for, `slots` in all, among `queues` (those not paused)."""
        counts = dict.fromkeys(queues, 0)
        total = sum(self.weights.get(q, 1) for q in queues)
        for _ in range(slots):
            for q in queues:
                self.credit[q] = self.credit.get(q, 0) + self.weights.get(q, 1)
            best = max(queues, key=lambda q: self.credit[q])
            self.credit[best] -= total
            counts[best] += 1
        return {q: n for q, n in counts.items() if n}
