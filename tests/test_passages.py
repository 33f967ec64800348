"""Reading a post's sentences alone (models.passages): which posts, which sentences, when one counts
and the tier it gives (the quoted signal is tested with the policy, in test_urgency_model). The rules
are pure; the last tests run the shipped encoder and heads with passage reading switched on (posts
written for these tests, not from any data set)."""

import json
import shutil

import pytest

from models import passages
from models.urgency_tier import model_tier
from triage.urgency import decide

NEAR = {"critical": 0.2, "high": 0.4, "normal": 0.2, "low": 0.1, "none": 0.1}  # calm 0.2, P(critical) 0.3
GATE = passages.Gate(look_from=0.1, calm_below=0.5)


def test_a_post_splits_into_its_sentences_of_three_words_or_more():
    text = "Lovely stand at the show. Great stickers!\nAnyway you took the £1,480 twice? My mortgage is due."
    assert passages.sentences(text) == ["Lovely stand at the show.", "Anyway you took the £1,480 twice?",
                                        "My mortgage is due."]  # fmt: skip


@pytest.mark.parametrize("text", ["", "one short line", "Too short. Also short!", "A single sentence with words."])
def test_a_post_of_fewer_than_two_sentences_is_not_split(text):
    assert passages.sentences(text) == []


def test_a_huge_post_is_read_in_at_most_most_sentences():
    text = " ".join(f"Sentence number {i} is here." for i in range(1000))
    found = passages.sentences(text)
    assert len(found) == passages.MOST and found[0] == "Sentence number 0 is here."


@pytest.mark.parametrize(("tiers", "p_critical", "expected"), [
    (NEAR, 0.3, True),
    (NEAR, GATE.look_from - 0.01, False),  # far from critical
    ({**NEAR, "low": 0.25, "none": 0.25}, 0.3, False),  # read as calm (the gate's calm_below)
    ({**NEAR, "low": 0.2, "none": 0.2}, 0.3, True),
    (NEAR, 0.6, False),  # already critical
    ({**NEAR, "low": 0.2, "none": 0.15}, 0.6, True),  # the critical head overruled by the calm gate
])  # fmt: skip
def test_which_posts_are_read_closely(tiers, p_critical, expected):
    assert passages.worth_reading_closely(tiers, p_critical, critical_at=0.55, calm_at=0.3, gate=GATE) is expected


def test_the_gate_is_the_artifacts_own_and_another_way_of_reading_is_refused():
    assert passages.gate_from_meta(None) is None
    assert passages.gate_from_meta(GATE.meta()) == GATE
    for other in ("passages-v1", {"version": "passages-v1", "look_from": 0.1, "calm_below": 0.5}):
        with pytest.raises(ValueError, match="passages-v1"):
            passages.gate_from_meta(other)


def _held_out(rows):
    """(truth, whole-post tier, P(critical), calmness, a sentence counts) per row, as choose_gate reads them."""
    truth, decided, p, tiers, alone = [], [], [], [], []
    for t, d, pc, calm, a in rows:
        truth.append(t), decided.append(d), p.append(pc), alone.append(a)
        tiers.append({"critical": 0.1, "high": 0.5 - calm / 2, "normal": 0.4 - calm / 2, "low": calm, "none": 0.0})
    return truth, decided, tiers, p, alone


# Whole posts called critical: 8 right, 1 calm (a calm share of 1 in 9).
CALLED = [("critical", "critical", 0.9, 0.0, False)] * 8 + [("low", "critical", 0.9, 0.0, False)]


def test_the_gate_that_finds_most_without_calling_calm_posts_critical_is_chosen():
    buried = [("critical", "high", 0.25, 0.2, True)] * 4  # a sentence counts; near critical, not calm
    faint = [("critical", "normal", 0.07, 0.2, True)] * 2  # only the lowest look_from reaches them
    calm_ish = [("low", "low", 0.2, 0.45, True)] * 3  # calm posts whose sentences fool the heads
    gate, scores = passages.choose_gate(*_held_out(CALLED + buried + faint + calm_ish), critical_at=0.55, calm_at=0.6)
    assert gate == passages.Gate(0.05, 0.3)  # all six critical posts, none of the calm ones (the strictest such)
    # 14 of 14 critical posts found by 15 calls: F2 = 5 * (14/15) / (4 * 14/15 + 1) = 70/71
    assert scores["by_gate"]["0.05/0.3"] == {"added": 6, "critical": 6, "calm": 0, "f2": round(70 / 71, 4),
                                             "valid": True}  # fmt: skip
    assert scores["by_gate"]["0.1/0.3"]["added"] == 4 and scores["f2_without"] == round(5 * 8 / 9 * 8 / 14 / (
        4 * 8 / 9 + 8 / 14), 4)  # fmt: skip
    assert not scores["by_gate"]["0.05/0.5"]["valid"]  # reads the calm ones too: 3 calm of 9 added


