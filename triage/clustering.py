"""Incident clustering, pure: which complaints are "the same problem" (triage.incidents decides
when a cluster is an incident).

`ClusterIndex` holds the complaints of a sliding window (event time: the newest `created_at`
seen) and groups them by density, so that neither the order of arrival nor the first complaint
decides:
- two complaints of one brand are neighbours when their cosine is at least `neighbour_similarity`;
- a cluster is a connected group in which every complaint has neighbours from at least
  `min_neighbours` other customers (the group's "k-core": one set whatever the order in which
  its complaints came; each newcomer settles the loose complaints up to two links around it);
  a complaint with that many neighbours among a cluster's members joins it, and a group linked
  to several clusters whose centroids agree (within `similarity`) merges them;
- a complaint within `similarity` of a cluster's centroid joins it too, whether it came after
  the cluster formed or before (a cluster that grows looks back over the recent complaints).
A chain of complaints each like the next, but not like each other, forms no cluster: every
member needs several neighbours inside it. Clusters only grow and merge; members leave when
they slide out of the window.

The cost of one complaint stays flat however many complaints the window holds: neighbours are
sought among the brand's RECENT latest complaints (one matrix-vector product), and clusters
whose members have all scrolled past those are reached through the centroids of the
HOT_CLUSTERS most recently grown clusters.
"""

from collections import Counter, OrderedDict, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from triage.neighbours import DIMENSIONS, MAX_NEIGHBOURS, Entry, Recent

RECENT = 2048
HOT_CLUSTERS = 256

# Calibrated with the shipped encoder on the hand-written TUNING bursts of tests/incident_bursts.py
# and on real traffic, ../shared/data/twcs_5000.csv (bench/bench_incidents.py prints both): eight
# customers telling one outage in their own words are 0.15-0.79 apart pairwise (median about 0.5);
# of real same-brand complaint pairs 3.8% reach 0.45. At 0.40 unrelated complaints of a busy brand
# ("where is my parcel") form groups; at 0.48 most bursts fall apart. `similarity` (centroid) is
# the operator's setting, incidents.similarity.
NEIGHBOUR_SIMILARITY = 0.45
MIN_NEIGHBOURS = 3
SIMILARITY = 0.70


@dataclass(eq=False)
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


@dataclass(frozen=True)
class Growth:
    """A cluster and the complaints that joined it (merged in, or looked back on) in one `add`."""

    cluster: Cluster
    mention_ids: tuple[int, ...]


