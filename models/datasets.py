"""Reading the labelled CSV files into one shape, and caching their embeddings outside the repo.

Label mapping for the airline file (it has sentiment, not complaint labels):
- ``negative`` -> complaint 1 (a negative tweet at an airline is nearly always a grievance);
- ``positive`` and ``neutral`` -> complaint 0 (neutral tweets there are mostly questions and
  chit-chat; the few neutral grievances are label noise we accept rather than guess at).
Severity is unknown for airline rows (-1) and is then learned from xfincorp only.
"""

from __future__ import annotations

import csv
import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SENTIMENTS = ("negative", "neutral", "positive")
UNKNOWN = -1


@dataclass
class Labelled:
    texts: list[str]
    complaint: np.ndarray  # 0/1
    severity: np.ndarray  # 0..4, or UNKNOWN
    sentiment: np.ndarray  # index into SENTIMENTS, or UNKNOWN
    source: str = ""
    weights: np.ndarray = field(default=None)  # per-row sample weight; None means 1
    groups: np.ndarray = field(default=None)  # per-row group (an industry); None means the source

    def __post_init__(self):
        if self.weights is None:
            self.weights = np.ones(len(self.texts), dtype=np.float32)
        if self.groups is None:
            self.groups = np.full(len(self.texts), self.source, dtype=object)

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, idx) -> Labelled:
        return Labelled(
            [self.texts[i] for i in idx],
            self.complaint[idx],
            self.severity[idx],
            self.sentiment[idx],
            self.source,
            self.weights[idx],
            self.groups[idx],
        )


def _int_or_unknown(value: str | None) -> int:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return UNKNOWN


def _sentiment_index(value: str | None) -> int:
    value = (value or "").strip().lower()
    return SENTIMENTS.index(value) if value in SENTIMENTS else UNKNOWN


def read_csv(path: str | Path) -> Labelled:
    """Any file with a ``text`` column plus ``is_complaint``/``severity`` and/or a sentiment column.

    Without ``is_complaint``, complaint is derived from ``airline_sentiment`` as documented above.
    """
    with open(path, newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if (r.get("text") or "").strip()]
    if not rows:
        raise ValueError(f"{path}: no rows with a 'text' column")
    columns = rows[0].keys()
    sentiment_col = "sentiment" if "sentiment" in columns else "airline_sentiment"
    sentiment = [_sentiment_index(r.get(sentiment_col)) for r in rows]
    if "is_complaint" in columns:
        complaint = [_int_or_unknown(r["is_complaint"]) for r in rows]
    elif sentiment_col == "airline_sentiment":
        complaint = [UNKNOWN if s == UNKNOWN else int(s == 0) for s in sentiment]
    else:
        raise ValueError(f"{path}: needs an 'is_complaint' or 'airline_sentiment' column")
    severity = [_int_or_unknown(r.get("severity")) for r in rows]
    return Labelled(
        [r["text"] for r in rows],
        np.array(complaint),
        np.array(severity),
        np.array(sentiment),
        Path(path).stem,
    )


def concat(parts: list[Labelled]) -> Labelled:
    return Labelled(
        [t for p in parts for t in p.texts],
        np.concatenate([p.complaint for p in parts]),
        np.concatenate([p.severity for p in parts]),
        np.concatenate([p.sentiment for p in parts]),
        "+".join(p.source for p in parts),
        np.concatenate([p.weights for p in parts]),
        np.concatenate([p.groups for p in parts]),
    )


def read_keyed(labels_path: str | Path, texts_path: str | Path, split: str | None = None) -> Labelled:
    """Rows of ``labels_path`` (``tweet_id,is_complaint,severity``, optionally ``industry`` and
    ``split``; only ``split`` rows when given) with their texts from ``texts_path`` (a CSV with
    ``tweet_id,text``): labels by key, for data whose licence keeps the texts out of the repository."""
    with open(texts_path, newline="", encoding="utf-8") as fh:
        texts = {row["tweet_id"]: row["text"] for row in csv.DictReader(fh)}
    with open(labels_path, newline="", encoding="utf-8") as fh:
        rows = [row for row in csv.DictReader(fh) if split is None or row.get("split") == split]
    missing = [row["tweet_id"] for row in rows if row["tweet_id"] not in texts]
    if missing:
        raise ValueError(f"{texts_path}: no text for tweet_id {', '.join(missing[:5])}")
    source = Path(labels_path).stem + (f"-{split}" if split else "")
    return Labelled(
        [texts[row["tweet_id"]] for row in rows],
        np.array([int(row["is_complaint"]) for row in rows]),
        np.array([int(row["severity"]) for row in rows]),
        np.full(len(rows), UNKNOWN),
        source,
        groups=np.array([row.get("industry") or source for row in rows], dtype=object),
    )


def cache_dir() -> Path:
    # Embeddings of licensed data stay out of the repo; /tmp is cheap to rebuild.
    return Path(
        os.environ.get("EARSHOT_EMBED_CACHE", Path(tempfile.gettempdir()) / "earshot-embed")
    )


def embed_cached(encoder, texts: list[str], batch_size: int = 32) -> np.ndarray:
    """Embed once per (encoder, texts); 20k tweets take minutes on two cores."""
    key = hashlib.sha256(encoder.cache_key.encode())
    for text in texts:
        key.update(text.encode("utf-8", "replace") + b"\0")
    path = cache_dir() / f"{key.hexdigest()[:24]}.npy"
    if path.exists():
        return np.load(path)
    vectors = encoder.encode(texts, batch_size=batch_size)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, vectors)
    tmp.replace(path)
    return vectors


def sample(data: Labelled, n: int, seed: int = 0) -> Labelled:
    """A seeded random subset, in file order (so a cached embedding of it is found again)."""
    if n >= len(data):
        return data
    rng = np.random.default_rng(seed)
    return data.subset(np.sort(rng.choice(len(data), n, replace=False)))
