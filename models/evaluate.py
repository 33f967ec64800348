"""Scores: ``evaluate`` on one labelled file, and ``report`` which regenerates EVALUATION.md."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from sklearn.metrics import confusion_matrix, f1_score
from sklearn.model_selection import train_test_split

from models.datasets import UNKNOWN, Labelled, read_csv, read_keyed, sample

OOD_FILE = Path(__file__).parent / "data" / "ood_tweets.csv"
# Hand labels (complaint, severity) of 157 real customer tweets from twcs_5000.csv, by tweet_id:
# the texts' licence keeps them out of the repo, so they are joined from the shared file.
TWCS_LABELS = Path(__file__).parent / "data" / "twcs_labels.csv"
COMPARE_ROWS = 1500  # per dataset: the larger encoders embed a few texts a second on 2 cores


def confusion_text(y_true, y_pred, labels) -> str:
    matrix = confusion_matrix(y_true, y_pred, labels=labels)
    width = max(6, *(len(str(v)) + 1 for v in matrix.flat))
    lines = ["true\\pred " + "".join(f"{label:>{width}}" for label in labels)]
    for label, row in zip(labels, matrix, strict=True):
        lines.append(f"{label!s:>9} " + "".join(f"{v:>{width}}" for v in row))
    return "\n".join(lines)


def score_block(name: str, y_true, y_pred, labels) -> str:
    f1 = f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)
    return f"{name} macro-F1: {f1:.3f} (n={len(y_true)})\n{confusion_text(y_true, y_pred, labels)}"


def predictions_scores(data: Labelled, predictions) -> list[str]:
    """Complaint and severity blocks for whichever labels the file has."""
    blocks = []
    known = data.complaint != UNKNOWN
    if known.any():
        predicted = np.array([int(p.severity > 0) for p in predictions])
        blocks.append(score_block("complaint", data.complaint[known], predicted[known], [0, 1]))
    rated = data.severity != UNKNOWN
    if rated.any():
        predicted = np.array([p.severity for p in predictions])
        labels = [0, 1, 2, 3, 4]
        blocks.append(score_block("severity", data.severity[rated], predicted[rated], labels))
    return blocks


def evaluate_file(path, classifier, texts_path=None, split=None) -> str:
    data = read_keyed(path, texts_path, split) if texts_path else read_csv(path)
    return "\n\n".join(predictions_scores(data, classifier.predict(data.texts)))


def macro_f1(y_true, y_pred) -> float:
    return float(f1_score(y_true, y_pred, average="macro", zero_division=0))


def texts_per_second(encoder, texts: list[str], batch_size: int) -> float:
    encoder.encode(texts[:batch_size], batch_size)  # warm-up: first call allocates
    start = time.perf_counter()
    encoder.encode(texts, batch_size)
    return len(texts) / (time.perf_counter() - start)


def heads_scores(heads, x, data: Labelled) -> dict:
    from models.classifier import Classifier

    predictions = Classifier(None, heads, "eval").predict_vectors(x, data.texts)
    complaint = np.array([int(p.severity > 0) for p in predictions])
    out = {"complaint": macro_f1(data.complaint, complaint)}
    if (data.severity != UNKNOWN).all():
        out["severity"] = macro_f1(data.severity, [p.severity for p in predictions])
    return out


def severity_scores(heads, x, data: Labelled) -> tuple[float, float]:
    """Severity macro-F1 (0-4) of the severity head alone, and with the wording cues as shipped
    (``models.severity_cues``); the complaint head decides level 0 in both."""
    from models.classifier import Classifier

    complaint = heads.complaint.probabilities(x) >= heads.complaint_threshold
    alone = np.where(complaint, heads.severity.probabilities(x).argmax(axis=1) + 1, 0)
    shipped = [p.severity for p in Classifier(None, heads, "eval").predict_vectors(x, data.texts)]
    return macro_f1(data.severity, alone), macro_f1(data.severity, shipped)


def _split_indices(data: Labelled, strata, seed):
    return train_test_split(np.arange(len(data)), test_size=0.2, stratify=strata, random_state=seed)


def _split(data: Labelled, x, strata, seed):
    train_idx, test_idx = _split_indices(data, strata, seed)
    return data.subset(train_idx), x[train_idx], data.subset(test_idx), x[test_idx]


def training_parts(fin: Labelled, air: Labelled, seed) -> list[Labelled]:
    """The 80% parts ``held_out`` trains on (an adapter for the held-out scores learns from these)."""
    return [
        fin.subset(_split_indices(fin, fin.severity, seed)[0]),
        air.subset(_split_indices(air, air.complaint, seed)[0]),
    ]


def adapted_cross_domain(encoder, source: Labelled, target: Labelled, c, threshold, seed) -> float:
    """Complaint macro-F1 on ``target`` of an adapter and head trained on ``source`` alone
    (one pass over it)."""
    from models.adapter import BATCH_SIZE
    from models.train import adapted, complaint_f1, embed_texts, fit_linear

    steps = -(-len(source) // BATCH_SIZE)
    twin, _ = adapted(encoder, [source], steps, seed)
    head = fit_linear(embed_texts(twin, source.texts), source.complaint, c, seed=seed)
    return complaint_f1(head, embed_texts(twin, target.texts), target.complaint, threshold)


def held_out(fin, fin_x, air, air_x, seed) -> dict:
    """Heads trained on 80% of both files, as shipped; scored on the other 20% of each."""
    from models.heads import Heads
    from models.train import (
        balance_sources,
        choose_complaint_c,
        choose_severity_c,
        choose_threshold,
        fit_heads,
    )

    fin_tr, fin_tr_x, fin_te, fin_te_x = _split(fin, fin_x, fin.severity, seed)
    air_tr, air_tr_x, air_te, air_te_x = _split(air, air_x, air.complaint, seed)
    c, _ = choose_complaint_c(fin_tr_x, fin_tr, air_tr_x, air_tr, seed)
    threshold, _ = choose_threshold(fin_tr_x, fin_tr, air_tr_x, air_tr, c, seed)
    severity_c, _ = choose_severity_c(fin_tr_x, fin_tr.severity, seed)
    parts = balance_sources([fin_tr, air_tr])
    heads = Heads(
        *fit_heads(parts, [fin_tr_x, air_tr_x], c, seed, severity_c),
        {"complaint_threshold": threshold},
    )
    return {
        "xfincorp": heads_scores(heads, fin_te_x, fin_te),
        "xfincorp_severity": severity_scores(heads, fin_te_x, fin_te),  # head alone, with cues
        "airline": heads_scores(heads, air_te_x, air_te),
        "c": c,
        "threshold": threshold,
        "severity_c": severity_c,
        "heads": heads,
    }


def compare_encoders(encoder_dirs, fin, air, seed) -> list[dict]:
    from models.encoder import Encoder
    from models.train import cross_domain_complaint, embed_texts

    fin_s, air_s = sample(fin, COMPARE_ROWS, seed), sample(air, COMPARE_ROWS, seed)
    rows = []
    for name, directory in encoder_dirs:
        encoder = Encoder(directory, threads=2)
        fin_x, air_x = embed_texts(encoder, fin_s.texts), embed_texts(encoder, air_s.texts)
        to_air, to_fin = cross_domain_complaint(fin_x, fin_s, air_x, air_s, 0.3, seed)
        weights = sum(f.stat().st_size for f in Path(directory).glob("*.safetensors"))
        rows.append(
            {
                "encoder": name,
                "dim": encoder.dim,
                "weights_mb": weights / 2**20,
                "xfincorp -> airline": to_air,
                "airline -> xfincorp": to_fin,
                "texts_per_s": texts_per_second(encoder, fin_s.texts[:256], 16),
            }
        )
    return rows