class ClusterIndex:
    def __init__(
        self,
        window: timedelta,
        similarity: float = SIMILARITY,
        neighbour_similarity: float = NEIGHBOUR_SIMILARITY,
        min_neighbours: int = MIN_NEIGHBOURS,
        recent_limit: int = RECENT,
        hot_limit: int = HOT_CLUSTERS,
    ):
        self.window = window
        self.similarity = similarity
        self.neighbour_similarity = neighbour_similarity
        self.min_neighbours = min_neighbours
        self.recent_limit = recent_limit
        self.watermark: datetime | None = None
        self.clusters: dict[int, Cluster] = {}
        self._entries: dict[int, Entry] = {}
        self._arrivals: deque[int] = deque()  # mention ids in the order added, for expiry
        self._recent: dict[str | None, Recent] = {}
        self._hot: OrderedDict[int, int] = OrderedDict()  # cluster id -> row of _hot_rows, least recent first
        self._hot_rows = np.zeros((hot_limit, DIMENSIONS), dtype=np.float32)
        self._hot_owner = np.full(hot_limit, -1, dtype=np.int64)
        self._free_rows = list(range(hot_limit - 1, -1, -1))
        self._next_id = 1
        self._grown: dict[int, list[int]] = {}  # during one add: cluster id -> mention ids that joined

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, mention_id: int) -> bool:
        return mention_id in self._entries

    def cluster_of(self, mention_id: int) -> Cluster | None:
        entry = self._entries.get(mention_id)
        return None if entry is None or entry.cluster_id is None else self.clusters[entry.cluster_id]

    def add(self, mention_id: int, vector, brand: str | None, author: str, at: datetime) -> list[Growth]:
        """File one complaint. Returns the clusters that grew, the complaint's own first (none when
        it stands alone for now, or is already older than the window). A complaint filed already
        (the window was loaded with it) returns its cluster, if any, as if it had just joined."""
        if mention_id in self._entries:
            cluster = self.cluster_of(mention_id)
            return [] if cluster is None else [Growth(cluster, (mention_id,))]
        if self.watermark is None or at > self.watermark:
            self.watermark = at
            self._expire()
        if at <= self.watermark - self.window:
            return []
        vector = np.asarray(vector, dtype=np.float32)
        recent = self._recent.get(brand) or self._recent.setdefault(brand, Recent(self.recent_limit))
        ids, scores = recent.close_to(vector, self.neighbour_similarity)
        if len(ids) > MAX_NEIGHBOURS:
            keep = np.argpartition(-scores, MAX_NEIGHBOURS)[:MAX_NEIGHBOURS]
            ids, scores = ids[keep], scores[keep]
        slot, pushed = recent.put(mention_id, vector)
        if pushed >= 0:
            self._entries[pushed].slot = -1
        entry = Entry(mention_id, brand, author, at, vector, slot)
        self._entries[mention_id] = entry
        self._arrivals.append(mention_id)
        found = [self._entries[int(i)] for i in ids[np.argsort(-scores)]]  # closest first
        for other in found:
            entry.link(other)

        self._grown = {}
        self._settle(entry, found)
        if entry.cluster_id is None:
            self._attach(entry)
        for cluster_id in list(self._grown):
            if cluster_id in self.clusters:
                self._look_back(self.clusters[cluster_id])
        own = entry.cluster_id
        order = sorted(self._grown, key=lambda cluster_id: cluster_id != own)
        return [Growth(self.clusters[c], tuple(self._grown[c])) for c in order if c in self.clusters]

    def _settle(self, entry: Entry, found: list[Entry]) -> None:
        """The loose complaints near the newcomer that now belong to a dense group: each with
        neighbours from `min_neighbours` other customers among the group and the clustered ones.
        They join the cluster they link to most (merging clusters whose centroids agree), or
        form one."""

        def neighbours(item: Entry) -> list[Entry]:
            # The newcomer counts all it found: the closest may be too full of links to keep one.
            return found if item is entry else [self._entries[i] for i in item.neighbours]

        loose = {entry, *(n for n in found if n.cluster_id is None)}
        for near in list(loose):
            loose.update(n for n in neighbours(near) if n.cluster_id is None)
        while True:
            thin = [item for item in loose if len(
                {n.author for n in neighbours(item) if n in loose or n.cluster_id is not None} - {item.author}
            ) < self.min_neighbours]  # fmt: skip
            if not thin:
                break
            loose.difference_update(thin)
        while loose:
            first = min(loose, key=lambda item: item.mention_id)
            loose.discard(first)
            group, edge = set(), [first]
            while edge:
                item = edge.pop()
                group.add(item)
                for near in neighbours(item):
                    if near in loose:
                        loose.discard(near)
                        edge.append(near)
            self._place(group, neighbours)

    def _place(self, group: set[Entry], neighbours) -> None:
        links = Counter(n.cluster_id for item in group for n in neighbours(item) if n.cluster_id is not None)
        ranked = [self.clusters[c] for c in sorted(links, key=lambda c: (-links[c], c))]
        if not ranked:
            cluster = self._new_cluster(next(iter(group)).brand)
        else:
            cluster = ranked[0]
            agreeing = [other for other in ranked[1:] if float(cluster.centroid @ other.centroid) >= self.similarity]
            if agreeing:
                cluster = self._merge([cluster, *agreeing])
        for item in sorted(group, key=lambda item: (item.at, item.mention_id)):
            self._join(cluster, item)

    def _attach(self, entry: Entry) -> None:
        """A complaint in no dense group joins the cluster whose centroid is closest, if within
        `similarity`."""
        if not self._hot:
            return
        scores = self._hot_rows @ entry.vector
        for row in np.argsort(-scores):
            if scores[row] < self.similarity:
                return
            owner = int(self._hot_owner[row])
            if owner >= 0 and self.clusters[owner].brand == entry.brand:
                self._join(self.clusters[owner], entry)
                return

    def _look_back(self, cluster: Cluster) -> None:
        """Recent complaints that stood alone but are within `similarity` of the grown centroid."""
        ids, _ = self._recent[cluster.brand].close_to(cluster.centroid, self.similarity)
        for mention_id in ids.tolist():
            entry = self._entries[mention_id]
            if entry.cluster_id is None:
                self._join(cluster, entry)

    def _new_cluster(self, brand: str | None) -> Cluster:
        cluster = Cluster(self._next_id, brand, np.zeros(DIMENSIONS, dtype=np.float32))
        self._next_id += 1
        self.clusters[cluster.id] = cluster
        return cluster

    def _merge(self, clusters: list[Cluster]) -> Cluster:
        """Clusters that one dense group links, and whose centroids agree, are one problem: keep
        the one already an incident (else the largest) and move the others' members into it."""
        keep = max(clusters, key=lambda c: (c.incident_id is not None, len(c.members), -c.id))
        for other in clusters:
            if other is keep:
                continue
            for mention_id in list(other.members):
                self._join(keep, self._entries[mention_id])
            self._grown.pop(other.id, None)
            self._drop(other)
        return keep

    def _join(self, cluster: Cluster, entry: Entry) -> None:
        if entry.cluster_id is not None:
            self._leave(self.clusters[entry.cluster_id], entry)
        entry.cluster_id = cluster.id
        cluster.total += entry.vector
        cluster.members[entry.mention_id] = entry.author
        cluster.authors[entry.author] += 1
        cluster.first_seen = min(cluster.first_seen or entry.at, entry.at)
        cluster.last_seen = max(cluster.last_seen or entry.at, entry.at)
        self._grown.setdefault(cluster.id, []).append(entry.mention_id)
        self._heat(cluster)

    def _leave(self, cluster: Cluster, entry: Entry) -> None:
        cluster.total -= entry.vector
        del cluster.members[entry.mention_id]
        cluster.authors[entry.author] -= 1
        if not cluster.authors[entry.author]:
            del cluster.authors[entry.author]
        entry.cluster_id = None

    def _heat(self, cluster: Cluster) -> None:
        row = self._hot.pop(cluster.id, None)
        if row is None:
            # When all rows are taken, the least recently grown cluster gives up its row; it stays
            # findable through its members among the recent complaints.
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
            if entry.slot >= 0:
                self._recent[entry.brand].ids[entry.slot] = -1
            for mention_id in list(entry.neighbours):
                entry.unlink(self._entries[mention_id])
            if entry.cluster_id is None:
                continue
            cluster = self.clusters[entry.cluster_id]
            self._leave(cluster, entry)
            if not cluster.members:
                self._drop(cluster)
            elif cluster.id in self._hot:
                self._hot_rows[self._hot[cluster.id]] = cluster.centroid
