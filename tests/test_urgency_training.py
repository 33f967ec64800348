"""Training urgency into the encoder: the urgency rows' terms in the adapter, the held-out fold that
sets the thresholds (grouped by industry), and thresholds passed through to the artifact's meta."""

import json

import numpy as np
import pytest

from models import passages
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


def _rows(n_critical, n_calm, n_other, seed=0):
    """Labels and head outputs where some calm posts fool the critical head but not the tier head."""
    rng = np.random.default_rng(seed)
    y = np.array([0] * n_critical + [4] * n_calm + [2] * n_other)
    critical = np.where(y == 0, rng.uniform(0.3, 1.0, len(y)), rng.uniform(0.0, 0.2, len(y)))
    fooled = np.flatnonzero(y == 4)[: n_calm // 5]
    critical[fooled] = rng.uniform(0.3, 1.0, len(fooled))
    tier = np.full((len(y), len(TIER_LABELS)), 0.05)
    tier[y == 0, 1], tier[y == 2, 2], tier[y == 4, 4] = 0.8, 0.8, 0.8  # the tier head reads the calm ones as calm
    return y, tier, critical


def test_thresholds_choose_the_gate_when_calm_posts_fool_the_critical_head():
    from models.urgency_train import choose_thresholds

    y, tier, critical = _rows(60, 100, 200)
    chosen = choose_thresholds(y, tier, critical, np.zeros(len(y), dtype=bool))
    assert chosen["calm_at"] is not None and chosen["calm_at"] <= 0.8
    assert chosen["critical_at"] <= 0.3  # every critical post, since the gate keeps the calm ones out
    tier[y == 4, 4], tier[y == 4, 1] = 0.05, 0.8  # now the tier head is fooled too: no gate helps
    chosen = choose_thresholds(y, tier, critical, np.zeros(len(y), dtype=bool))
    assert chosen["calm_at"] is None and chosen["critical_at"] > 0.3


def test_the_recall_floor_comes_first_then_the_fewest_calm_posts_called_critical_then_f2():
    from models.urgency_train import CRITICAL, MAX_FALSE_CRITICAL, RECALL_FLOOR, choose_thresholds, tiers_from

    y, tier, _ = _rows(60, 1000, 200)
    tier[y == 4, 4], tier[y == 4, 1] = 0.05, 0.8  # no gate helps
    critical = np.where(y == 0, 0.9, 0.1)
    critical[np.flatnonzero(y == 0)[:10]] = 0.6  # above 0.6 only 50 of 60 are found: under the floor
    calm = np.flatnonzero(y == 4)
    critical[calm[:5]], critical[calm[5:15]] = 0.95, 0.6  # 5 hand-written calm posts always called, 10 more at 0.6
    written, none = np.zeros(len(y), dtype=bool), np.zeros(len(y), dtype=bool)
    written[y == 0], written[calm[:100]] = True, True
    assert 50 / 60 < RECALL_FLOOR <= 57 / 60 and 15 <= MAX_FALSE_CRITICAL * 1000
    chosen = choose_thresholds(y, tier, critical, none, written)
    assert chosen["critical_at"] == 0.6  # the floor first: all 60 found, at the cost of 15 calm posts
    critical[np.flatnonzero(y == 0)[3:10]] = 0.9  # now 57 of 60 are found above 0.6: 5 calm posts, not 15
    chosen = choose_thresholds(y, tier, critical, none, written)
    assert chosen["critical_at"] == 0.9  # over the floor, every threshold to 0.9 calls 5: ties go to the higher
    tiers = tiers_from(tier, critical, chosen["critical_at"], chosen["evidence_at"], none, chosen["calm_at"])
    assert np.sum(tiers[y == 4] == CRITICAL) == 5 and chosen["rank"][2] == -5
    critical[np.flatnonzero(y == 0)[:10]] = 0.6
    critical[calm[5:25]] = 0.95  # 25 calm posts at any threshold: over the limit everywhere, recall decides again
    assert choose_thresholds(y, tier, critical, none, written)["critical_at"] == 0.6


def test_a_real_floor_finds_the_shipped_versions_real_critical_posts_before_fewer_false_alarms():
    """History step 87: on held pairs, as many real critical posts as the shipped version found there come
    before fewer calm posts called critical."""
    from models.urgency_train import choose_thresholds

    y, tier, _ = _rows(65, 1000, 200)
    tier[y == 4, 4], tier[y == 4, 1] = 0.05, 0.8  # no gate helps
    critical = np.where(y == 0, 0.9, 0.1)
    real_critical = np.flatnonzero(y == 0)[60:]
    critical[real_critical] = 0.35  # five real critical posts the head rates low
    critical[np.flatnonzero(y == 4)[:10]] = 0.4  # ten calm posts rated above them
    written, none = y == 0, np.zeros(len(y), dtype=bool)
    written[real_critical] = False
    assert choose_thresholds(y, tier, critical, none, written)["critical_at"] == 0.9  # hand-written all found
    chosen = choose_thresholds(y, tier, critical, none, written, real_floor=3)
    assert chosen["critical_at"] == 0.35 and chosen["rank"][2] == 3  # the floor, at the cost of ten calm posts
    assert choose_thresholds(y, tier, critical, none, written, real_floor=0)["critical_at"] == 0.9


def test_the_shipped_versions_counts_on_held_pairs_are_those_the_report_gives():
    from pathlib import Path

    from models import urgency_eval
    from models.classifier import load_classifier
    from models.heads import ARTIFACT_DIR
    from models.held_comparator import counts, on_held
    from models.urgency_data import read_real, read_written, test_split, written_test
    from triage.urgency import decide

    assert counts(["critical", "critical", "low", "none"], ["critical", "high", "none", "none"]) == (1, 1)
    data = Path(__file__).resolve().parents[2] / "shared" / "data"
    with pytest.raises(ValueError, match="among the training rows"):  # the shipped version trained on pair 2
        on_held(data, ARTIFACT_DIR, [2], decide)
    got = on_held(data, ARTIFACT_DIR, [30], decide)
    clf = load_classifier()
    real, written = read_real(data, test_split(30)), read_written(written_test(30))
    real_scores = urgency_eval.scores(real, urgency_eval.decided_tiers(clf, real.texts, decide))
    written_scores = urgency_eval.scores(written, urgency_eval.decided_tiers(clf, written.texts, decide))
    assert (got["pairs"], got["version"]) == ([30], clf.model_version)
    assert got["real_critical_found"] == sum(found for found, _ in real_scores["per_harm"].values())
    assert (got["real_silent"], got["written_silent"]) == \
        (real_scores["answerable_left_silent"], written_scores["answerable_left_silent"])  # fmt: skip


def test_cross_fitted_thresholds_come_from_probes_that_never_saw_the_row(written, monkeypatch, tmp_path, capsys):
    from models import urgency_recipe, urgency_train
    from models.__main__ import main
    from models.classifier import load_classifier
    from models.text import normalize
    from models.urgency_branch import capture

    rows = written.subset(np.arange(0, len(written), 6))
    seen = []
    real_fit = urgency_train.fit
    monkeypatch.setattr(urgency_train, "fit", lambda enc, data, seed=0: seen.append(set(data.texts))
                        or real_fit(enc, data, seed))  # fmt: skip
    encoder = load_classifier().encoder.copy(branch=False)
    states = capture(encoder, [normalize(t) for t in rows.texts], tokens=64)
    kept = tmp_path / "probes.npz"
    chosen = urgency_recipe.cross_fitted_thresholds(encoder, rows, states, log=None, steps=2, keep=kept)
    assert len(seen) == urgency_train.FOLDS and chosen["folds"] == urgency_train.FOLDS and chosen["rows"] == len(rows)
    assert set.union(*seen) == set(rows.texts) and all(len(s) < len(rows) for s in seen)
    assert {"critical_at", "evidence_at", "calm_at", "scores", "passages", "passages_chosen"} <= set(chosen)
    gate = passages.gate_from_meta(chosen["passages"])  # None or a gate this code reads
    assert gate is None or (gate.look_from in passages.LOOK_GRID and gate.calm_below in passages.CALM_GRID)
    assert len(chosen["passages_chosen"]["by_gate"]) == len(passages.LOOK_GRID) * len(passages.CALM_GRID)
    again = urgency_recipe.rechoose(kept)  # the same rule on the kept probabilities: the same thresholds
    assert [again[k] for k in ("critical_at", "calm_at", "evidence_at", "rows")] == \
        [chosen[k] for k in ("critical_at", "calm_at", "evidence_at", "rows")]  # fmt: skip
    assert main(["rechoose-thresholds", "--probes", str(kept)]) == 0
    assert json.loads(capsys.readouterr().out)["critical_at"] == chosen["critical_at"]


def test_each_sentence_of_a_post_is_read_alone_by_the_heads_given():
    from models import urgency_recipe
    from models.classifier import load_classifier

    clf = load_classifier()
    heads = {"tier": clf.heads.tier, "critical": clf.heads.critical}
    texts = ["One line only here", "The fitter was polite. Our solicitor has written to you today.", ""]
    read = urgency_recipe.sentences_alone(heads, clf.encoder.urgency_view(), texts)
    assert [len(r) for r in read] == [0, 2, 0]
    alone = clf.predict(["Our solicitor has written to you today."])[0].urgency
    tiers, p_critical = read[1][1]
    assert p_critical == pytest.approx(alone.p_critical, abs=1e-4) and set(tiers) == set(TIER_LABELS)
    assert urgency_recipe.sentences_alone(heads, clf.encoder.urgency_view(), ["no sentences"]) == [[]]


def test_calm_hand_written_posts_and_critical_real_tweets_weigh_more_and_every_tier_keeps_its_total():
    from models.urgency_data import HARD_CALM_WEIGHT, REAL_CRITICAL_WEIGHT, WRITTEN_GROUP, row_weights

    tier = np.array([0, 0, 3, 3, 3, 4, 4, 2])
    groups = np.array([f"{WRITTEN_GROUP}a", "x.csv:1", f"{WRITTEN_GROUP}b", "x.csv:2", "x.csv:3", f"{WRITTEN_GROUP}c",
                       "x.csv:4", f"{WRITTEN_GROUP}d"])  # fmt: skip
    weights = row_weights(tier, groups)
    assert weights[2] == pytest.approx(HARD_CALM_WEIGHT * weights[3]) and weights[3] == weights[4]
    assert weights[5] == pytest.approx(HARD_CALM_WEIGHT * weights[6])
    for index in range(5):
        assert weights[tier == index].sum() == pytest.approx(np.sum(tier == index))
    assert weights[1] == pytest.approx(REAL_CRITICAL_WEIGHT * weights[0])  # critical: the real tweet weighs more
    assert weights[7] == 1.0  # normal: hand-written or not, as before


def test_the_urgency_loss_weighs_rows_only_when_given_weights(written):
    import torch

    from models.adapter_batches import UrgencyLoss

    rows = written.subset(np.arange(0, len(written), 40))
    embedded = torch.from_numpy(np.random.default_rng(0).normal(size=(8, 384)).astype(np.float32))
    anchors, chosen = np.zeros((len(rows), 384), dtype=np.float32), np.arange(8)
    plain = UrgencyLoss(rows, anchors)
    ones, heavy = UrgencyLoss(rows, anchors, np.ones(len(rows))), UrgencyLoss(rows, anchors, np.ones(len(rows)))
    heavy.rows[0] = 5.0
    for loss in (ones, heavy):
        loss.heads = plain.heads
    with torch.no_grad():
        before, same, weighed = (float(loss(embedded, chosen)) for loss in (plain, ones, heavy))
    assert same == pytest.approx(before, rel=1e-5) and weighed != pytest.approx(before, rel=1e-3)


def test_thresholds_can_come_from_a_spent_pair_the_candidate_never_trained_on(tmp_path):
    import shutil
    from pathlib import Path

    from models import urgency_recipe, urgency_train
    from models.classifier import load_classifier
    from models.heads import ARTIFACT_DIR, load_heads
    from models.urgency_data import FIRST_FRESH, LAST_PAIR, read_written, test_split, written_test

    data = Path(__file__).resolve().parents[2] / "shared" / "data"
    for fresh in (FIRST_FRESH, LAST_PAIR):  # no fresh pair ever sets a threshold
        with pytest.raises(ValueError, match="not spent"):
            urgency_recipe.read_held_pair(data, fresh)
    with pytest.raises(ValueError, match="among the training rows"):
        urgency_recipe.train_urgency(data, tmp_path, encoder=load_classifier().encoder, held_pair=2, log=None)
    with pytest.raises(ValueError, match="among the training rows"):  # the shipped version trained on pair 2
        urgency_recipe.rechoose_on_pairs(data, ARTIFACT_DIR, [2])
    shutil.copytree(ARTIFACT_DIR, tmp_path / "copy")
    copy = load_heads(tmp_path / "copy")  # as if pair 18 (spent) had been held out of its training rows
    pair18 = (f"real-{test_split(18)}", written_test(18).stem)
    copy.meta["urgency"]["sources"] = "+".join(s for s in copy.meta["urgency"]["sources"].split("+") if s not in pair18)
    copy.save(tmp_path / "copy")
    written = urgency_recipe.rechoose_on_pairs(data, tmp_path / "copy", [18], write=True)
    assert load_heads(tmp_path / "copy").answer is None  # fitted below the old thresholds: fit it again
    meta = load_heads(tmp_path / "copy").meta["urgency"]
    assert [meta[k] for k in ("critical_at", "calm_at", "evidence_at")] == \
        [written[k] for k in ("critical_at", "calm_at", "evidence_at")]  # fmt: skip
    assert meta["thresholds_held_out"]["rows"] == 600 and meta["thresholds_held_out"]["held_out"] == written["held_out"]
    clf = load_classifier()
    held = read_written(written_test(2)).subset(np.arange(0, 300, 2))
    heads = {"tier": clf.heads.tier, "critical": clf.heads.critical}
    chosen = urgency_recipe.held_pair_thresholds(clf.encoder.urgency_view(), heads, held)
    read = [p.urgency for p in clf.predict(held.texts)]  # the shipped model's own reading of the same posts
    tiers = np.array([[r.tiers[label] for label in TIER_LABELS] for r in read])
    critical = np.array([r.p_critical for r in read])
    again = urgency_train.choose_thresholds(held.tier, tiers, critical, urgency_train.has_phrase(held.texts),
                                            np.ones(len(held), dtype=bool))  # fmt: skip
    assert chosen["rows"] == 150 and chosen["held_out"] == held.source
    assert [chosen[k] for k in ("critical_at", "calm_at", "evidence_at")] == \
        [again[k] for k in ("critical_at", "calm_at", "evidence_at")]  # fmt: skip
