"""The pure incident rules: clustering in a sliding window, the author count, merging, the volume rule."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from core.config import parse_config
from core.settings import ConfigError
from triage.incidents import ClusterIndex, forms_incident, volume_rise

T0 = datetime(2026, 11, 21, 14, 0, tzinfo=UTC)
rng = np.random.default_rng(7)


def unit(vector):
    return (vector / np.linalg.norm(vector)).astype(np.float32)


def near(center, noise=0.25):
    """A paraphrase: cosine to `center` about 0.85-0.95 in 384 dimensions."""
    return unit(center + noise * unit(rng.standard_normal(384)))


@pytest.fixture
def index():
    return ClusterIndex(timedelta(minutes=30), similarity=0.75)


def test_similar_complaints_from_distinct_authors_share_one_cluster(index):
    outage = unit(rng.standard_normal(384))
    for i in range(4):
        index.add(100 + i, unit(rng.standard_normal(384)), "acme", f"x:other{i}", T0 + timedelta(seconds=i))
    clusters = {index.add(i, near(outage), "acme", f"x:u{i % 4}", T0 + timedelta(minutes=i)).id for i in range(8)}
    assert len(clusters) == 1
    cluster = index.cluster_of(0)
    assert len(cluster.members) == 8 and cluster.author_count == 4  # the same author twice counts once
    assert not forms_incident(cluster, 5) and forms_incident(cluster, 4)
    assert all(len(index.cluster_of(100 + i).members) == 1 for i in range(4))


def test_other_brand_and_expired_complaints_do_not_join(index):
    outage = unit(rng.standard_normal(384))
    first = index.add(1, near(outage), "acme", "x:a", T0)
    assert index.add(2, near(outage), "globex", "x:b", T0).id != first.id
    assert index.add(3, near(outage), "acme", "x:c", T0 + timedelta(minutes=40)).id != first.id
    assert 1 not in index and 3 in index  # the window slid past the first
    assert index.add(4, near(outage), "acme", "x:d", T0) is None  # posted before the window


def test_a_complaint_close_to_two_clusters_merges_them():
    index = ClusterIndex(timedelta(minutes=30), similarity=0.6)
    a, b = unit(rng.standard_normal(384)), unit(rng.standard_normal(384))
    index.add(1, a, "acme", "x:a", T0)
    index.add(2, a, "acme", "x:b", T0)
    index.add(3, b, "acme", "x:c", T0)
    index.add(4, b, "acme", "x:d", T0)
    assert index.cluster_of(1).id != index.cluster_of(3).id
    bridge = index.add(5, unit(a + b), "acme", "x:e", T0)  # cosine about 0.7 to each
    assert bridge is not None
    assert index.cluster_of(1).id == index.cluster_of(3).id == bridge.id
    assert bridge.author_count == 5


def test_hot_clusters_beyond_the_limit_stay_findable():
    index = ClusterIndex(timedelta(minutes=30), similarity=0.75, hot_limit=2)
    topics = [unit(rng.standard_normal(384)) for _ in range(4)]
    for n, topic in enumerate(topics):
        index.add(10 * n, topic, "acme", "x:a", T0)
        index.add(10 * n + 1, near(topic, 0.1), "acme", "x:b", T0)
    # topic 0 lost its hot row; its members' buckets still lead to it
    assert index.add(99, near(topics[0], 0.1), "acme", "x:c", T0).id == index.cluster_of(0).id


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
