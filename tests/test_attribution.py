"""The words that weighed most: word pieces joined into words (pure), and the decomposition read off
the shipped encoder, which must add up to the critical head's logit exactly."""

import numpy as np
import pytest

from models.attribution import weighed_most, word_scores


def test_word_pieces_join_into_words_and_punctuation_stands_alone():
    text = "brakes failed, mum's car"
    #         [CLS]   brake    ##s      failed    ,         mum       '         s         car      [SEP]
    offsets = [(0, 0), (0, 5), (5, 6), (7, 13), (13, 14), (15, 18), (18, 19), (19, 20), (21, 24), (0, 0)]
    scores = np.array([9.0, 1.0, 0.5, 2.0, 5.0, 0.25, 0.25, 0.25, -1.0, 9.0])
    assert word_scores(text, offsets, scores) == [
        ("brakes", 1.5), ("failed", 2.0), (",", 5.0), ("mum's", 0.75), ("car", -1.0)
    ]


def test_weighed_most_names_content_words_that_pushed_up_strongest_first():
    pairs = [("the", 9.0), (",", 8.0), ("Brakes", 1.5), ("failed", 2.0), ("car", -1.0), ("brakes", 0.2), ("kids", 0.1)]
    assert weighed_most(pairs) == ["failed", "brakes", "kids"]
    assert weighed_most([("car", -1.0), ("it", 3.0)]) == []


@pytest.fixture(scope="module")
def clf():
    from models.classifier import load_classifier

    return load_classifier()


def test_the_token_shares_add_up_to_the_critical_logit(clf):
    from models.text import normalize

    texts = [normalize(t) for t in ("@velocar the brake pedal sank to the floor on the ring road",
                                    "@acme love the new menu, thanks!")]  # fmt: skip
    head = clf.heads.critical
    vectors, urgent, explained = clf.encoder.encode_explained(texts, head.weight[:1])
    assert np.allclose(vectors, clf.encoder.encode(texts), atol=1e-5)
    assert np.allclose(urgent, clf.encoder.encode_urgency(texts), atol=1e-5)
    for vector, (offsets, shares) in zip(urgent, explained, strict=True):
        assert len(offsets) == len(shares)
        assert shares[:, 0].sum() == pytest.approx(float(vector @ head.weight[0]), abs=1e-3)


def test_a_critical_post_names_its_harm_and_words_from_its_text(clf):
    from triage.urgency import decide

    text = "@velocar pressed the brake pedal and it sank to the floor on the ring road, I coasted into a lay-by"
    [prediction] = clf.predict([text])
    decision = decide(prediction, text, followers=None, repeat_contacts=0)
    [weighed] = [s for s in decision.signals if s.startswith("weighed most: ")]
    words = weighed.removeprefix("weighed most: ").split(" / ")
    assert 1 <= len(words) <= 3
    assert all(word in text.lower() for word in words), words
    assert decision.signals[0].startswith("harm: safety")
