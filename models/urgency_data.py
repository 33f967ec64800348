"""The urgency data sets (labelling guide: ``models/data/URGENCY.md``): a tier and a harm
category per post, on real tweets (labelled by key; their texts stay in ``../shared/data``)
and on hand-written posts."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.urgency_tier import CALM

TIER_LABELS = ("critical", "high", "normal", "low", "none")  # "none": nothing to answer
HARMS = ("safety", "vulnerable", "security", "privacy", "money", "stranded", "outage", "legal", "none")
DATA_DIR = Path(__file__).parent / "data"
REAL = DATA_DIR / "urgency_real.csv"
WRITTEN = DATA_DIR / "urgency_written.csv"
# Every hand-written training file (URGENCY.md says who wrote which, and why).
WRITTEN_TRAIN = (WRITTEN, *(DATA_DIR / f"urgency_written_more_{part}.csv" for part in "abcdefghi"))
WRITTEN_TEST = DATA_DIR / "urgency_test_written.csv"
# Test pairs after the first: real split ``test{n}`` and ``urgency_test{n}_written.csv``, n = 2 .. LAST_PAIR.
LAST_PAIR = 38
# Pairs FIRST_FRESH .. LAST_PAIR were committed before any model was scored on them, and a version is
# decided on them together (history step 73): they are never held. Pairs committed after LAST_PAIR (none
# since history step 87) are for a later version and read by nothing until LAST_PAIR moves to them.
FIRST_FRESH = 37
# Pairs 1 .. SPENT_PAIRS were each scored by two versions and tell nothing fresh any more: from history
# step 21 on, their rows are training rows (``spent_pairs``), and only the pairs after them test. Pairs after
# SPENT_PAIRS and before FIRST_FRESH (22 to 36 since history step 87) are spent but trained no version: they
# may choose a next version's thresholds (``--held-pair``, history step 36) and fit its answer head
# (``models.answer_fit``, history step 74).
SPENT_PAIRS = 21
WRITTEN_GROUP = "industry:"  # a hand-written post's cross-validation group: its industry, after this
# Within each calm tier, a hand-written post weighs this many times a real tweet in training (``row_weights``):
# they are mostly calm posts that speak of danger, the false alarms of history steps 23 and 27.
HARD_CALM_WEIGHT = 3.0
# Within the critical tier, a real tweet weighs this many times a hand-written post: real critical tweets
# (outages for everyone, a regulator addressed) are a tenth of the critical rows, and 0-1 of 4 per test
# pair were found while the hand-written ones were (history step 34).
REAL_CRITICAL_WEIGHT = 3.0


def test_split(number: int) -> str:
    """The real tweets' split of test pair ``number``: ``test`` for the first, ``test{n}`` after."""
    return "test" if number == 1 else f"test{number}"


def written_test(number: int) -> Path:
    """The hand-written test file of pair ``number`` (1: the first, ``WRITTEN_TEST``)."""
    return WRITTEN_TEST if number == 1 else DATA_DIR / f"urgency_test{number}_written.csv"


# A second, independent labelling of some test splits' real tweets (``models.urgency_agreement``).
SECOND = DATA_DIR / "urgency_real_second.csv"
_KEY_COLUMN = {"twcs_5000.csv": "tweet_id", "airline_tweets.csv": "tweet_id", "xfincorp.csv": None}


@dataclass
class UrgencySet:
    texts: list[str]
    tier: np.ndarray  # index into TIER_LABELS
    harm: np.ndarray  # index into HARMS
    source: str
    # Rows that must fall in the same cross-validation fold: a hand-written post's industry (so the
    # folds measure industries the heads have not seen), a real tweet alone.
    groups: np.ndarray

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, idx) -> UrgencySet:
        idx = np.asarray(idx, dtype=int)
        return UrgencySet([self.texts[i] for i in idx], self.tier[idx], self.harm[idx], self.source, self.groups[idx])


