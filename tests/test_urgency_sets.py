"""Which urgency rows train and which test: the spent pairs train, the pairs after them never do,
and the report marks the sets a version trained on."""

from pathlib import Path

from models import urgency_sets
from models.urgency_data import LAST_PAIR, SPENT_PAIRS, written_test
from models.urgency_data import test_split as split_of
from models.urgency_train import training_set

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def test_the_spent_pairs_train_and_the_later_pairs_never_do():
    sources = training_set(DATA).source.split("+")
    assert SPENT_PAIRS < LAST_PAIR
    for number in range(1, SPENT_PAIRS + 1):
        assert f"real-{split_of(number)}" in sources and written_test(number).stem in sources
    for number in range(SPENT_PAIRS + 1, LAST_PAIR + 2):  # up to the pair committed for the next version
        assert f"real-{split_of(number)}" not in sources and written_test(number).stem not in sources


def test_the_report_marks_the_sets_a_version_trained_on():
    meta = {"sources": f"real-train+{written_test(2).stem}+real-{split_of(3)}"}
    names = {data.source: urgency_sets.marked(name, data, meta) for name, data in urgency_sets.test_sets(DATA)}
    assert names[written_test(2).stem].endswith("(trained on)")
    assert names[f"real-{split_of(3)}"].endswith("(trained on)")
    assert names[f"real-{split_of(4)}"].endswith("(seen before)")
    assert names[f"real-{split_of(LAST_PAIR)}"].endswith("(fresh)")
    assert not any(urgency_sets.marked(name, data, {"sources": "real-train"}).endswith("(trained on)")
                   for name, data in urgency_sets.test_sets(DATA))  # fmt: skip


def test_every_fresh_pair_is_fresh_and_sets_that_chose_a_version_s_settings_say_so():
    from models.urgency_data import FIRST_FRESH

    sets = urgency_sets.test_sets(DATA)
    fresh = {data.source for name, data in sets if name.endswith("(fresh)")}
    assert fresh == {source for n in range(FIRST_FRESH, LAST_PAIR + 1)
                     for source in (f"real-{split_of(n)}", written_test(n).stem)}  # fmt: skip
    meta = {"urgency": {"sources": "real-train", "thresholds_held_out": {"held_out": f"real-{split_of(22)}"}},
            "answer": {"held_out": f"real-{split_of(23)}+{written_test(23).stem}"}}  # fmt: skip
    chose = urgency_sets.chosen_on(meta)
    names = {data.source: urgency_sets.marked(name, data, meta["urgency"], chose) for name, data in sets}
    assert names[f"real-{split_of(22)}"].endswith("(chose its thresholds)")
    assert names[written_test(23).stem].endswith("(chose its thresholds)")
    assert names[f"real-{split_of(24)}"].endswith("(seen before)")
    assert urgency_sets.chosen_on({"urgency": {}}) == ""


def test_the_fresh_pairs_are_also_scored_together():
    from models import urgency_eval

    sets = [(name, data) for name, data in urgency_sets.test_sets(DATA) if name.endswith("(fresh)")]
    decided = {("v", name): ["none"] * len(data) for name, data in sets}
    together = urgency_eval.together(sets, decided, "v")
    assert [name for name, _, _ in together] == [f"{kind}, the fresh pairs together (fresh)"
                                                 for kind in ("real tweets", "hand-written test posts")]  # fmt: skip
    real = [data for name, data in sets if name.startswith("real")]
    assert together[0][2]["n"] == sum(len(data) for data in real) and together[0][2]["tier_accuracy"] == \
        sum((data.tier == 4).sum() for data in real) / sum(len(data) for data in real)  # fmt: skip
