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
