"""Severity from the head and the wording: pure rules, no model."""

import pytest

from models.severity_cues import decide_severity, strongest_cue

# The severity head's P(level) for levels 1-4.
SAYS_1 = (0.7, 0.1, 0.1, 0.1)
SAYS_2 = (0.1, 0.7, 0.1, 0.1)
SAYS_3 = (0.1, 0.1, 0.7, 0.1)
SAYS_4_THEN_2 = (0.05, 0.3, 0.05, 0.6)


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("order 88213 shows delivered but nothing has turned up", None),
        ("really disappointed, the battery life is terrible", 2),
        ("so frustrating, third time this week", 2),
        ("you charged my card for an order you cancelled", 3),
        ("why am I still receiving a bill when I disconnected?", 3),
        ("your driver cancelled on me and I was billed anyway", 3),
        ("false advertising, the box says 12 hours", 3),
        ("you are the worst, never again", 4),
        ("scammers. refund me", 4),
        ("this is entirely your fault", 4),
        ("your support SUCKS", 4),
    ],
)
def test_each_level_has_its_wording(text, level):
    found = strongest_cue(text)
    assert (found[0] if found else None) == level


def test_the_strongest_cue_wins_and_names_its_phrase():
    assert strongest_cue("so annoying. you lied about the fee, scammers") == (4, "scammers")


@pytest.mark.parametrize(
    "text",
    ["not a scam, just slow", "it's not your fault but the parcel is late", "never had a problem before today"],
)
def test_a_negated_cue_does_not_count(text):
    assert strongest_cue(text) is None


def test_words_inside_other_words_do_not_count():
    assert strongest_cue("my scampi order and the clownfish tank arrived late") is None


def test_blame_needs_condemning_words():
    assert decide_severity(SAYS_1, "you idiots lost my parcel").level == 4
    # The head's blame without them is xfincorp's "no answer for days": its best of 1-3 stands.
    assert decide_severity(SAYS_4_THEN_2, "still no reply after 5 days").level == 2


def test_accusation_and_disapproval_raise_but_never_lower():
    raised = decide_severity(SAYS_1, "you charged me twice")
    assert (raised.level, raised.cue) == (3, "you charged")
    assert decide_severity(SAYS_1, "so frustrating").level == 2
    assert decide_severity(SAYS_3, "so frustrating") == decide_severity(SAYS_3, "parcel late")
    assert decide_severity(SAYS_3, "parcel late").cue is None


def test_plain_statements_keep_the_heads_level():
    assert decide_severity(SAYS_2, "card declined at checkout").level == 2
    assert decide_severity(SAYS_1, "card declined at checkout").level == 1
