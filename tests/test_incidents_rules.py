"""The pure incident rules: clustering in a sliding window, the author count, order independence,
chains, merging, the volume rule."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from core.config import parse_config
from core.settings import ConfigError
from triage.clustering import ClusterIndex
from triage.incidents import forms_incident, volume_rise

T0 = datetime(2026, 11, 21, 14, 0, tzinfo=UTC)
rng = np.random.default_rng(7)


def unit(vector):
    return (vector / np.linalg.norm(vector)).astype(np.float32)


def near(center, noise=0.25):
    """A paraphrase: cosine to `center` about 0.85-0.95 in 384 dimensions."""
    return unit(center + noise * unit(rng.standard_normal(384)))


@pytest.fixture
def index():
    return ClusterIndex(timedelta(minutes=30))


def add(index, mention_id, vector, author, at=T0, brand="acme"):
    index.add(mention_id, vector, brand, author, at)
    return index.cluster_of(mention_id)


def test_similar_complaints_from_distinct_authors_share_one_cluster(index):
    outage = unit(rng.standard_normal(384))
    for i in range(4):
        add(index, 100 + i, unit(rng.standard_normal(384)), f"x:other{i}", T0 + timedelta(seconds=i))
    for i in range(8):
        add(index, i, near(outage), f"x:u{i % 4}", T0 + timedelta(minutes=i))
    cluster = index.cluster_of(0)
    assert {index.cluster_of(i).id for i in range(8)} == {cluster.id}
    assert len(cluster.members) == 8 and cluster.author_count == 4  # the same author twice counts once
    assert not forms_incident(cluster, 5) and forms_incident(cluster, 4)
    assert all(index.cluster_of(100 + i) is None for i in range(4))


def test_one_customer_repeating_is_no_cluster(index):
    outage = unit(rng.standard_normal(384))
    assert [add(index, i, near(outage), "x:same") for i in range(6)] == [None] * 6
    assert [add(index, 10 + i, near(outage), f"x:u{i}") for i in range(2)] == [None] * 2
    cluster = add(index, 20, near(outage), "x:u2")  # now each has three other customers near
    assert cluster is not None and cluster.author_count == 4 and len(cluster.members) == 9


@pytest.mark.parametrize("order", [(0, 1, 2, 3, 4), (4, 3, 2, 1, 0), (2, 4, 0, 3, 1)])
def test_the_group_is_the_same_whatever_came_first(order):
    """Five complaints each close to every other: the first to arrive, alone, is taken in once the
    others come, as it would be had it come last."""
    index = ClusterIndex(timedelta(minutes=30))
    outage = unit(rng.standard_normal(384))
    vectors = [near(outage) for _ in range(5)]
    for n, i in enumerate(order):
        add(index, i, vectors[i], f"x:u{i}", T0 + timedelta(seconds=n))
    assert len({index.cluster_of(i).id for i in range(5)}) == 1
    assert index.cluster_of(0).author_count == 5


def orthonormal(count):
    return np.linalg.qr(rng.standard_normal((384, count)))[0].T.astype(np.float32)


def test_a_chain_of_look_alikes_is_no_cluster(index):
    """Each complaint 0.75 to the next, 0.5 to the one after, 0.25 to the third: every one has four
    neighbours, so a neighbour count alone would chain all twelve into one cluster (single link,
    DBSCAN); no group holds them with three neighbours each inside it."""
    basis = orthonormal(15)
    vectors = [unit(basis[i : i + 4].sum(axis=0)) for i in range(12)]
    for i, vector in enumerate(vectors):
        add(index, i, vector, f"x:u{i}", T0 + timedelta(seconds=i))
    assert np.isclose(vectors[5] @ vectors[7], 0.5) and np.isclose(vectors[5] @ vectors[8], 0.25)
    assert all(index.cluster_of(i) is None for i in range(12))


def test_other_brand_and_expired_complaints_do_not_join(index):
    outage = unit(rng.standard_normal(384))
    first = [add(index, i, near(outage), f"x:a{i}") for i in range(4)][-1]
    assert first is not None and first.author_count == 4
    assert [add(index, 10 + i, near(outage), f"x:b{i}", brand="globex") for i in range(3)] == [None] * 3
    later = T0 + timedelta(minutes=40)
    assert add(index, 20, near(outage), "x:c", later) is None  # the window slid past the first four
    assert 0 not in index and 20 in index and first.id not in index.clusters
    assert index.add(21, near(outage), "acme", "x:d", T0) == []  # posted before the window


@pytest.mark.parametrize(("apart", "merged"), [(0.8, True), (0.3, False)])
def test_a_complaint_linking_two_clusters_merges_them_when_their_centroids_agree(apart, merged):
    """Two loose groups (members 0.85 to their centre, 0.72 to each other, 0.58 across when the
    centres are 0.8 apart): separate until a complaint close to both links them; then one cluster
    if their centroids agree, else it joins one and they stay two problems."""
    index = ClusterIndex(timedelta(minutes=30), similarity=0.7, neighbour_similarity=0.65)
    basis = orthonormal(12)
    a, b = basis[0], apart * basis[0] + np.sqrt(1 - apart**2) * basis[1]
    for i in range(5):
        add(index, i, 0.85 * a + np.sqrt(1 - 0.85**2) * basis[2 + i], f"x:a{i}")
        add(index, 10 + i, 0.85 * b + np.sqrt(1 - 0.85**2) * basis[7 + i], f"x:b{i}")
    first, second = index.cluster_of(0), index.cluster_of(10)
    assert first.id != second.id and first.author_count == second.author_count == 5
    bridge = add(index, 20, unit(a + b), "x:c")
    assert bridge is not None
    assert (index.cluster_of(0).id == index.cluster_of(10).id) is merged
    assert bridge.author_count == (11 if merged else 6)


def test_a_cluster_scrolled_past_the_recent_complaints_is_reached_by_its_centroid():
    index = ClusterIndex(timedelta(minutes=30), recent_limit=64)
    outage = unit(rng.standard_normal(384))
    cluster = [add(index, i, near(outage, 0.1), f"x:u{i}") for i in range(5)][-1]
    for n in range(100):  # unrelated traffic pushes the five out of the brand's recent rows
        add(index, 100 + n, unit(rng.standard_normal(384)), f"x:o{n}", T0 + timedelta(seconds=n))
    assert add(index, 999, near(outage, 0.1), "x:late", T0 + timedelta(minutes=2)).id == cluster.id


def test_a_complaint_loaded_with_the_window_reports_its_cluster(index):
    outage = unit(rng.standard_normal(384))
    cluster = [add(index, i, near(outage), f"x:u{i}") for i in range(5)][-1]
    [growth] = index.add(4, near(outage), "acme", "x:u4", T0)
    assert growth.cluster is cluster and growth.mention_ids == (4,)


@pytest.mark.parametrize(
    ("recent", "usual", "expected"),
    [(30, [4, 6, 5, 5], 5.0), (12, [4, 6, 5, 5], None), (9, [0, 0, 0, 0], None), (10, [0, 0, 0, 0], 0.0),
     (50, [], None)],
)  # fmt: skip
def test_volume_rise(recent, usual, expected):
    assert volume_rise(recent, usual, factor=3.0, min_count=10) == expected


def test_incidents_config_is_checked():
    config = parse_config({"incidents": {"window": "10m", "min_authors": 3, "volume": {"enabled": False}}})
    assert config.incidents.window == timedelta(minutes=10) and config.incidents.min_authors == 3
    assert config.incidents.volume.enabled is False and config.incidents.similarity == 0.70
    cases = [({"similarity": 1.5}, "incidents.similarity"), ({"window": "0s"}, "incidents.window"),
             ({"volume": {"factor": "x"}}, "incidents.volume.factor"), ({"colour": 1}, "incidents")]  # fmt: skip
    for bad, key in cases:
        with pytest.raises(ConfigError, match=key):
            parse_config({"incidents": bad})
