"""The incident check's cost per mention with 1,000 and with 100,000 mentions in the window.

Synthetic: random unit vectors (384-d, like the encoder's) with a few clusters of paraphrases
mixed in, at a steady rate, so every new mention also slides the window past an old one. It
times triage.incidents.ClusterIndex.add, the part whose cost could grow with the window; the
database work around it is per incident member, not per mention in the window.
"""

import time
from datetime import UTC, datetime, timedelta

import numpy as np

from triage.incidents import DIMENSIONS, ClusterIndex

WINDOW = timedelta(minutes=30)
SIZES = (1_000, 100_000)
MEASURED = 3_000
TOPICS = 5
TOPIC_SHARE = 0.05  # of the traffic: paraphrases of a few problems
T0 = datetime(2026, 11, 21, 14, 0, tzinfo=UTC)


def _vectors(rng, count: int, topics: np.ndarray) -> np.ndarray:
    vectors = rng.standard_normal((count, DIMENSIONS)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    chosen = rng.random(count) < TOPIC_SHARE
    picks = rng.integers(0, len(topics), count)
    vectors[chosen] = topics[picks[chosen]] + 0.4 * vectors[chosen]  # cosine about 0.93 to the topic
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def measure(size: int, seed: int = 1) -> tuple[float, int]:
    """(ms per mention, clusters of five or more) once `size` mentions fill the window."""
    rng = np.random.default_rng(seed)
    topics = rng.standard_normal((TOPICS, DIMENSIONS)).astype(np.float32)
    topics /= np.linalg.norm(topics, axis=1, keepdims=True)
    step = WINDOW / size  # steady state: one mention in, about one out
    index = ClusterIndex(WINDOW, similarity=0.75)
    for n, vector in enumerate(_vectors(rng, size, topics)):
        index.add(n, vector, "acme", f"x:{n}", T0 + n * step)
    batch = _vectors(rng, MEASURED, topics)
    started = time.perf_counter()
    for n, vector in enumerate(batch, start=size):
        index.add(n, vector, "acme", f"x:{n}", T0 + n * step)
    elapsed = time.perf_counter() - started
    large = sum(1 for cluster in index.clusters.values() if cluster.author_count >= 5)
    return elapsed / MEASURED * 1000, large


def run() -> None:
    results = {}
    for size in SIZES:
        ms, large = measure(size)
        results[size] = ms
        print(f"incident check, {size:>7,} mentions in the window: {ms:.3f} ms/mention "
              f"({large} clusters of 5+ authors)", flush=True)  # fmt: skip
    small, big = results[SIZES[0]], results[SIZES[-1]]
    print(f"incident check ratio {SIZES[-1]:,} / {SIZES[0]:,} in the window: {big / small:.2f}x (target: within 2x)")


if __name__ == "__main__":
    run()
