"""What one adapter training batch holds beyond the complaint rows (``models.adapter``): class weights,
and the urgency rows with their loss, for the adapter that also learns urgency (``--adapter-urgency``)."""

from __future__ import annotations

import numpy as np

# With urgency data (``models.urgency_train.training_set``), each batch also holds this many of its
# rows, scored for tier (5 classes), critical or not, and harm (HARM_WEIGHT), classes balanced.
# First measured with an urgency-only adapter trained on top of the shipped one, on a held-out fifth
# of the urgency training rows (grouped by industry; linear heads refitted on the rest): critical
# ROC AUC 0.931 -> 0.964, average precision 0.76 -> 0.90, tier accuracy 0.62 -> 0.70. The joint
# recipe's figures, and what it costs incident detection, are in EVALUATION.md.
URGENCY_ROWS = 16
HARM_WEIGHT = 0.5


def class_weights(labels: np.ndarray, classes: int):
    import torch

    counts = np.bincount(labels, minlength=classes).astype(np.float64)
    counts[counts == 0] = 1.0
    return torch.tensor(len(labels) / (classes * counts), dtype=torch.float32)


class UrgencyLoss:
    """The urgency terms of a batch: ``data`` an UrgencySet (texts normalised), ``anchors`` the frozen
    encoder's embeddings of its texts."""

    def __init__(self, data, anchors: np.ndarray, rows: np.ndarray | None = None):
        import torch

        # ``rows``: per-row weights of the tier and critical terms (``urgency_data.row_weights``); None: all 1
        self.data, self.anchors, self.rows = data, anchors, rows
        self.critical = (data.tier == 0).astype(np.int64)
        self.heads = torch.nn.Linear(anchors.shape[1], 5), torch.nn.Linear(anchors.shape[1], 2), \
            torch.nn.Linear(anchors.shape[1], 9)  # fmt: skip
        self.weights = class_weights(data.tier, 5), class_weights(self.critical, 2), class_weights(data.harm, 9)

    def draw(self, rng) -> np.ndarray:
        return rng.choice(len(self.data), min(URGENCY_ROWS, len(self.data)), replace=False)

    def __call__(self, embedded, chosen):
        import torch
        from torch.nn.functional import cross_entropy

        tier, critical, harm = self.heads
        labels = self.data.tier, self.critical, self.data.harm
        targets = [torch.from_numpy(a[chosen].astype(np.int64)) for a in labels]
        rows = None if self.rows is None else torch.from_numpy(self.rows[chosen].astype(np.float32))
        return (_weighted(tier(embedded), targets[0], self.weights[0], rows)
                + _weighted(critical(embedded), targets[1], self.weights[1], rows)
                + HARM_WEIGHT * cross_entropy(harm(embedded), targets[2], weight=self.weights[2]))  # fmt: skip


def _weighted(logits, targets, weight, rows):
    """Cross-entropy with class weights, and with per-row weights ``rows`` when given: the weighted mean."""
    from torch.nn.functional import cross_entropy

    if rows is None:
        return cross_entropy(logits, targets, weight=weight)
    each = cross_entropy(logits, targets, weight=weight, reduction="none")
    return (each * rows).sum() / (weight[targets] * rows).sum()


def batch(parts, anchors, rows, urgency, rng) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The batch's texts and frozen embeddings: the parts' chosen rows, then any urgency rows (drawn
    only when there is an urgency part, so training without one draws exactly what it always did)."""
    texts = [parts[i].texts[j] for i, chosen in enumerate(rows) for j in chosen]
    frozen = [a[chosen] for a, chosen in zip(anchors, rows, strict=True)]
    extra = urgency.draw(rng) if urgency else np.zeros(0, dtype=int)
    if urgency:
        texts += [urgency.data.texts[j] for j in extra]
        frozen.append(urgency.anchors[extra])
    return texts, np.vstack(frozen), extra


def urgency_meta(urgency) -> dict | None:
    return {"per_batch": URGENCY_ROWS, "total": len(urgency.data), "harm_weight": HARM_WEIGHT} if urgency else None
