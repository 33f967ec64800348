"""Training urgency into the encoder: the urgency rows' terms in the adapter, the held-out fold that
sets the thresholds (grouped by industry), and thresholds passed through to the artifact's meta."""

import numpy as np
import pytest

from models.urgency_data import TIER_LABELS, read_written_train


@pytest.fixture(scope="module")
def written():
    return read_written_train()


def test_the_held_out_fold_keeps_each_industry_on_one_side(written):
    from models.urgency_train import split_held

    fitted, held = split_held(written, seed=0)
    assert len(held) and len(fitted) and not set(fitted) & set(held)
    assert not set(written.groups[fitted]) & set(written.groups[held])
    assert set(written.tier[held]) == set(range(len(TIER_LABELS)))  # every tier to choose thresholds on


def test_the_adapter_learns_urgency_rows_beside_complaints(written):
    from models.adapter import fine_tune
    from models.adapter_batches import UrgencyLoss
    from models.classifier import load_classifier
    from models.datasets import Labelled

    encoder = load_classifier().encoder.copy(branch=False)
    rows = written.subset(np.arange(0, len(written), 40))
    anchors = encoder.encode(rows.texts)
    complaints = Labelled(texts=rows.texts, complaint=(rows.tier <= 2).astype(int),
                          severity=np.zeros(len(rows), dtype=int), sentiment=np.zeros(len(rows), dtype=int),
                          weights=np.ones(len(rows)), source="written")  # fmt: skip
    urgency = UrgencyLoss(rows, anchors)
    before = [p.detach().clone() for head in urgency.heads for p in head.parameters()]
    trained = fine_tune(encoder, [complaints], [anchors], steps=2, seed=0, log=None, urgency=urgency)
    assert trained["meta"]["urgency_rows"] == {"per_batch": 16, "total": len(rows), "harm_weight": 0.5}
    after = [p.detach() for head in urgency.heads for p in head.parameters()]
    assert any(not np.allclose(a.numpy(), b.numpy()) for a, b in zip(before, after, strict=True))
    assert not np.allclose(encoder.encode(rows.texts[:2]), anchors[:2])


def test_thresholds_from_the_held_out_fold_are_the_ones_shipped(written):
    from models.classifier import load_classifier
    from models.urgency_train import fit

    rows = written.subset(np.arange(0, len(written), 3))
    chosen = {"critical_at": 0.55, "evidence_at": 0.35, "rows": 10, "scores": {}}
    heads, meta = fit(load_classifier().encoder, rows, seed=0, thresholds=chosen)
    assert (meta["critical_at"], meta["evidence_at"]) == (0.55, 0.35)
    assert meta["thresholds_held_out"] is chosen
    assert set(heads) == {"tier", "harm", "critical"}
