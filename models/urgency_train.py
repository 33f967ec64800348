"""Fitting the urgency heads: ``python -m models train-urgency --data ../shared/data``.

Three linear heads on the urgency embedding of the normalised text (the urgency branch's, trained
first with ``--branch``, ``models.urgency_branch``; else the shipped encoder's), fitted on the
training rows only (the real tweets' ``train`` split and the hand-written training posts,
``models/data/URGENCY.md``); the test sets are never read here:
- ``tier``: softmax over critical, high, normal, low, none; ``harm``: softmax over the harm
  categories; ``critical``: one logit, critical or not. Class weights are balanced, because
  critical posts are rare in real traffic and recognising them is the point. The binary head
  ranks critical posts better than the tier head's P(critical) (cross-validated ROC AUC 0.95
  against a tier head whose P(critical) rarely passes 0.5); the tier head orders the rest.
- C for the tier and harm heads: the lowest on the grid within SLACK of the best 5-fold
  cross-validated macro-F1 (stronger regularisation for text no one anticipated; folds grouped,
  a hand-written post's fold holding its whole industry). For the
  critical head: the C whose out-of-fold probabilities give the best ``critical_at`` score.
- ``critical_at``: a post is critical when P(critical) reaches it, whatever the tier head says.
  Chosen on the out-of-fold probabilities: the threshold with the best F2 on critical (recall
  counts double: a missed emergency costs more than a glance), among those that call at most
  MAX_FALSE_CRITICAL of the posts labelled low or none critical.
- ``evidence_at``: the lower P(critical) at which one of the built-in risk phrases
  (``models.signals``) confirms critical; chosen the same way with the phrases applied, on the
  same out-of-fold probabilities. Without it a phrase raises a post to high, no further.

The heads are written into the artifact beside the others, so the model version changes.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, fbeta_score
from sklearn.model_selection import StratifiedGroupKFold

from models import urgency_branch
from models.adapter import TRAIN_TOKENS
from models.datasets import embed_cached
from models.heads import ARTIFACT_DIR, LinearHead, load_heads
from models.signals import compile_signals, find_signals
from models.text import normalize
from models.urgency_data import HARMS, TIER_LABELS, UrgencySet, concat, read_real, read_written_train
from models.urgency_tier import model_tier

C_GRID = (0.1, 0.3, 1.0, 3.0, 10.0)
SLACK = 0.01
FOLDS = 5
THRESHOLD_GRID = tuple(round(t, 2) for t in np.arange(0.1, 0.91, 0.05))
MAX_FALSE_CRITICAL = 0.02
CRITICAL = TIER_LABELS.index("critical")
CALM = (TIER_LABELS.index("low"), TIER_LABELS.index("none"))


def _model(c: float, seed: int) -> LogisticRegression:
    return LogisticRegression(C=c, class_weight="balanced", max_iter=3000, random_state=seed)


def _out_of_fold(x, y, c: float, seed: int, classes: int, groups: np.ndarray) -> np.ndarray:
    """Probabilities for every row from a model that did not see it, nor any row of its group
    (FOLDS folds; a hand-written post's group is its industry)."""
    proba = np.zeros((len(y), classes), dtype=np.float64)
    folds = StratifiedGroupKFold(FOLDS, shuffle=True, random_state=seed)
    for train_idx, test_idx in folds.split(x, y, groups):
        model = _model(c, seed).fit(x[train_idx], y[train_idx])
        proba[np.ix_(test_idx, model.classes_)] = model.predict_proba(x[test_idx])
    return proba


def choose_c(x, y, seed: int, classes: int, groups: np.ndarray) -> tuple[float, dict, np.ndarray]:
    """The C, its cross-validated macro-F1 per C, and the chosen C's out-of-fold probabilities."""
    runs = {c: _out_of_fold(x, y, c, seed, classes, groups) for c in C_GRID}
    scores = {c: float(f1_score(y, p.argmax(axis=1), average="macro")) for c, p in runs.items()}
    best = max(scores.values())
    chosen = min(c for c, s in scores.items() if s >= best - SLACK)
    return chosen, scores, runs[chosen]


def tiers_from(proba: np.ndarray, critical: np.ndarray, critical_at: float, evidence_at: float,
               phrases: np.ndarray) -> np.ndarray:  # fmt: skip
    """``models.urgency_tier.model_tier`` on each row, as tier indices."""
    rows = ({label: p for label, p in zip(TIER_LABELS, row, strict=True)} for row in proba)
    return np.array([TIER_LABELS.index(model_tier(tiers, float(p), critical_at, evidence_at, bool(phrase)))
                     for tiers, p, phrase in zip(rows, critical, phrases, strict=True)])  # fmt: skip


def _critical_score(y, tiers) -> float | None:
    """F2 on critical, or None when too many calm posts are called critical."""
    calm = np.isin(y, CALM)
    if calm.any() and np.mean(tiers[calm] == CRITICAL) > MAX_FALSE_CRITICAL:
        return None
    return float(fbeta_score(y == CRITICAL, tiers == CRITICAL, beta=2, zero_division=0))


def choose_thresholds(y, proba, critical, phrases) -> tuple[float, float, dict]:
    """``critical_at`` without phrases, then ``evidence_at`` (at most it) with them."""
    none = np.zeros(len(y), dtype=bool)
    alone = {t: _critical_score(y, tiers_from(proba, critical, t, 1.0, none)) for t in THRESHOLD_GRID}
    valid = {t: s for t, s in alone.items() if s is not None}
    critical_at = max(valid, key=lambda t: (valid[t], t)) if valid else max(THRESHOLD_GRID)
    helped = {t: _critical_score(y, tiers_from(proba, critical, critical_at, t, phrases))
              for t in THRESHOLD_GRID if t <= critical_at}  # fmt: skip
    valid = {t: s for t, s in helped.items() if s is not None}
    evidence_at = max(valid, key=lambda t: (valid[t], t)) if valid else critical_at
    scores = {"critical_at_f2": {str(t): s for t, s in alone.items()},
              "evidence_at_f2": {str(t): s for t, s in helped.items()}}  # fmt: skip
    return critical_at, evidence_at, scores


def choose_critical(x, y, tier_proba, phrases, seed: int, groups: np.ndarray) -> tuple[float, float, float, dict]:
    """The critical head's C and both thresholds: the C whose out-of-fold P(critical) scores best."""
    runs = {}
    for c in C_GRID:
        critical = _out_of_fold(x, (y == CRITICAL).astype(int), c, seed, 2, groups)[:, 1]
        critical_at, evidence_at, scores = choose_thresholds(y, tier_proba, critical, phrases)
        best = max((s for s in scores["evidence_at_f2"].values() if s is not None), default=0.0)
        runs[c] = (best, critical_at, evidence_at, scores)
    c = max(runs, key=lambda c: runs[c][0])
    return c, runs[c][1], runs[c][2], {"f2_by_c": {str(k): round(v[0], 4) for k, v in runs.items()}, **runs[c][3]}


def has_phrase(texts: list[str]) -> np.ndarray:
    compiled = compile_signals()
    return np.array([bool(find_signals(t, compiled)) for t in texts])


def training_set(data_dir: Path) -> UrgencySet:
    return concat([read_real(data_dir, "train"), read_written_train()])


def _fitted(x, y, c: float, seed: int, classes) -> LinearHead:
    model = _model(c, seed).fit(x, y)
    if list(model.classes_) != list(range(len(classes))):
        raise ValueError(f"urgency training data lacks some of {classes}")
    return LinearHead(model.coef_.astype(np.float32), model.intercept_.astype(np.float32))


def split_held(data: UrgencySet, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(rows to fit, rows held out): one fold of FOLDS, grouped as the cross-validation is."""
    folds = StratifiedGroupKFold(FOLDS, shuffle=True, random_state=seed)
    return next(folds.split(np.zeros(len(data)), data.tier, data.groups))


def held_out_thresholds(encoder, fitted_rows: UrgencySet, held: UrgencySet, seed: int = 0) -> dict:
    """``critical_at`` and ``evidence_at`` chosen (``choose_thresholds``) on ``held``, rows that neither
    the heads (fitted here on ``fitted_rows``) nor ``encoder``'s adapter saw. When the adapter learned
    from the urgency rows, cross-validated probabilities of those rows are too confident to set
    thresholds for text no one anticipated; these are not."""
    heads, _ = fit(encoder, fitted_rows, seed)
    x = embed_cached(encoder, [normalize(t) for t in held.texts])
    critical_at, evidence_at, scores = choose_thresholds(
        held.tier, heads["tier"].probabilities(x), heads["critical"].probabilities(x), has_phrase(held.texts)
    )
    return {"critical_at": critical_at, "evidence_at": evidence_at, "rows": len(held), "scores": scores}


def fit(encoder, data: UrgencySet, seed: int = 0, thresholds: dict | None = None) -> tuple[dict[str, LinearHead], dict]:
    """The heads on all of ``data``; C by grouped cross-validation, the thresholds too unless
    ``thresholds`` (from ``held_out_thresholds``) are given."""
    x = embed_cached(encoder, [normalize(t) for t in data.texts])
    tier_c, tier_scores, tier_proba = choose_c(x, data.tier, seed, len(TIER_LABELS), data.groups)
    harm_c, harm_scores, _ = choose_c(x, data.harm, seed, len(HARMS), data.groups)
    critical_c, critical_at, evidence_at, threshold_scores = choose_critical(
        x, data.tier, tier_proba, has_phrase(data.texts), seed, data.groups
    )
    heads = {
        "tier": _fitted(x, data.tier, tier_c, seed, TIER_LABELS),
        "harm": _fitted(x, data.harm, harm_c, seed, HARMS),
        "critical": _fitted(x, (data.tier == CRITICAL).astype(int), critical_c, seed, (0, 1)),
    }
    meta = {
        "tier_c": tier_c,
        "tier_c_cv_f1": {str(c): round(s, 4) for c, s in tier_scores.items()},
        "harm_c": harm_c,
        "harm_c_cv_f1": {str(c): round(s, 4) for c, s in harm_scores.items()},
        "critical_c": critical_c,
        "critical_at": critical_at,
        "evidence_at": evidence_at,
        "thresholds_cv": threshold_scores,
        "rows": {"total": len(data), "by_tier": {t: int(np.sum(data.tier == i)) for i, t in enumerate(TIER_LABELS)}},
        "sources": data.source,
        "seed": seed,
    }
    if thresholds:
        meta.update(critical_at=thresholds["critical_at"], evidence_at=thresholds["evidence_at"],
                    thresholds_held_out=thresholds)  # fmt: skip
    return heads, meta


def branched(encoder, data: UrgencySet, seed: int = 0, log=print) -> tuple:
    """A copy of ``encoder`` (without a branch) with an urgency branch trained on ``data``
    (``models.urgency_branch``), and the branch's {"tensors", "meta"}."""
    texts = [normalize(t) for t in data.texts]
    states = urgency_branch.capture(encoder, texts, TRAIN_TOKENS)
    trained = urgency_branch.train(encoder, replace(data, texts=texts), states, embed_cached(encoder, texts),
                                   seed=seed, log=log)  # fmt: skip
    return encoder.copy(branch=False).fork(trained["tensors"]), trained


def train_urgency(data_dir: Path, artifact_dir: Path = ARTIFACT_DIR, encoder=None, seed: int = 0,
                  thresholds: dict | None = None, branch: bool = False, log=print) -> dict:  # fmt: skip
    """Fit the heads on the artifact's own encoder and write them into the artifact. With ``branch``,
    first train an urgency branch: a probe branch and heads on four fifths of the rows set the
    thresholds on the held-out fifth, then the branch and heads are trained on all rows."""
    from models.classifier import build_classifier

    encoder = encoder.copy(branch=False) if encoder and encoder.branch else encoder
    encoder = encoder or build_classifier(artifact_dir, branch=False).encoder
    data, trained = training_set(Path(data_dir)), None
    if branch:
        fitted_rows, held = (data.subset(idx) for idx in split_held(data, seed))
        probe, _ = branched(encoder, fitted_rows, seed, log)
        thresholds = held_out_thresholds(probe.urgency_view(), fitted_rows, held, seed)
        encoder, trained = branched(encoder, data, seed, log)
    heads = load_heads(artifact_dir)
    fitted, meta = fit(encoder.urgency_view(), data, seed, thresholds)
    heads.tier, heads.harm, heads.critical = fitted["tier"], fitted["harm"], fitted["critical"]
    (Path(artifact_dir) / urgency_branch.BRANCH_FILE).unlink(missing_ok=True)
    if trained:
        urgency_branch.save(trained["tensors"], artifact_dir)
        meta["branch"] = trained["meta"]
    heads.meta["urgency"] = meta
    heads.save(artifact_dir)
    return meta
