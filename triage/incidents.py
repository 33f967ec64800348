"""Incident rules, pure: which complaints are "the same problem", and when a brand's volume is a rise.

`ClusterIndex` holds the complaints of a sliding window (event time: the newest
`created_at` seen) grouped into clusters of similar embeddings. A complaint
joins the cluster whose centroid is closest, if at least `similarity` (cosine),
and clusters it links are merged. The cost of one complaint stays flat however
many complaints the window holds:
- clusters of two or more (few, and the ones that grow into incidents) are
  compared directly, at most HOT_CLUSTERS of them, the most recently active;
- a single complaint is found through random-hyperplane LSH: TABLES tables of
  BITS-bit signatures, so only the complaints sharing a bucket are compared.
"""

from collections import Counter, OrderedDict, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

DIMENSIONS = 384
BITS = 16
TABLES = 32
HOT_CLUSTERS = 256
# A single complaint is a candidate when this close to the newcomer; its cluster is then checked
# by centroid. Looser than `similarity`: a centroid can be closer than any one member.
MEMBER_SLACK = 0.1
# Fixed seed: every worker process draws the same hyperplanes.
_PLANES = np.random.default_rng(20261121).standard_normal((TABLES * BITS, DIMENSIONS)).astype(np.float32)
_WEIGHTS = 1 << np.arange(BITS, dtype=np.int64)


def signatures(vector: np.ndarray) -> list[int]:
    """One bucket key per table: table number in the high bits, the signature in the low ones."""
    bits = (_PLANES @ vector > 0).reshape(TABLES, BITS)
    return [(table << BITS) | int(code) for table, code in enumerate(bits @ _WEIGHTS)]


@dataclass
class Cluster:
    id: int
    brand: str | None
    total: np.ndarray  # sum of the members' vectors; its direction is the centroid
    members: dict[int, str] = field(default_factory=dict)  # mention id -> author key
    authors: Counter = field(default_factory=Counter)
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    incident_id: int | None = None

    @property
    def centroid(self) -> np.ndarray:
        norm = float(np.linalg.norm(self.total))
        return self.total / norm if norm else self.total

    @property
    def author_count(self) -> int:
        return len(self.authors)


@dataclass
class _Entry:
    mention_id: int
    cluster_id: int
    slot: int  # its row in ClusterIndex._vectors
    keys: list[int]
    author: str
    at: datetime


