"""Neighbour search for incident clustering (triage.clustering): a complaint's links to the complaints
like it, and each brand's latest complaints held as one matrix, so that a newcomer is scored against
all of them in one matrix-vector product."""

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

DIMENSIONS = 384
# Edges kept per complaint: enough to count its neighbours' customers far past `min_neighbours`;
# a complaint in a large burst has hundreds, and the cluster needs none of them beyond these.
MAX_NEIGHBOURS = 32


@dataclass(eq=False)
class Entry:
    mention_id: int
    brand: str | None
    author: str
    at: datetime
    vector: np.ndarray
    slot: int  # its row in the brand's Recent, while still there
    cluster_id: int | None = None
    neighbours: dict[int, str] = field(default_factory=dict)  # mention id -> author key
    neighbour_authors: Counter = field(default_factory=Counter)  # other customers among them

    def link(self, other: "Entry") -> None:
        """Both ways, or not at all (when either is full), so that expiry unlinks exactly."""
        if len(self.neighbours) < MAX_NEIGHBOURS and len(other.neighbours) < MAX_NEIGHBOURS:
            self._count(other, +1)
            other._count(self, +1)

    def unlink(self, other: "Entry") -> None:
        if other.mention_id in self.neighbours:
            self._count(other, -1)
            other._count(self, -1)

    def _count(self, other: "Entry", sign: int) -> None:
        if sign > 0:
            self.neighbours[other.mention_id] = other.author
        else:
            del self.neighbours[other.mention_id]
        if other.author != self.author:
            self.neighbour_authors[other.author] += sign
            if not self.neighbour_authors[other.author]:
                del self.neighbour_authors[other.author]


class Recent:
    """A brand's latest complaints, one row each, so that a newcomer is scored in one product.
    The rows grow by doubling up to `limit`, then the oldest row is overwritten."""

    def __init__(self, limit: int):
        self.limit = limit
        self.vectors = np.zeros((min(64, limit), DIMENSIONS), dtype=np.float32)
        self.ids = np.full(len(self.vectors), -1, dtype=np.int64)  # -1: empty or expired
        self.used = 0  # rows ever filled, up to the capacity
        self.next = 0

    def put(self, mention_id: int, vector: np.ndarray) -> tuple[int, int]:
        """(its row, the mention id it pushed out or -1)."""
        if self.used == len(self.vectors) < self.limit:  # full, never wrapped: row 0 is the oldest
            size = min(2 * self.used, self.limit)
            self.vectors = np.concatenate([self.vectors, np.zeros((size - self.used, DIMENSIONS), np.float32)])
            self.ids = np.concatenate([self.ids, np.full(size - self.used, -1, dtype=np.int64)])
            self.next = self.used
        slot = self.next
        pushed = int(self.ids[slot])
        self.vectors[slot], self.ids[slot] = vector, mention_id
        self.next = (slot + 1) % len(self.vectors)
        self.used = max(self.used, slot + 1)
        return slot, pushed

    def close_to(self, vector: np.ndarray, similarity: float) -> tuple[np.ndarray, np.ndarray]:
        """(mention ids, cosines) of the complaints held within `similarity` of `vector`."""
        scores = self.vectors[: self.used] @ vector
        found = (scores >= similarity) & (self.ids[: self.used] >= 0)
        return self.ids[: self.used][found], scores[found]
