"""The answer head (models.answer, history step 74): who gets a ticket, and at which tier below
critical; fitted on spent pairs only, each row scored by a head that never saw its pair."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from models import answer, answer_fit
from models.classifier import ModelUrgency, Prediction, load_classifier
from models.heads import ARTIFACT_DIR, LinearHead, load_heads
from models.urgency_data import FIRST_FRESH, TIER_LABELS
from triage.urgency import decide

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def test_the_features_are_the_heads_outputs_and_the_reply_cues_in_their_order():
    tiers = dict(zip(TIER_LABELS, (0.0, 0.1, 0.2, 0.3, 0.4), strict=True))
    row = answer.features(tiers, 0.05, 0.7, "where is my bag?")
    assert row.shape == (len(answer.FEATURES),)
    named = dict(zip(answer.FEATURES, row, strict=True))
    assert named["log P(critical)"] == pytest.approx(np.log(0.05))
    assert named["log P(none)"] == pytest.approx(np.log(0.4))
    assert np.isfinite(row).all()  # P(critical tier) 0 reads as the floor, not -inf
    assert (named["question"], named["?"], named["spam"]) == (1.0, 1.0, 0.0)
    assert named["P(complaint)"] == pytest.approx(0.7)
    plain = dict(zip(answer.FEATURES, answer.features(tiers, 0.05, 0.7, "great flight " * 40), strict=True))
    assert (plain["question"], plain["?"], plain["length"]) == (0.0, 0.0, 1.0)  # length saturates at a tweet
    spam = dict(zip(answer.FEATURES, answer.features(tiers, 0.05, 0.1, "follow me for a giveaway"), strict=True))
    assert spam["spam"] == 1.0


def test_a_post_goes_unanswered_only_where_p_none_reaches_silent_at():
    probabilities = {"high": 0.05, "normal": 0.1, "low": 0.15, "none": 0.7}
    assert answer.answer(probabilities, silent_at=0.75) == "low"  # the likeliest answered tier
    assert answer.answer(probabilities, silent_at=0.7) == "none"
    assert answer.answer({"high": 0.3, "normal": 0.2, "low": 0.1, "none": 0.4}, silent_at=0.5) == "high"


def test_the_shipped_artifact_answers_with_its_head_and_says_where_it_was_fitted():
    meta = load_heads(ARTIFACT_DIR).meta["answer"]
    assert meta["features"] == list(answer.FEATURES)
    assert meta["silent_at"] in answer_fit.GRID
    pairs = {int(part.removeprefix("real-test")) for part in meta["held_out"].split("+") if part.startswith("real-")}
    assert pairs and max(pairs) < FIRST_FRESH  # never a fresh pair
    clf = load_classifier()
    assert clf.heads.answer is not None
    posts = ["how do I change the name on my booking?", "lol my cat just knocked my coffee over again",
             "@acme you charged me twice for one order and nobody answers"]  # fmt: skip
    question, chatter, complaint = clf.predict(posts)
    assert question.needs_reply and question.urgency.answer != "none"
    assert not chatter.needs_reply and chatter.urgency.answer == "none"
    assert complaint.needs_reply and complaint.urgency.answer in ("high", "normal")
    decision = decide(complaint, posts[2], followers=None, repeat_contacts=0)
    assert decision.needs_reply and decision.tier in ("high", "normal")  # "charged" may raise it to high


def test_the_answer_head_never_unmakes_a_critical_post():
    clf = load_classifier()
    text = "my dad's oxygen machine has had no power since the outage last night, he is 82, please help"
    prediction = clf.predict([text])[0]
    silenced = replace(prediction, needs_reply=False, urgency=replace(prediction.urgency, answer="none"))
    decision = decide(silenced, text, followers=None, repeat_contacts=0)
    assert decision.tier == "critical" and decision.needs_reply


def _read(pairs: int = 3, rows: int = 60, seed: int = 0) -> answer_fit.Read:
    rng = np.random.default_rng(seed)
    n = pairs * rows
    truth = [("high", "normal", "low", "none")[i % 4] for i in range(n)]
    x = rng.normal(size=(n, len(answer.FEATURES))).astype(np.float32)
    x[:, 0] += np.array([("high", "normal", "low", "none").index(t) for t in truth])  # learnable
    return answer_fit.Read([""] * n, [None] * n, x, truth, np.repeat(np.arange(pairs), rows),
                           np.tile([True, False], n // 2), "synthetic")  # fmt: skip


def test_each_row_is_scored_by_a_head_fitted_without_its_pair():
    read = _read()
    base = ["low"] * len(read.truth)
    first = answer_fit.cross_fitted(read, base)
    shuffled = list(read.truth)
    held = np.flatnonzero(read.pair == 0)
    for i, j in zip(held, held[::-1], strict=True):  # pair 0's own labels, scrambled
        shuffled[i] = read.truth[j]
    again = answer_fit.cross_fitted(replace(read, truth=shuffled), base)
    assert np.allclose(first[read.pair == 0], again[read.pair == 0])  # never saw pair 0's labels
    assert not np.allclose(first[read.pair == 1], again[read.pair == 1])  # fitted on them


def test_rows_read_critical_are_not_fitted_on():
    read = _read()
    fitted = answer_fit._fitted_on(read, ["low"] * len(read.truth), np.ones(len(read.truth), dtype=bool))
    critical = ["critical" if i % 8 >= 4 else "low" for i in range(len(read.truth))]
    half = answer_fit._fitted_on(read, critical, np.ones(len(read.truth), dtype=bool))
    assert isinstance(fitted, LinearHead) and fitted.weight.shape == (4, len(answer.FEATURES))
    evens = answer_fit._fitted_on(read, ["low"] * len(read.truth), np.arange(len(read.truth)) % 8 < 4)
    assert np.allclose(half.weight, evens.weight) and not np.allclose(half.weight, fitted.weight)


def test_silent_at_is_the_most_accurate_value_that_silences_no_more_posts_needing_a_reply():
    tiers = {"critical": 0.0, "high": 0.0, "normal": 0.0, "low": 1.0, "none": 0.0}
    read_low = ModelUrgency(tiers, 0.0, "none", 0.9, critical_at=0.5, evidence_at=0.5)
    prediction = Prediction(0.2, 0, True, np.zeros(4, dtype=np.float32), urgency=read_low)
    truth = ["none"] * 4 + ["low"] * 4  # real and hand-written rows alternate
    read = answer_fit.Read(["thanks"] * 8, [prediction] * 8, np.zeros((8, len(answer.FEATURES))), truth,
                           np.zeros(8, dtype=int), np.tile([True, False], 4), "synthetic")  # fmt: skip
    p_none = [0.9, 0.9, 0.9, 0.9, 0.6, 0.6, 0.1, 0.1]
    probabilities = np.array([[0.0, 0.0, 1 - p, p] for p in p_none])  # ANSWER_TIERS order
    chosen, table, without = answer_fit.choose_silent_at(read, probabilities, decide)
    assert without == {"real_accuracy": 0.5, "real_silent": 0, "written_accuracy": 0.5, "written_silent": 0}
    assert table[0.5] == {"real_accuracy": 0.75, "real_silent": 1, "written_accuracy": 0.75, "written_silent": 1}
    assert table[0.7]["real_accuracy"] == 1.0 and table[0.95]["real_accuracy"] == 0.5
    assert chosen == 0.9  # 0.65 to 0.9 tie on accuracy, silencing none: the highest, the fewest silent


def test_no_fresh_pair_and_no_pair_a_version_trained_on_fits_the_head():
    with pytest.raises(ValueError, match="not spent"):
        answer_fit.fit_answer(DATA, ARTIFACT_DIR, [FIRST_FRESH], decide)
    with pytest.raises(ValueError, match="among the training rows"):
        answer_fit.fit_answer(DATA, ARTIFACT_DIR, [2], decide)


def test_refitting_the_heads_it_reads_drops_the_answer_head(tmp_path):
    heads = load_heads(ARTIFACT_DIR)
    assert heads.answer is not None
    heads.drop_answer()
    heads.save(tmp_path)
    again = load_heads(tmp_path)
    assert again.answer is None and "answer" not in again.meta


def test_against_the_shipped_version_the_head_silences_no_more_than_it_does():
    """History step 87: the shipped version's counts on the held rows are limits too."""
    assert answer_fit.silent_limits({"real_silent": 10, "written_silent": 5}, None) == \
        {"real_silent": 10, "written_silent": 5}  # fmt: skip
    assert answer_fit.silent_limits({"real_silent": 10, "written_silent": 5},
                                    {"real_silent": 8, "written_silent": 9, "real_critical_found": 3}) == \
        {"real_silent": 8, "written_silent": 5}  # fmt: skip
    tiers = {"critical": 0.0, "high": 0.0, "normal": 0.0, "low": 0.0, "none": 1.0}
    read_none = ModelUrgency(tiers, 0.0, "none", 0.9, critical_at=0.5, evidence_at=0.5)
    prediction = Prediction(0.0, 0, False, np.zeros(4, dtype=np.float32), urgency=read_none)
    truth = ["none"] * 6 + ["low"] * 2  # real and hand-written rows alternate: one low post of each
    read = answer_fit.Read(["thanks"] * 8, [prediction] * 8, np.zeros((8, len(answer.FEATURES))), truth,
                           np.zeros(8, dtype=int), np.tile([True, False], 4), "synthetic")  # fmt: skip
    probabilities = np.array([[0.0, 0.0, 0.4, 0.6]] * 8)  # P(none) 0.6 for every row
    chosen, table, without = answer_fit.choose_silent_at(read, probabilities, decide)
    assert (without["real_silent"], without["written_silent"]) == (1, 1)
    assert chosen == 0.6  # silencing all is the most accurate, and no worse than without the head
    shipped = {"real_silent": 0, "written_silent": 0, "real_critical_found": 0}
    chosen, table, _ = answer_fit.choose_silent_at(read, probabilities, decide, shipped)
    assert chosen == 0.95 and table[0.95]["real_silent"] == 0  # the shipped version answered both low posts