class ClusterIndex:
    def __init__(self, window: timedelta, similarity: float, hot_limit: int = HOT_CLUSTERS):
        self.window = window
        self.similarity = similarity
        self.watermark: datetime | None = None
        self.clusters: dict[int, Cluster] = {}
        self._entries: dict[int, _Entry] = {}
        self._arrivals: deque[int] = deque()  # mention ids in the order added, for expiry
        self._buckets: dict[tuple, set[int]] = {}  # (brand, key) -> slots
        # One row per complaint in the window, so a bucket's complaints are scored in one product.
        self._vectors = np.zeros((1024, DIMENSIONS), dtype=np.float32)
        self._slot_cluster = np.full(1024, -1, dtype=np.int64)  # slot -> cluster id
        self._free_slots: list[int] = list(range(1023, -1, -1))
        self._hot: OrderedDict[int, int] = OrderedDict()  # cluster id -> row of _hot_rows, least recent first
        self._hot_rows = np.zeros((hot_limit, DIMENSIONS), dtype=np.float32)
        self._hot_owner = np.full(hot_limit, -1, dtype=np.int64)
        self._free_rows = list(range(hot_limit - 1, -1, -1))
        self._next_id = 1

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, mention_id: int) -> bool:
        return mention_id in self._entries

    def cluster_of(self, mention_id: int) -> Cluster | None:
        entry = self._entries.get(mention_id)
        return None if entry is None else self.clusters[entry.cluster_id]

    def add(self, mention_id: int, vector, brand: str | None, author: str, at: datetime) -> Cluster | None:
        """File one complaint; its cluster, or None when it is already older than the window."""
        if mention_id in self._entries:
            return self.cluster_of(mention_id)
        if self.watermark is None or at > self.watermark:
            self.watermark = at
            self._expire()
        if at <= self.watermark - self.window:
            return None
        vector = np.asarray(vector, dtype=np.float32)
        keys = signatures(vector)
        matches = self._matches(vector, brand, keys)
        cluster = self._merge(matches) if matches else self._new_cluster(brand, vector.shape)
        entry = _Entry(mention_id, cluster.id, self._take_slot(vector), keys, author, at)
        self._entries[mention_id] = entry
        self._arrivals.append(mention_id)
        for key in keys:
            self._buckets.setdefault((brand, key), set()).add(entry.slot)
        self._join(cluster, entry)
        return cluster

    def _take_slot(self, vector: np.ndarray) -> int:
        if not self._free_slots:
            size = len(self._vectors)
            self._vectors = np.concatenate([self._vectors, np.zeros_like(self._vectors)])
            self._slot_cluster = np.concatenate([self._slot_cluster, np.full(size, -1, dtype=np.int64)])
            self._free_slots = list(range(2 * size - 1, size - 1, -1))
        slot = self._free_slots.pop()
        self._vectors[slot] = vector
        return slot

    def _new_cluster(self, brand: str | None, shape) -> Cluster:
        cluster = Cluster(self._next_id, brand, np.zeros(shape, dtype=np.float32))
        self._next_id += 1
        self.clusters[cluster.id] = cluster
        return cluster

    def _matches(self, vector: np.ndarray, brand: str | None, keys: list[int]) -> list[Cluster]:
        """Clusters of `brand` whose centroid is within `similarity`, closest first."""
        slots: set[int] = set()
        for key in keys:
            slots.update(self._buckets.get((brand, key), ()))
        candidates = set()
        if slots:
            found = np.fromiter(slots, dtype=np.int64, count=len(slots))
            close = found[self._vectors[found] @ vector >= self.similarity - MEMBER_SLACK]
            candidates.update(np.unique(self._slot_cluster[close]).tolist())
        if self._hot:
            rows = np.flatnonzero(self._hot_rows @ vector >= self.similarity)
            candidates.update(int(self._hot_owner[row]) for row in rows if self._hot_owner[row] >= 0)
        scored = []
        for cluster_id in candidates:
            cluster = self.clusters[cluster_id]
            if cluster.brand != brand:
                continue
            score = float(cluster.centroid @ vector)
            if score >= self.similarity:
                scored.append((score, cluster))
        scored.sort(key=lambda pair: -pair[0])
        return [cluster for _, cluster in scored]

    def _merge(self, clusters: list[Cluster]) -> Cluster:
        """One complaint close to several clusters shows they are one problem: keep the one
        already an incident (else the largest) and move the others' members into it."""
        keep = max(clusters, key=lambda c: (c.incident_id is not None, len(c.members), -c.id))
        for other in clusters:
            if other is keep:
                continue
            for mention_id in list(other.members):
                entry = self._entries[mention_id]
                entry.cluster_id = keep.id
                self._join(keep, entry)
            self._drop(other)
        return keep

    def _join(self, cluster: Cluster, entry: _Entry) -> None:
        cluster.total += self._vectors[entry.slot]
        self._slot_cluster[entry.slot] = cluster.id
        cluster.members[entry.mention_id] = entry.author
        cluster.authors[entry.author] += 1
        cluster.first_seen = min(cluster.first_seen or entry.at, entry.at)
        cluster.last_seen = max(cluster.last_seen or entry.at, entry.at)
        if len(cluster.members) > 1:
            self._heat(cluster)

    def _heat(self, cluster: Cluster) -> None:
        row = self._hot.pop(cluster.id, None)
        if row is None:
            # When all rows are taken, the least recently active cluster gives up its row; it
            # stays findable through its members' buckets.
            row = self._free_rows.pop() if self._free_rows else self._hot.popitem(last=False)[1]
        self._hot[cluster.id] = row
        self._hot_rows[row] = cluster.centroid
        self._hot_owner[row] = cluster.id

    def _cool(self, cluster_id: int) -> None:
        row = self._hot.pop(cluster_id, None)
        if row is not None:
            self._hot_rows[row] = 0.0
            self._hot_owner[row] = -1
            self._free_rows.append(row)

    def _drop(self, cluster: Cluster) -> None:
        self._cool(cluster.id)
        del self.clusters[cluster.id]

    def _expire(self) -> None:
        horizon = self.watermark - self.window
        while self._arrivals and self._entries[self._arrivals[0]].at <= horizon:
            entry = self._entries.pop(self._arrivals.popleft())
            cluster = self.clusters[entry.cluster_id]
            for key in entry.keys:
                bucket = self._buckets[(cluster.brand, key)]
                bucket.discard(entry.slot)
                if not bucket:
                    del self._buckets[(cluster.brand, key)]
            cluster.total -= self._vectors[entry.slot]
            self._slot_cluster[entry.slot] = -1
            self._free_slots.append(entry.slot)
            del cluster.members[entry.mention_id]
            cluster.authors[entry.author] -= 1
            if not cluster.authors[entry.author]:
                del cluster.authors[entry.author]
            if not cluster.members:
                self._drop(cluster)
            elif len(cluster.members) == 1:
                self._cool(cluster.id)
            elif cluster.id in self._hot:
                self._hot_rows[self._hot[cluster.id]] = cluster.centroid


def forms_incident(cluster: Cluster, min_authors: int) -> bool:
    return cluster.incident_id is None and cluster.author_count >= min_authors


def volume_rise(recent: int, usual: list[int], factor: float, min_count: int) -> float | None:
    """The usual count when `recent` is a rise over it, else None.

    `usual` holds the counts of the same window in earlier weeks (same hour of
    the week); an empty list means too little history to judge.
    """
    if not usual or recent < min_count:
        return None
    expected = sum(usual) / len(usual)
    return expected if recent >= factor * max(expected, 1.0) else None


def growth(times: list[datetime], now: datetime, span: timedelta) -> int:
    """How many of `times` fall in the last `span` before `now`."""
    return sum(1 for at in times if now - span < at <= now)