def test_no_gate_when_reading_passages_finds_nothing_or_only_calm_posts():
    calm_only = [("none", "low", 0.3, 0.2, True)] * 3
    assert passages.choose_gate(*_held_out(CALLED + calm_only), critical_at=0.55, calm_at=0.6)[0] is None
    quiet = [("critical", "high", 0.3, 0.2, False)] * 3  # no sentence counts
    assert passages.choose_gate(*_held_out(CALLED + quiet), critical_at=0.55, calm_at=0.6)[0] is None


def test_a_sentence_counts_by_the_models_own_thresholds():
    assert passages.critical_alone(NEAR, 0.55, critical_at=0.55, calm_at=0.3)
    assert not passages.critical_alone(NEAR, 0.54, critical_at=0.55, calm_at=0.3)
    assert not passages.critical_alone({**NEAR, "none": 0.2}, 0.9, critical_at=0.55, calm_at=0.3)  # calm alone
    assert passages.critical_alone({**NEAR, "none": 0.2}, 0.9, critical_at=0.55, calm_at=None)


def test_a_critical_sentence_makes_the_post_critical():
    calm_ish = {**NEAR, "low": 0.2, "none": 0.15}
    assert model_tier(calm_ish, 0.3, critical_at=0.55, evidence_at=0.5, phrase=False) == "high"
    assert model_tier(calm_ish, 0.3, critical_at=0.55, evidence_at=0.5, phrase=False, passage=True) == "critical"


@pytest.fixture(scope="module")
def reading(tmp_path_factory):
    """The shipped artifact, with passage reading switched on (as ``train-urgency`` now writes it)."""
    from models.classifier import build_classifier
    from models.heads import ARTIFACT_DIR

    directory = tmp_path_factory.mktemp("artifact")
    shutil.copytree(ARTIFACT_DIR, directory, dirs_exist_ok=True)
    meta = json.loads((directory / "heads.json").read_text())
    meta["urgency"]["passages"] = GATE.meta()
    (directory / "heads.json").write_text(json.dumps(meta))
    return build_classifier(directory), directory


def test_the_version_says_the_model_reads_passages(reading):
    clf, _ = reading
    assert clf.passage_gate == GATE and clf.model_version.endswith("+" + passages.VERSION)


def test_an_artifact_that_reads_passages_another_way_is_refused(reading, tmp_path):
    from models.classifier import build_classifier

    _, directory = reading
    shutil.copytree(directory, tmp_path, dirs_exist_ok=True)
    meta = json.loads((tmp_path / "heads.json").read_text())
    meta["urgency"]["passages"] = {**GATE.meta(), "version": "passages-v0"}
    (tmp_path / "heads.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="passages"):
        build_classifier(tmp_path)


POSTS = [
    "@tackhouse Lovely to see your stand at the county show, my daughter loved the pony stickers. Anyway, I "
    "checked my banking app this morning and a stranger has moved £2,300 out of my account overnight. The "
    "app says I am logged in on a phone in another country.",
    "@tackhouse thanks, the new saddle fits perfectly!",
    "@tackhouse Parcel came two days late. The box was a bit crushed. Saddle is fine though.",
]


def test_only_posts_near_critical_are_read_and_the_sentence_read_is_the_posts_own(reading):
    from models.classifier import build_classifier

    clf, _ = reading
    plain = build_classifier()
    for text, read, whole in zip(POSTS, clf.predict(POSTS), plain.predict(POSTS), strict=True):
        u = whole.urgency
        near = passages.worth_reading_closely(u.tiers, u.p_critical, u.critical_at, u.calm_at, clf.passage_gate)
        assert read.urgency.passage is None or (near and read.urgency.passage in passages.sentences(text))
        assert read.urgency.tiers == whole.urgency.tiers and read.urgency.p_critical == whole.urgency.p_critical
        if read.urgency.passage is None:
            assert read.urgency == whole.urgency


BURIED = [  # the serious sentence after a small complaint: the whole post reads as high or normal, not calm
    "@tackhouse Annoyed that my parcel is late again. My card was used for £2,300 at a shop I've never been to.",
    "@citybank Your hold music is awful and the queue was 40 minutes. Someone changed my password and moved my "
    "savings to an account I do not know.",
]


def test_a_buried_critical_sentence_read_alone_makes_the_post_critical(reading):
    clf, _ = reading
    for text, prediction in zip(BURIED, clf.predict(BURIED), strict=True):
        d = decide(prediction, text, followers=None, repeat_contacts=0)
        assert d.tier == "critical", (text, d)
        assert prediction.urgency.passage in passages.sentences(text)
        assert any(s.startswith('read alone: "') for s in d.signals)
