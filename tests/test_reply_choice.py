"""Who is answered: the tier head's P(none) against ``silent_at`` (history step 61), and how
``silent_at`` is chosen on spent pairs."""

from pathlib import Path

import pytest

from models import silent_choice
from models.reply import answered
from models.silent_choice import SILENT_GRID, choose_silent_at, outcome
from models.urgency_data import LAST_PAIR

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def tiers(none: float) -> dict:
    rest = (1.0 - none) / 4
    return {"critical": rest, "high": rest, "normal": rest, "low": rest, "none": none}


def test_with_silent_at_the_tier_head_alone_decides():
    assert not answered(True, tiers(0.7), 0.55)  # "thanks, sorted now?": a question mark, still nothing to answer
    assert not answered(True, tiers(0.55), 0.55)
    assert answered(False, tiers(0.3), 0.55)  # no pattern matched, but the head reads a need
    assert answered(False, tiers(0.54), 0.55)


def test_without_silent_at_any_rule_or_the_likeliest_tier_asks_for_an_answer():
    assert answered(True, tiers(0.9), None)
    assert answered(False, tiers(0.1), None)
    assert not answered(False, tiers(0.9), None)
    assert answered(True, None, 0.55) and not answered(False, None, 0.55)  # no urgency heads: the rules


def test_forced_posts_are_answered_whatever_their_p_none():
    accuracy, silent = outcome(["critical", "none"], ["critical", "low"], [True, False], [0.99, 0.99], 0.4)
    assert accuracy == 1.0 and silent == 0
    accuracy, silent = outcome(["low", "none"], ["low", "low"], [False, False], [0.3, 0.9], 0.5)
    assert accuracy == 1.0 and silent == 0
    accuracy, silent = outcome(["low", "none"], ["low", "low"], [False, False], [0.6, 0.9], 0.5)
    assert accuracy == 0.5 and silent == 1


def test_the_choice_never_leaves_more_posts_silent_than_today():
    truth = ["none", "none", "none", "low", "normal"]
    decided = ["low", "low", "low", "low", "normal"]
    p_none = [0.9, 0.72, 0.62, 0.58, 0.2]
    today = [True, True, True, True, True]  # today's rule answers everything: nobody silent
    chosen = choose_silent_at(truth, decided, [False] * 5, p_none, today)
    # Below 0.60 the "low" post at 0.58 goes silent; from 0.65 the chatter at 0.62 is answered, from 0.75 the 0.72
    assert chosen["silent_at"] == 0.6 and chosen["today"] == [0.4, 0]
    assert chosen["by_value"]["0.60"] == [1.0, 0] and chosen["by_value"]["0.55"] == [0.8, 1]
    assert chosen["by_value"]["0.65"] == [0.8, 0] and chosen["by_value"]["0.75"] == [0.6, 0]
    assert set(chosen["by_value"]) == {f"{value:.2f}" for value in SILENT_GRID}


def test_ties_go_to_the_higher_value_and_no_value_may_qualify():
    chosen = choose_silent_at(["low"], ["low"], [False], [0.1], [True])
    assert chosen["silent_at"] == max(SILENT_GRID)
    assert choose_silent_at(["low"], ["low"], [False], [0.95], [True])["silent_at"] is None


def test_the_fresh_pair_never_chooses_silent_at(tmp_path):
    with pytest.raises(ValueError, match="not spent"):
        silent_choice.on_pairs(DATA, Path("models/artifacts"), [LAST_PAIR], decide=None)
