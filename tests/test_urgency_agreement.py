"""Two labellings of the same real tweets: pairing by key, agreement, and the model beside them."""

import csv

import numpy as np
import pytest

from models import urgency_agreement
from models.urgency_data import REAL, SECOND, TIER_LABELS, UrgencySet
from models.urgency_eval import labellers, section

HEADER = ("file", "key", "tier", "harm", "split")


def write(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([HEADER, *rows])
    return path


@pytest.fixture
def labelled(tmp_path):
    first = write(tmp_path / "first.csv", [
        ("a.csv", "1", "critical", "safety", "t1"),
        ("a.csv", "2", "high", "money", "t1"),
        ("a.csv", "3", "none", "none", "t1"),
        ("a.csv", "4", "low", "none", "t1"),
        ("a.csv", "5", "normal", "none", "train"),
    ])  # fmt: skip
    second = write(tmp_path / "second.csv", [
        ("a.csv", "4", "normal", "none", "t1"),
        ("a.csv", "1", "critical", "safety", "t1"),
        ("a.csv", "3", "none", "none", "t1"),
        ("a.csv", "2", "critical", "stranded", "t1"),
    ])  # fmt: skip
    return first, second


def test_rows_pair_by_key_in_the_first_files_order(labelled):
    rows = urgency_agreement.paired(*labelled)
    assert list(rows) == ["t1"]
    assert rows["t1"] == [(("a.csv", "1"), "critical", "critical"), (("a.csv", "2"), "high", "critical"),
                          (("a.csv", "3"), "none", "none"), (("a.csv", "4"), "low", "normal")]  # fmt: skip


def test_agreement_counts_tiers_critical_posts_and_the_model(labelled):
    rows = urgency_agreement.paired(*labelled)["t1"]
    found = urgency_agreement.agreement(rows, ["high", "high", "none", "low"])
    assert found["n"] == 4 and found["tier_agreement"] == 0.5
    assert (found["critical_first"], found["critical_second"], found["critical_both"]) == (1, 2, 1)
    assert found["reply_agreement"] == 1.0
    assert found["model_vs_first"] == 0.75 and found["model_vs_second"] == 0.25
    assert found["model_where_agreed"] == 0.5  # rows 1 and 3 agreed; the model missed the critical one
    assert found["critical_both_found"] == 0
    assert -1.0 <= found["kappa"] < 1.0


def test_identical_labellings_agree_fully():
    rows = [(("f", str(i)), t, t) for i, t in enumerate(TIER_LABELS)]
    found = urgency_agreement.agreement(rows, list(TIER_LABELS))
    assert found["tier_agreement"] == found["kappa"] == found["model_where_agreed"] == 1.0
    assert found["critical_both_found"] == 1


def test_a_split_that_differs_between_the_files_is_refused(tmp_path, labelled):
    first, _ = labelled
    second = write(tmp_path / "bad.csv", [("a.csv", "5", "normal", "none", "t1")])
    with pytest.raises(ValueError, match="split"):
        urgency_agreement.paired(first, second)


def test_a_second_label_without_a_first_is_refused(tmp_path, labelled):
    first, _ = labelled
    second = write(tmp_path / "extra.csv", [("a.csv", "99", "normal", "none", "t1")])
    with pytest.raises(ValueError, match="not in"):
        urgency_agreement.paired(first, second)


def test_the_shipped_second_labelling_pairs_with_the_first():
    rows = urgency_agreement.paired(REAL, SECOND)  # test20 drew one airline tweet twice: paired by key, once
    assert {split: len(r) for split, r in rows.items()} == {"test7": 300, "test8": 300, "test13": 300, "test14": 300,
                                                              "test15": 300, "test16": 300, "test17": 300,
                                                              "test18": 300, "test19": 300, "test20": 299,
                                                              "test21": 300, "test22": 300,
                                                              "test23": 300, "test24": 300, "test25": 300,
                                                              "test26": 300, "test27": 300, "test28": 300,
                                                              "test29": 300, "test30": 300,
                                                              "test31": 300, "test32": 300, "test33": 300,
                                                              "test34": 300, "test35": 300, "test36": 300,
                                                              "test37": 300, "test38": 300, "test39": 300,
                                                              "test40": 300}
    assert all(a in TIER_LABELS and b in TIER_LABELS for r in rows.values() for _, a, b in r)


def test_the_report_section_shows_the_agreement_table(labelled):
    rows = urgency_agreement.paired(*labelled)["t1"]
    agreed = [("t1", "v1", urgency_agreement.agreement(rows, ["high", "high", "none", "low"]))]
    meta = {"rows": {"total": 4}, "sources": "s", "tier_c": 1, "harm_c": 1, "critical_c": 1,
            "critical_at": 0.5, "evidence_at": 0.4}  # fmt: skip
    text = section([], "v1", meta, agreed=agreed)
    assert "| t1 | 4 | 0.50 |" in text
    assert "| 1 / 2 / 1 | `v1` | 0.75 | 0.25 | 0.50 | 0 of 1 |" in text


def test_the_report_matches_each_models_tiers_to_the_labels_by_key():
    """A model that gives exactly the first labels, its sets in another order than the labels' file,
    agrees with them fully; one that gives the second labels agrees with the second."""
    sets, decided = [], {}
    for split, rows in urgency_agreement.paired().items():
        keys = [f"{file}:{key}" for (file, key), _, _ in rows][::-1]
        zeros = np.zeros(len(keys), dtype=int)
        name = f"real tweets, {split} split"
        sets.append((name, UrgencySet(["-"] * len(keys), zeros, zeros, f"real-{split}", np.array(keys))))
        first = {f"{file}:{key}": a for (file, key), a, _ in rows}
        second = {f"{file}:{key}": b for (file, key), _, b in rows}
        decided[("first", name)] = [first[k] for k in keys]
        decided[("second", name)] = [second[k] for k in keys]
    found = labellers(sets, ["first", "second"], decided)
    assert [(split, version) for split, version, _ in found] == [
        ("test7", "first"), ("test7", "second"), ("test8", "first"), ("test8", "second"),
        ("test13", "first"), ("test13", "second"), ("test14", "first"), ("test14", "second"),
        ("test15", "first"), ("test15", "second"), ("test16", "first"), ("test16", "second"),
        ("test17", "first"), ("test17", "second"), ("test18", "first"), ("test18", "second"),
        ("test19", "first"), ("test19", "second"), ("test20", "first"), ("test20", "second"),
        ("test21", "first"), ("test21", "second"), ("test22", "first"), ("test22", "second"),
        ("test23", "first"), ("test23", "second"), ("test24", "first"), ("test24", "second"),
        ("test25", "first"), ("test25", "second"), ("test26", "first"), ("test26", "second"),
        ("test27", "first"), ("test27", "second"), ("test28", "first"), ("test28", "second"),
        ("test29", "first"), ("test29", "second"), ("test30", "first"), ("test30", "second"),
        ("test31", "first"), ("test31", "second"), ("test32", "first"), ("test32", "second"),
        ("test33", "first"), ("test33", "second"), ("test34", "first"), ("test34", "second"),
        ("test35", "first"), ("test35", "second"), ("test36", "first"), ("test36", "second"),
        ("test37", "first"), ("test37", "second"), ("test38", "first"), ("test38", "second"),
        ("test39", "first"), ("test39", "second"), ("test40", "first"), ("test40", "second")]  # fmt: skip
    for _, version, a in found:
        assert a["model_vs_" + version] == 1.0 and a["model_where_agreed"] == 1.0
        assert a["critical_both_found"] == a["critical_both"]


def test_a_twice_labelled_split_no_test_set_reads_yet_is_left_out():
    """The pair committed for the next version is labelled twice before any model reads it."""
    rows = urgency_agreement.paired()["test7"]
    keys = [f"{file}:{key}" for (file, key), _, _ in rows]
    zeros = np.zeros(len(keys), dtype=int)
    sets = [("real tweets, test7 split", UrgencySet(["-"] * len(keys), zeros, zeros, "real-test7", np.array(keys)))]
    decided = {("v", "real tweets, test7 split"): [a for _, a, _ in rows]}
    assert [(split, version) for split, version, _ in labellers(sets, ["v"], decided)] == [("test7", "v")]
