"""The check sets' part of EVALUATION.md: each set named, counted, its scores and what it decided."""

from models.report_checks import PROSE, SET_NAMES, check_set_lines, check_sets


def test_every_check_set_has_a_name_and_its_prose():
    assert set(SET_NAMES) == set(PROSE)
    assert [name for name, _ in check_sets(None)] == ["ood"]


def test_each_set_is_counted_and_followed_by_its_scores_in_order():
    checks = [("ood", range(153)), ("absent2", range(249))]
    blocks = {"ood": ["complaint macro-F1: 0.9 (n=153)"], "absent2": ["complaint macro-F1: 0.8 (n=249)", "severity"]}
    text = "\n".join(check_set_lines(checks, blocks))
    assert text.index("153 hand-written tweets") < text.index("0.9 (n=153)") < text.index("249 more real tweets")
    assert text.index("249 more real tweets") < text.index("0.8 (n=249)\n\nseverity") < text.index("`f80f8e54` ships")
    assert "{n}" not in text
