"""Fitting the heads: ``python -m models train --xfincorp X.csv --airline A.csv [--labels-db URL]``.

Choices, each measured in EVALUATION.md:
- The encoder is adapted first (``models.adapter``: LoRA, rank 8, 600 batches of 16 xfincorp + 16
  airline tweets; complaint and severity losses, and one that keeps the frozen encoder's
  similarities for incident detection; about 8.5 minutes on 2 cores), then the heads below are
  fitted on the adapted embeddings. ``adapter_steps=0`` keeps the frozen encoder.
- Every text is normalised before it is embedded (``models.text``: mentions and links removed),
  here and in the classifier alike: in xfincorp the mere presence of a handle predicts a
  complaint, and every live mention has one.
- The complaint head learns from both datasets, each weighted to the same total, so neither
  industry's vocabulary dominates; its regularisation strength C is chosen by the cross-domain
  score (train on one industry, test on the other), which is what unseen industries look like.
- The complaint threshold is the lowest whose cross-domain macro-F1 is within THRESHOLD_SLACK of
  the best: a missed complaint means a customer met silence, a false one costs an agent a glance,
  so recall is bought while it is nearly free.
- The severity head learns levels 1-4 from xfincorp complaints only (the one source that has
  them), with balanced class weights because level 3 is rare; level 0 means "not a complaint"
  and comes from the complaint head. Its C is the lowest whose 5-fold cross-validated macro-F1
  on those complaints is within SEVERITY_SLACK of the best (the stronger regularisation that
  costs nearly nothing in-domain). Softmax was kept over an ordinal (cumulative-logit) head,
  which fits xfincorp's levels badly (they are not ordered in embedding space: 5-fold macro-F1
  about 0.3 against 0.5), and over an MLP or self-training on airline complaints, neither of
  which helped out of domain. Live, the head's levels pass through the wording cues of
  ``models.severity_cues`` (blame only where the words condemn the brand), which no training
  changes.
- The sentiment head (both datasets) tells praise from questions for ``needs_reply``.
- Agent corrections from the ``labels`` table train the heads, not the adapter (a few dozen rows
  would be drawn hundreds of times each), and count CORRECTION_WEIGHT times a dataset row:
  ``complaint`` '1'/'0' label the complaint head; ``urgency`` 'critical'/'high' mean the agent
  treated it as a grievance (complaint 1); 'normal'/'low' are not used, because a low tier says
  how urgent, not whether it is a complaint (the ``ticket_not_complaint`` button writes a
  ``complaint`` '0' label for that).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold

from models import adapter, urgency_recipe, urgency_train
from models.adapter_batches import UrgencyLoss
from models.complaint_heads import fit_linear
from models.datasets import UNKNOWN, Labelled, concat, embed_cached, read_csv
from models.heads import ARTIFACT_DIR, HEAD_CLASSES, Heads, LinearHead, load_heads
from models.text import NORMALIZATION, normalize
from models.urgency_branch import BRANCH_FILE

C_GRID = (0.03, 0.1, 0.3, 1.0, 3.0)
THRESHOLD_GRID = (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6)
THRESHOLD_SLACK = 0.01
SEVERITY_C_GRID = (0.1, 0.3, 1.0, 3.0)
SEVERITY_SLACK = 0.01
SEVERITY_C = 0.3  # when there are too few rated rows to cross-validate
SEVERITY_FOLDS = 5
SENTIMENT_C = 1.0
CORRECTION_WEIGHT = 3.0
URGENT_TIERS = ("critical", "high")


def complaint_f1(head: LinearHead, x, y, threshold: float = 0.5) -> float:
    predicted = (head.probabilities(x) >= threshold).astype(int)
    return float(f1_score(y, predicted, average="macro"))


def cross_domain_complaint(a_x, a: Labelled, b_x, b: Labelled, c: float, seed=0, threshold=0.5):
    """Macro-F1 of a head trained on one source and tested on the other, both ways."""
    a_head, b_head = (
        fit_linear(a_x, a.complaint, c, seed=seed),
        fit_linear(b_x, b.complaint, c, seed=seed),
    )
    return (
        complaint_f1(a_head, b_x, b.complaint, threshold),
        complaint_f1(b_head, a_x, a.complaint, threshold),
    )


def choose_complaint_c(a_x, a: Labelled, b_x, b: Labelled, seed: int = 0) -> tuple[float, dict]:
    scores = {c: float(np.mean(cross_domain_complaint(a_x, a, b_x, b, c, seed))) for c in C_GRID}
    return max(scores, key=scores.get), scores


def choose_threshold(a_x, a: Labelled, b_x, b: Labelled, c: float, seed: int = 0):
    scores = {
        t: float(np.mean(cross_domain_complaint(a_x, a, b_x, b, c, seed, t)))
        for t in THRESHOLD_GRID
    }
    best = max(scores.values())
    return min(t for t, s in scores.items() if s >= best - THRESHOLD_SLACK), scores


def choose_severity_c(x, severity, seed: int = 0) -> tuple[float, dict]:
    """Lowest C within SEVERITY_SLACK of the best cross-validated macro-F1 on rated rows."""
    rated = severity >= 1
    x, y = x[rated], severity[rated]
    smallest = min(int(np.sum(y == level)) for level in HEAD_CLASSES["severity"])
    folds = min(SEVERITY_FOLDS, smallest)
    if folds < 2:  # too few rows of some level to cross-validate (tiny test data)
        return SEVERITY_C, {}
    splits = list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(x, y))
    scores = {}
    for c in SEVERITY_C_GRID:
        fold_scores = []
        for train_idx, test_idx in splits:
            model = LogisticRegression(
                C=c, class_weight="balanced", max_iter=2000, random_state=seed
            ).fit(x[train_idx], y[train_idx])
            fold_scores.append(f1_score(y[test_idx], model.predict(x[test_idx]), average="macro"))
        scores[c] = float(np.mean(fold_scores))
    best = max(scores.values())
    return min(c for c, s in scores.items() if s >= best - SEVERITY_SLACK), scores


def embed_texts(encoder, texts: list[str]) -> np.ndarray:
    """Embeddings of the normalised texts, cached per dataset."""
    return embed_cached(encoder, [normalize(t) for t in texts])


def balance_sources(parts: list[Labelled]) -> list[Labelled]:
    """Give every dataset the same total weight (corrections keep their own weight)."""
    largest = max(len(p) for p in parts)
    for p in parts:
        p.weights = p.weights * (largest / len(p))
    return parts


def read_corrections(url: str) -> Labelled:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT text, kind, value FROM labels")).all()
    engine.dispose()
    texts, complaint = [], []
    for row_text, kind, value in rows:
        label = _correction_complaint(kind, value)
        if row_text and label is not None:
            texts.append(row_text)
            complaint.append(label)
    n = len(texts)
    unknown = np.full(n, UNKNOWN)
    weights = np.full(n, CORRECTION_WEIGHT, dtype=np.float32)
    return Labelled(
        texts, np.array(complaint, dtype=int), unknown, unknown.copy(), "labels", weights
    )


def _correction_complaint(kind: str, value: str) -> int | None:
    value = (value or "").strip().lower()
    if kind == "complaint" and value in ("0", "1"):
        return int(value)
    if kind == "urgency" and value in URGENT_TIERS:
        return 1
    return None


def fit_heads(
    parts: list[Labelled],
    vectors: list[np.ndarray],
    complaint_c: float,
    seed: int = 0,
    severity_c: float = SEVERITY_C,
):
    data, x = concat(parts), np.vstack(vectors)
    known = data.complaint != UNKNOWN
    complaint = fit_linear(
        x[known], data.complaint[known], complaint_c, data.weights[known], seed=seed
    )
    rated = data.severity >= 1
    severity = fit_linear(
        x[rated], data.severity[rated], severity_c, classes=HEAD_CLASSES["severity"], seed=seed
    )
    felt = data.sentiment != UNKNOWN
    sentiment = fit_linear(
        x[felt], data.sentiment[felt], SENTIMENT_C, data.weights[felt], classes=[0, 1, 2], seed=seed
    )
    return complaint, severity, sentiment


def normalized(data: Labelled) -> Labelled:
    """The same rows with the texts the encoder sees."""
    copy = data.subset(np.arange(len(data)))
    copy.texts = [normalize(t) for t in data.texts]
    return copy


def adapted(encoder, parts: list[Labelled], steps: int, seed: int = 0, urgency=None):
    """A copy of ``encoder`` with an adapter trained on ``parts`` (and the urgency rows, an
    UrgencySet, when given); the passed one is untouched."""
    anchors = [embed_texts(encoder, p.texts) for p in parts]  # the frozen geometry to keep
    if urgency is not None:
        texts = [normalize(t) for t in urgency.texts]
        urgency = UrgencyLoss(replace(urgency, texts=texts), embed_cached(encoder, texts))
    twin = encoder.copy(branch=False)
    return twin, adapter.fine_tune(twin, [normalized(p) for p in parts], anchors, steps, seed, urgency=urgency)


def _held_out_thresholds(encoder, parts, urgency, steps: int, seed: int) -> dict:
    """The urgency thresholds from a probe: the same recipe with a fifth of the urgency rows held out
    of the adapter and the heads, the thresholds chosen on that fifth (``urgency_train``)."""
    fitted_rows, held = (urgency.subset(idx) for idx in urgency_train.split_held(urgency, seed))
    probe, _ = adapted(encoder, parts, steps, seed, fitted_rows)
    return urgency_train.held_out_thresholds(probe, fitted_rows, held, seed)


def train(
    xfincorp,
    airline,
    labels_db=None,
    seed=0,
    out_dir=ARTIFACT_DIR,
    encoder=None,
    adapter_steps: int = adapter.STEPS,
    urgency_data: Path | None = None,
    adapter_urgency: bool = False,
    urgency_branch: bool = True,
) -> Heads:
    """``adapter_urgency``: the adapter also learns the urgency rows (EVALUATION.md: not shipped);
    otherwise, with ``urgency_branch``, the urgency heads read their own last block (``models.urgency_branch``)."""
    from models.encoder import ENCODER_NAME, Encoder

    encoder = encoder.copy(branch=False) if encoder and encoder.branch else encoder or Encoder()
    fin, air = read_csv(xfincorp), read_csv(airline)
    trained, thresholds = None, None
    if adapter_steps:
        urgency = urgency_train.training_set(Path(urgency_data)) if urgency_data and adapter_urgency else None
        if urgency is not None:
            thresholds = _held_out_thresholds(encoder, [fin, air], urgency, adapter_steps, seed)
        encoder, trained = adapted(encoder, [fin, air], adapter_steps, seed, urgency)
    fin_x, air_x = embed_texts(encoder, fin.texts), embed_texts(encoder, air.texts)
    complaint_c, c_scores = choose_complaint_c(fin_x, fin, air_x, air, seed)
    threshold, t_scores = choose_threshold(fin_x, fin, air_x, air, complaint_c, seed)
    severity_c, s_scores = choose_severity_c(fin_x, fin.severity, seed)
    parts, vectors = balance_sources([fin, air]), [fin_x, air_x]
    if labels_db:
        corrections = read_corrections(labels_db)
        if len(corrections):
            parts.append(corrections)
            vectors.append(encoder.encode([normalize(t) for t in corrections.texts]))
    complaint, severity, sentiment = fit_heads(parts, vectors, complaint_c, seed, severity_c)
    meta = {
        "encoder": ENCODER_NAME,
        "dim": int(fin_x.shape[1]),
        "seed": seed,
        "text_normalization": NORMALIZATION,
        "complaint_threshold": threshold,
        "complaint_threshold_cross_domain_f1": {str(t): round(s, 4) for t, s in t_scores.items()},
        "complaint_c": complaint_c,
        "complaint_c_cross_domain_f1": {str(c): round(s, 4) for c, s in c_scores.items()},
        "severity_c": severity_c,
        "severity_c_cv_f1": {str(c): round(s, 4) for c, s in s_scores.items()},
        "sentiment_c": SENTIMENT_C,
        "rows": {p.source: len(p) for p in parts},
        "adapter": trained["meta"] if trained else None,
    }
    heads = Heads(complaint, severity, sentiment, meta)
    heads.save(out_dir)
    (Path(out_dir) / BRANCH_FILE).unlink(missing_ok=True)
    (Path(out_dir) / adapter.ADAPTER_FILE).unlink(missing_ok=True)
    if trained:
        adapter.save(trained["tensors"], out_dir)
    if urgency_data is not None:  # the urgency heads (models.urgency_recipe); a branch unless the adapter has urgency
        urgency_recipe.train_urgency(Path(urgency_data), out_dir, encoder, seed, thresholds,
                                     branch=urgency_branch and not adapter_urgency)  # fmt: skip
    return load_heads(out_dir)
