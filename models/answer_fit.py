"""Fitting the answer head (``models.answer``) on spent test pairs no head trained on (history step 74).

``python -m models fit-answer --data ../shared/data --held-pair 22 ... --held-pair 30 [--write]``

The artifact reads each held pair's real tweets and hand-written posts once, without an answer head
(``read_pairs``). Every row then gets the answer head's probabilities from a head fitted on the
other pairs only (``cross_fitted``), and ``silent_at`` is the one of ``GRID`` with the best real-tweet
tier accuracy among those that leave no more posts needing a reply silent than the artifact does
without the head, on the real tweets and on the hand-written posts each (``choose_silent_at``; a tie
goes to the higher value, the fewer silent); with ``--against`` the shipped version's counts on the same
rows are limits too (``silent_limits``, history step 87). The head written is fitted on all the held rows. Rows
the artifact reads as critical, and critical rows, are not fitted on: the head never decides those.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from models import answer, urgency_data
from models.heads import LinearHead, load_heads
from models.urgency_data import TIER_LABELS
from models.urgency_eval import ticket_tier

GRID = tuple(round(0.5 + 0.05 * step, 2) for step in range(10))  # silent_at candidates, 0.5 to 0.95
C = 1.0  # the logistic regression's inverse regularisation, fixed before any fit (history step 74)
ANSWERED = ("critical", "high", "normal", "low")


@dataclass
class Read:
    """The held rows as the artifact without an answer head reads them."""

    texts: list[str]
    predictions: list  # models.classifier.Prediction
    x: np.ndarray  # (rows, len(answer.FEATURES))
    truth: list[str]
    pair: np.ndarray  # the test pair of each row
    real: np.ndarray  # True for a real tweet, False for a hand-written post
    source: str


def decided(read: Read, decide, answers: list[str] | None = None) -> list[str]:
    """Each row's tier under ``decide`` ("none": no ticket), with ``answers`` as the answer head's
    (None: as read, without one)."""
    out = []
    for i, (text, prediction) in enumerate(zip(read.texts, read.predictions, strict=True)):
        if answers is not None:
            urgency = replace(prediction.urgency, answer=answers[i])
            prediction = replace(prediction, urgency=urgency, needs_reply=answers[i] != "none")
        out.append(ticket_tier(decide, prediction, text))
    return out


def read_pairs(data_dir: Path, artifact_dir: Path, numbers: list[int]) -> Read:
    from models.classifier import build_classifier
    from models.urgency_recipe import held_pair_sets, never_trained_on

    clf = build_classifier(artifact_dir)
    clf.heads.answer = None  # the head reads what the others say without it
    texts, predictions, truth, pair, real, sources = [], [], [], [], [], []
    for number in numbers:
        real_set, written_set = held_pair_sets(data_dir, number)
        both = urgency_data.concat([real_set, written_set])
        never_trained_on(clf.heads.meta.get("urgency", {}).get("sources", ""), both)
        for data, is_real in ((real_set, True), (written_set, False)):
            texts += data.texts
            predictions += clf.predict(data.texts)
            truth += [TIER_LABELS[i] for i in data.tier]
            pair += [number] * len(data)
            real += [is_real] * len(data)
        sources.append(both.source)
    x = np.stack([answer.features(p.urgency.tiers, p.urgency.p_critical, p.complaint, text)
                  for p, text in zip(predictions, texts, strict=True)])  # fmt: skip
    return Read(texts, predictions, x, truth, np.array(pair), np.array(real), "+".join(sources))


def fit(x: np.ndarray, truth: list[str]) -> LinearHead:
    """A multinomial logistic regression, its rows in ``answer.ANSWER_TIERS`` order."""
    model = LogisticRegression(C=C, max_iter=5000).fit(x, truth)
    order = [list(model.classes_).index(tier) for tier in answer.ANSWER_TIERS]
    return LinearHead(model.coef_[order].astype(np.float32), model.intercept_[order].astype(np.float32))


def _fitted_on(read: Read, base: list[str], rows: np.ndarray) -> LinearHead:
    keep = [i for i in np.flatnonzero(rows) if read.truth[i] != "critical" and base[i] != "critical"]
    return fit(read.x[keep], [read.truth[i] for i in keep])


def cross_fitted(read: Read, base: list[str]) -> np.ndarray:
    """Per row, P(tier) in ``ANSWER_TIERS`` order from a head fitted without the row's pair."""
    out = np.zeros((len(read.truth), len(answer.ANSWER_TIERS)))
    for number in np.unique(read.pair):
        held = read.pair == number
        out[held] = _fitted_on(read, base, ~held).probabilities(read.x[held])
    return out


def figures(read: Read, tiers: list[str]) -> dict:
    """Tier accuracy and posts needing a reply left silent, on the real and the hand-written rows."""
    out = {}
    for name, rows in (("real", read.real), ("written", ~read.real)):
        index = np.flatnonzero(rows)
        out[f"{name}_accuracy"] = round(float(np.mean([tiers[i] == read.truth[i] for i in index])), 4)
        out[f"{name}_silent"] = sum(tiers[i] == "none" and read.truth[i] in ANSWERED for i in index)
    return out


def silent_limits(without: dict, against: dict | None = None) -> dict:
    """How many posts needing a reply the head may leave silent, real and hand-written: no more than the
    artifact without the head, nor (``against``, history step 87) than the shipped version."""
    keys = ("real_silent", "written_silent")
    return {key: min(without[key], against[key]) if against else without[key] for key in keys}


def choose_silent_at(read: Read, probabilities: np.ndarray, decide,
                     against: dict | None = None) -> tuple[float | None, dict, dict]:  # fmt: skip
    """``silent_at`` by the module's rule, the figures at each value of ``GRID`` and without the head."""
    without = figures(read, decided(read, decide))
    limits = silent_limits(without, against)
    table = {}
    for silent_at in GRID:
        answers = [answer.answer(dict(zip(answer.ANSWER_TIERS, row, strict=True)), silent_at) for row in probabilities]
        table[silent_at] = figures(read, decided(read, decide, answers))
    allowed = [s for s, f in table.items() if all(f[key] <= limit for key, limit in limits.items())]
    best = max(allowed, key=lambda s: (table[s]["real_accuracy"], s), default=None)
    return best, table, without


def fit_answer(data_dir: Path, artifact_dir: Path, numbers: list[int], decide, write: bool = False,
               against: dict | None = None) -> dict:  # fmt: skip
    """Choose ``silent_at`` and fit the head on held pairs ``numbers``; ``write``: into the artifact;
    ``against``: the shipped version's counts there (``models.held_comparator``)."""
    read = read_pairs(data_dir, artifact_dir, numbers)
    base = decided(read, decide)
    silent_at, table, without = choose_silent_at(read, cross_fitted(read, base), decide, against)
    chosen = {"silent_at": silent_at, "C": C, "held_out": read.source, "rows": len(read.truth),
              "without_head": without, "cross_fitted": {str(s): f for s, f in table.items()}}  # fmt: skip
    chosen = {**chosen, "against": against} if against else chosen
    if silent_at is None:
        return {**chosen, "written": False, "why": "every silent_at leaves more posts needing a reply silent"}
    if write:
        heads = load_heads(artifact_dir)
        heads.answer = _fitted_on(read, base, np.ones(len(read.truth), dtype=bool))
        heads.meta["answer"] = {**chosen, "features": list(answer.FEATURES)}
        heads.save(artifact_dir)
    return {**chosen, "written": write}
