"""Fitting the urgency heads: ``python -m models train-urgency --data ../shared/data``.

Three linear heads on the urgency embedding of the normalised text (the urgency branch's, trained first
with ``--branch``, ``models.urgency_branch``; else the shipped encoder's), fitted on the training rows
only (the real tweets' ``train`` split, the hand-written training posts, ``models/data/URGENCY.md``,
and the spent test pairs, ``urgency_data.SPENT_PAIRS``); the pairs after those are never read here:
- ``tier``: softmax over the tiers; ``harm``: over the harm categories; ``critical``: one logit. Class
  weights balanced (critical posts are rare and the point); hand-written calm posts weigh more within
  their tier (``urgency_data.row_weights``). The binary head ranks critical posts better than the
  tier head's P(critical) (ROC AUC 0.95); the tier head orders the rest.
- C for the tier and harm heads: the lowest on the grid within SLACK of the best 5-fold cross-validated
  macro-F1 (folds grouped, a hand-written post's fold holding its whole industry). For the critical
  head: the C whose out-of-fold probabilities give the best ``critical_at`` score.
- ``critical_at``: a post is critical when P(critical) reaches it, whatever the tier head says.
  Chosen on the out-of-fold probabilities (``_critical_rank``, history step 34): recall is a floor and
  calm posts called critical the thing to minimise, as the ship rule weighs them; then F2. On held pairs
  ``--against`` the shipped artifact, the real critical posts it finds there come between the two
  (``real_floor``, ``models.held_comparator``, history step 87).
- ``calm_at``: chosen with ``critical_at``, as a pair: where the tier head's P(low) + P(none) reaches it,
  the critical head alone does not make a post critical (``models.urgency_tier``). None: no gate.
- ``evidence_at``: the lower P(critical) at which one of the built-in risk phrases (``models.signals``)
  confirms critical; chosen the same way with the phrases applied. Else a phrase raises to high.
- With the urgency branch, all three are chosen on probabilities from probe branches that did not
  see the rows (``models.urgency_recipe``), not on the heads' cross-validation; so is the passage
  gate (``models.passages.choose_gate``), from the same probes reading those rows' sentences alone.

The heads are written into the artifact beside the others, so the model version changes.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, fbeta_score
from sklearn.model_selection import StratifiedGroupKFold

from models import urgency_branch, urgency_data
from models.adapter import TRAIN_TOKENS
from models.datasets import embed_cached
from models.heads import LinearHead
from models.signals import compile_signals, find_signals
from models.text import normalize
from models.urgency_data import HARMS, TIER_LABELS, UrgencySet, concat, read_real, read_written_train, spent_pairs
from models.urgency_tier import CALM as CALM_TIERS
from models.urgency_tier import model_tier

C_GRID = (0.1, 0.3, 1.0, 3.0, 10.0)
SLACK = 0.01
FOLDS = 5
THRESHOLD_GRID = tuple(round(t, 2) for t in np.arange(0.1, 0.91, 0.05))
CALM_GRID = (None, 0.6, 0.5, 0.4, 0.3)  # None: the tier head never overrules the critical head
MAX_FALSE_CRITICAL = 0.02  # of all calm posts: beyond it, a pair ranks below every pair within it
RECALL_FLOOR = 0.93  # of the hand-written critical posts: the ship rule's 0.90 and a margin (step 34)
CRITICAL = TIER_LABELS.index("critical")
CALM = tuple(TIER_LABELS.index(tier) for tier in CALM_TIERS)


def _model(c: float, seed: int) -> LogisticRegression:
    return LogisticRegression(C=c, class_weight="balanced", max_iter=3000, random_state=seed)


def _out_of_fold(x, y, c: float, seed: int, classes: int, groups: np.ndarray, weights=None) -> np.ndarray:
    """Probabilities for every row from a model that did not see it, nor any row of its group
    (FOLDS folds; a hand-written post's group is its industry); ``weights``: per row, else all 1."""
    proba, weights = np.zeros((len(y), classes), dtype=np.float64), np.ones(len(y)) if weights is None else weights
    folds = StratifiedGroupKFold(FOLDS, shuffle=True, random_state=seed)
    for train_idx, test_idx in folds.split(x, y, groups):
        model = _model(c, seed).fit(x[train_idx], y[train_idx], sample_weight=weights[train_idx])
        proba[np.ix_(test_idx, model.classes_)] = model.predict_proba(x[test_idx])
    return proba


def choose_c(x, y, seed: int, classes: int, groups: np.ndarray, weights=None) -> tuple[float, dict, np.ndarray]:
    """The C, its cross-validated macro-F1 per C, and the chosen C's out-of-fold probabilities."""
    runs = {c: _out_of_fold(x, y, c, seed, classes, groups, weights) for c in C_GRID}
    scores = {c: float(f1_score(y, p.argmax(axis=1), average="macro")) for c, p in runs.items()}
    best = max(scores.values())
    chosen = min(c for c, s in scores.items() if s >= best - SLACK)
    return chosen, scores, runs[chosen]


def tiers_from(proba: np.ndarray, critical: np.ndarray, critical_at: float, evidence_at: float,
               phrases: np.ndarray, calm_at: float | None = None) -> np.ndarray:  # fmt: skip
    """``models.urgency_tier.model_tier`` on each row, as tier indices."""
    rows = ({label: p for label, p in zip(TIER_LABELS, row, strict=True)} for row in proba)
    return np.array([TIER_LABELS.index(model_tier(tiers, float(p), critical_at, evidence_at, bool(phrase), calm_at))
                     for tiers, p, phrase in zip(rows, critical, phrases, strict=True)])  # fmt: skip


def _critical_rank(y, tiers, written, real_floor: int | None = None) -> tuple:
    """How good a choice of thresholds is, as a tuple to maximise (history step 34): within MAX_FALSE_CRITICAL
    of the calm posts called critical; then the share of the hand-written critical posts found (of all
    critical posts where none is hand-written) up to RECALL_FLOOR; with ``real_floor`` (history step 87),
    then the real critical posts found, up to that many; then the fewest calm posts called critical,
    hand-written and real; then F2 on critical."""
    calm, f2 = np.isin(y, CALM), float(fbeta_score(y == CRITICAL, tiers == CRITICAL, beta=2, zero_division=0))
    false_alarms = int(np.sum(tiers[calm] == CRITICAL))
    critical = (y == CRITICAL) & written if (written & (y == CRITICAL)).any() else y == CRITICAL
    found = float(np.mean(tiers[critical] == CRITICAL)) if critical.any() else 1.0
    within = not calm.any() or false_alarms <= MAX_FALSE_CRITICAL * calm.sum()
    real_found = int(np.sum((tiers == CRITICAL) & (y == CRITICAL) & ~written))
    real = () if real_floor is None else (min(real_found, real_floor),)
    return (int(within), round(min(found, RECALL_FLOOR), 6), *real, -false_alarms, round(f2, 6))


def _gate_order(calm_at: float | None) -> float:
    return 2.0 if calm_at is None else calm_at  # on ties, the gate that overrules least


def choose_thresholds(y, proba, critical, phrases, written=None, real_floor: int | None = None) -> dict:
    """``critical_at`` and ``calm_at`` (``models.urgency_tier``) without phrases: the pair that ranks highest
    (``_critical_rank``; ``written``: which rows are hand-written; ``real_floor``: how many real critical
    posts to find before fewer false alarms count) (ties: the higher threshold, then the gate that
    overrules least); then ``evidence_at`` (at most ``critical_at``) with the phrases, the same way.
    Returns the three and the ranks behind them."""
    none = np.zeros(len(y), dtype=bool)
    written = none if written is None else np.asarray(written, dtype=bool)
    alone = {(t, u): _critical_rank(y, tiers_from(proba, critical, t, 1.0, none, u), written, real_floor)
             for u in CALM_GRID for t in THRESHOLD_GRID}  # fmt: skip
    critical_at, calm_at = max(alone, key=lambda k: (alone[k], k[0], _gate_order(k[1])))
    helped = {t: _critical_rank(y, tiers_from(proba, critical, critical_at, t, phrases, calm_at), written, real_floor)
              for t in THRESHOLD_GRID if t <= critical_at}  # fmt: skip
    evidence_at = max(helped, key=lambda t: (helped[t], t))
    scores = {"critical_at_rank": {f"{t}/{u}": list(r) for (t, u), r in alone.items()},
              "evidence_at_rank": {str(t): list(r) for t, r in helped.items()}}  # fmt: skip
    return {"critical_at": critical_at, "evidence_at": evidence_at, "calm_at": calm_at, "scores": scores,
            "rank": list(helped[evidence_at])}  # fmt: skip


def choose_critical(x, y, tier_proba, phrases, seed: int, groups: np.ndarray, weights=None) -> tuple[float, dict]:
    """The critical head's C and the thresholds (``choose_thresholds``) of the C whose out-of-fold
    P(critical) ranks highest."""
    runs = {}
    for c in C_GRID:
        critical = _out_of_fold(x, (y == CRITICAL).astype(int), c, seed, 2, groups, weights)[:, 1]
        runs[c] = choose_thresholds(y, tier_proba, critical, phrases, urgency_data.written_rows(groups))
    c = max(runs, key=lambda c: tuple(runs[c]["rank"]))
    return c, {**runs[c], "scores": {"rank_by_c": {str(k): v["rank"] for k, v in runs.items()}, **runs[c]["scores"]}}


def has_phrase(texts: list[str]) -> np.ndarray:
    compiled = compile_signals()
    return np.array([bool(find_signals(t, compiled)) for t in texts])


def training_set(data_dir: Path) -> UrgencySet:
    return concat([read_real(data_dir, "train"), read_written_train(), *spent_pairs(data_dir)])


def _fitted(x, y, c: float, seed: int, classes, weights=None) -> LinearHead:
    model = _model(c, seed).fit(x, y, sample_weight=weights)
    if list(model.classes_) != list(range(len(classes))):
        raise ValueError(f"urgency training data lacks some of {classes}")
    return LinearHead(model.coef_.astype(np.float32), model.intercept_.astype(np.float32))


def split_held(data: UrgencySet, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(rows to fit, rows held out): one fold of FOLDS, grouped as the cross-validation is."""
    folds = StratifiedGroupKFold(FOLDS, shuffle=True, random_state=seed)
    return next(folds.split(np.zeros(len(data)), data.tier, data.groups))


def held_out_thresholds(encoder, fitted_rows: UrgencySet, held: UrgencySet, seed: int = 0) -> dict:
    """``critical_at`` and ``evidence_at`` chosen (``choose_thresholds``) on ``held``, rows that neither
    the heads (fitted here on ``fitted_rows``) nor ``encoder``'s adapter saw (cross-validated
    probabilities of rows the adapter learned from are too confident to set thresholds)."""
    heads, _ = fit(encoder, fitted_rows, seed)
    x = embed_cached(encoder, [normalize(t) for t in held.texts])
    chosen = choose_thresholds(held.tier, heads["tier"].probabilities(x), heads["critical"].probabilities(x),
                               has_phrase(held.texts), urgency_data.written_rows(held.groups))  # fmt: skip
    return {**chosen, "rows": len(held)}


def fit(encoder, data: UrgencySet, seed: int = 0, thresholds: dict | None = None) -> tuple[dict[str, LinearHead], dict]:
    """The heads on all of ``data``; C by grouped cross-validation, the thresholds too unless given. The
    tier and critical heads weigh rows by ``urgency_data.row_weights``."""
    x = embed_cached(encoder, [normalize(t) for t in data.texts])
    weights = urgency_data.row_weights(data.tier, data.groups)
    tier_c, tier_scores, tier_proba = choose_c(x, data.tier, seed, len(TIER_LABELS), data.groups, weights)
    harm_c, harm_scores, _ = choose_c(x, data.harm, seed, len(HARMS), data.groups)
    critical_c, chosen = choose_critical(x, data.tier, tier_proba, has_phrase(data.texts), seed, data.groups, weights)
    heads = {
        "tier": _fitted(x, data.tier, tier_c, seed, TIER_LABELS, weights),
        "harm": _fitted(x, data.harm, harm_c, seed, HARMS),
        "critical": _fitted(x, (data.tier == CRITICAL).astype(int), critical_c, seed, (0, 1), weights),
    }
    meta = {
        "tier_c": tier_c,
        "tier_c_cv_f1": {str(c): round(s, 4) for c, s in tier_scores.items()},
        "harm_c": harm_c,
        "harm_c_cv_f1": {str(c): round(s, 4) for c, s in harm_scores.items()},
        "critical_c": critical_c,
        "critical_at": chosen["critical_at"],
        "evidence_at": chosen["evidence_at"],
        "calm_at": chosen["calm_at"],
        "thresholds_cv": chosen["scores"],
        "rows": {"total": len(data), "by_tier": {t: int(np.sum(data.tier == i)) for i, t in enumerate(TIER_LABELS)}},
        "sources": data.source,
        "seed": seed,
    }
    if thresholds:
        meta.update(critical_at=thresholds["critical_at"], evidence_at=thresholds["evidence_at"],
                    calm_at=thresholds.get("calm_at"), passages=thresholds.get("passages"),
                    thresholds_held_out=thresholds)  # fmt: skip
    return heads, meta


def branched(encoder, data: UrgencySet, seed: int = 0, log=print, states: list | None = None,
             steps: int = urgency_branch.STEPS) -> tuple:  # fmt: skip
    """A copy of ``encoder`` (without a branch) with an urgency branch trained on ``data``
    (``models.urgency_branch``), and the branch's {"tensors", "meta"}; ``states``: the rows' captured
    inputs of the last block, when already captured."""
    texts = [normalize(t) for t in data.texts]
    states = states if states is not None else urgency_branch.capture(encoder, texts, TRAIN_TOKENS)
    trained = urgency_branch.train(encoder, replace(data, texts=texts), states, embed_cached(encoder, texts),
                                   steps=steps, seed=seed, log=log)  # fmt: skip
    return encoder.copy(branch=False).fork(trained["tensors"], trained["meta"]["precision"]), trained