def _labels(rows: list[dict], where: str) -> tuple[np.ndarray, np.ndarray]:
    tiers, harms = [], []
    for number, row in enumerate(rows, start=2):
        if row["tier"] not in TIER_LABELS or row["harm"] not in HARMS:
            raise ValueError(f"{where}:{number}: tier {row['tier']!r} / harm {row['harm']!r} not in the guide")
        tiers.append(TIER_LABELS.index(row["tier"]))
        harms.append(HARMS.index(row["harm"]))
    return np.array(tiers, dtype=int), np.array(harms, dtype=int)


def read_written(path: Path = WRITTEN) -> UrgencySet:
    """Hand-written posts: ``text,tier,harm,industry``."""
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    tier, harm = _labels(rows, str(path))
    groups = np.array([f"{WRITTEN_GROUP}{row['industry']}" for row in rows])
    return UrgencySet([row["text"] for row in rows], tier, harm, Path(path).stem, groups)


def read_written_train() -> UrgencySet:
    return concat([read_written(path) for path in WRITTEN_TRAIN])


def written_rows(groups: np.ndarray) -> np.ndarray:
    """Which rows are hand-written posts (``read_written``'s groups), not real tweets."""
    return np.char.startswith(np.asarray(groups, dtype=str), WRITTEN_GROUP)


def row_weights(tier: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Per-row training weights: in the calm tiers (``urgency_tier.CALM``), hand-written posts weigh HARD_CALM_WEIGHT
    times real tweets; in the critical tier, real tweets weigh REAL_CRITICAL_WEIGHT times hand-written posts.
    Every tier's rows still average 1, so each tier's total, and so the class balance the heads and the
    branch are trained with, is unchanged."""
    calm, critical, written = [TIER_LABELS.index(t) for t in CALM], TIER_LABELS.index("critical"), written_rows(groups)
    weights = np.where(np.isin(tier, calm) & written, HARD_CALM_WEIGHT, 1.0)
    weights = np.where((tier == critical) & ~written, REAL_CRITICAL_WEIGHT, weights)
    for rows in (tier == index for index in (*calm, critical)):
        weights[rows] /= weights[rows].mean() if rows.any() else 1.0
    return weights


def _texts_by_key(data_dir: Path, file: str) -> dict[str, str]:
    with open(Path(data_dir) / file, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        column = _KEY_COLUMN[file]
        return {(row[column] if column else str(n)): row["text"] for n, row in enumerate(reader)}


def read_real(data_dir: Path, split: str, path: Path = REAL) -> UrgencySet:
    """Real tweets of ``split`` (train, or a test split: test, test2 ... test10): ``file,key,tier,harm,split``,
    texts joined from the files under ``data_dir`` (``../shared/data``)."""
    with open(path, newline="", encoding="utf-8") as fh:
        rows = [row for row in csv.DictReader(fh) if row["split"] == split]
    texts_of = {file: _texts_by_key(data_dir, file) for file in {row["file"] for row in rows}}
    tier, harm = _labels(rows, str(path))
    texts = [texts_of[row["file"]][row["key"]] for row in rows]
    groups = np.array([f"{row['file']}:{row['key']}" for row in rows])
    return UrgencySet(texts, tier, harm, f"real-{split}", groups)


def spent_pairs(data_dir: Path) -> list[UrgencySet]:
    """The real tweets and hand-written posts of pairs 1 .. SPENT_PAIRS, for training."""
    numbers = range(1, SPENT_PAIRS + 1)
    return [*(read_real(data_dir, test_split(n)) for n in numbers), *(read_written(written_test(n)) for n in numbers)]


def concat(parts: list[UrgencySet]) -> UrgencySet:
    return UrgencySet(
        [t for p in parts for t in p.texts],
        np.concatenate([p.tier for p in parts]),
        np.concatenate([p.harm for p in parts]),
        "+".join(p.source for p in parts),
        np.concatenate([p.groups for p in parts]),
    )
