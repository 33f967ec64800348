"""Complaint and severity heads from real tweets to many industries (models.complaint_heads) and the
refit command that puts them on an artifact's own encoder (models.refit)."""

import csv
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from models import complaint_heads
from models.datasets import Labelled, read_keyed
from models.heads import load_heads

ROOT = Path(__file__).resolve().parent.parent
ARTIFACT = ROOT / "models" / "artifacts"
INDUSTRIES = ("retail", "telecom", "tech", "ground_transport")
# (text, is_complaint, severity): each industry gets every kind, so any fold can be held out.
TWEETS = [
    ("my order never arrived and nobody answers", 1, 1),
    ("charged twice for the same thing, really annoyed", 1, 2),
    ("you cancelled my order and kept my money, that is theft", 1, 3),
    ("your support is useless, worst company ever", 1, 4),
    ("thanks, all sorted now", 0, 0),
    ("what time do you open on sunday?", 0, 0),
]


def _write_twcs(directory: Path, industries=INDUSTRIES) -> Path:
    """A twcs-shaped texts file and a labels file (tweet_id, labels, industry, split)."""
    texts, labels, tweet_id = [], [], 0
    for industry in industries:
        for text, complaint, severity in TWEETS:
            tweet_id += 1
            texts.append({"tweet_id": str(tweet_id), "text": f"@{industry}_brand {text} ({industry})"})
            labels.append({"tweet_id": str(tweet_id), "is_complaint": complaint, "severity": severity,
                           "brand": f"{industry}_brand", "industry": industry, "split": "train"})  # fmt: skip
    tweet_id += 1
    texts.append({"tweet_id": str(tweet_id), "text": "@food_brand my burrito was cold"})
    labels.append({"tweet_id": str(tweet_id), "is_complaint": 1, "severity": 1, "brand": "food_brand",
                   "industry": "food", "split": "test"})  # fmt: skip
    for name, rows in (("twcs_5000.csv", texts), ("labels.csv", labels)):
        with open(directory / name, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    return directory / "labels.csv"


def test_keyed_labels_are_joined_to_their_texts_by_split(tmp_path):
    labels = _write_twcs(tmp_path)
    train = read_keyed(labels, tmp_path / "twcs_5000.csv", "train")
    assert len(train) == len(INDUSTRIES) * len(TWEETS)
    assert train.source == "labels-train"
    assert set(train.groups) == set(INDUSTRIES)
    assert train.texts[0].startswith("@retail_brand my order never arrived")
    test = read_keyed(labels, tmp_path / "twcs_5000.csv", "test")
    assert test.texts == ["@food_brand my burrito was cold"] and test.complaint.tolist() == [1]
    everything = read_keyed(labels, tmp_path / "twcs_5000.csv")
    assert len(everything) == len(train) + 1
    assert train.subset([0, 6]).groups.tolist() == ["retail", "telecom"]


def test_a_label_without_its_text_is_refused(tmp_path):
    labels = _write_twcs(tmp_path)
    with open(labels, "a", newline="", encoding="utf-8") as fh:
        fh.write("999,1,2,x,retail,train\n")
    with pytest.raises(ValueError, match="no text for tweet_id 999"):
        read_keyed(labels, tmp_path / "twcs_5000.csv", "train")


def _separable(n_per_industry=40, seed=0) -> tuple[np.ndarray, Labelled]:
    """Complaints along one direction, each industry shifted along another (what a new industry does)."""
    rng = np.random.default_rng(seed)
    x, y, severity, groups = [], [], [], []
    for shift, industry in enumerate(INDUSTRIES):
        label = np.arange(n_per_industry) % 2
        points = rng.normal(0, 1, (n_per_industry, 8))
        points[:, 0] += 3 * label
        points[:, 1] += shift
        x.append(points)
        y.append(label)
        severity.append(np.where(label == 1, 1 + (np.arange(n_per_industry) // 2) % 4, 0))
        points[:, 2] += 2 * severity[-1]  # levels apart along a third direction
        groups += [industry] * n_per_industry
    n = len(groups)
    data = Labelled([f"text {i}" for i in range(n)], np.concatenate(y), np.concatenate(severity),
                    np.full(n, -1), "synthetic", groups=np.array(groups, dtype=object))  # fmt: skip
    return np.vstack(x), data


def test_c_and_threshold_are_chosen_on_held_out_industries():
    x, data = _separable()
    chosen = complaint_heads.choose(x, data)
    assert chosen["complaint_c"] in complaint_heads.C_GRID
    assert chosen["severity_c"] in complaint_heads.C_GRID
    scores = chosen["scores"]
    assert scores["held_out_industries"] == list(INDUSTRIES)
    best = max(scores["complaint_macro_f1"].values())
    assert best > 0.9  # the complaint direction is found whatever the industry
    picked = scores["complaint_macro_f1"][f"C {chosen['complaint_c']}, threshold {chosen['complaint_threshold']}"]
    assert picked >= best - complaint_heads.THRESHOLD_SLACK
    # the lowest threshold within the slack, for the chosen C
    lower = [t for t in complaint_heads.THRESHOLD_GRID if t < chosen["complaint_threshold"]]
    for t in lower:
        assert scores["complaint_macro_f1"][f"C {chosen['complaint_c']}, threshold {t}"] < best - 0.01


def test_held_out_scores_see_no_row_of_the_industry_they_score(monkeypatch):
    x, data = _separable()
    seen = []
    real_fit = complaint_heads.fit_linear

    def spy(x_train, y, c, weights=None, classes=None, seed=0):
        seen.append(len(y))
        return real_fit(x_train, y, c, weights, classes, seed)

    monkeypatch.setattr(complaint_heads, "fit_linear", spy)
    complaint_heads.complaint_scores(x, data, 1.0)
    assert seen == [len(data) - 40] * len(INDUSTRIES)


def test_one_industry_alone_falls_back_to_the_middle_of_the_grid():
    x, data = _separable()
    retail = data.groups == "retail"
    chosen = complaint_heads.choose(x[retail], data.subset(np.flatnonzero(retail)))
    assert (chosen["complaint_c"], chosen["complaint_threshold"], chosen["severity_c"]) == (1.0, 0.5, 1.0)


@pytest.fixture(scope="module")
def refitted(tmp_path_factory):
    from models.refit import refit

    directory = tmp_path_factory.mktemp("twcs")
    labels = _write_twcs(directory)
    out = tmp_path_factory.mktemp("artifact")
    patch = pytest.MonkeyPatch()
    patch.setenv("EARSHOT_EMBED_CACHE", str(directory / "cache"))
    heads = refit(directory, ARTIFACT, out, twcs_labels=labels)
    patch.undo()
    return out, heads


def test_refit_replaces_the_complaint_and_severity_heads_and_keeps_the_rest(refitted):
    out, heads = refitted
    before, after = load_file(str(ARTIFACT / "heads.safetensors")), load_file(str(out / "heads.safetensors"))
    for name in ("sentiment", "tier", "harm", "critical"):
        for part in ("weight", "bias"):
            assert np.array_equal(before[f"{name}.{part}"], after[f"{name}.{part}"]), name
    assert not np.array_equal(before["complaint.weight"], after["complaint.weight"])
    assert not np.array_equal(before["severity.weight"], after["severity.weight"])
    for name in ("adapter.safetensors", "urgency_branch.safetensors"):
        assert (out / name).read_bytes() == (ARTIFACT / name).read_bytes()
    assert "answer.weight" in before and "answer.weight" not in after  # it read the old complaint head
    assert heads.meta["refitted"] == {"heads": ["complaint", "severity"], "rows": 24, "from": "labels-train",
                                      "corrections": 0}  # fmt: skip
    assert "complaint_c_cross_domain_f1" not in heads.meta  # the earlier recipe's figures go
    assert heads.meta["urgency"] == load_heads(ARTIFACT).meta["urgency"]


def test_a_refitted_artifact_loads_as_a_new_version_with_the_same_urgency(refitted):
    from models.classifier import build_classifier

    out, _ = refitted
    shipped, new = build_classifier(ARTIFACT, threads=1), build_classifier(out, threads=1)
    assert new.model_version != shipped.model_version
    text = ["@acme my order never arrived and nobody answers"]
    old_p, new_p = shipped.predict(text)[0], new.predict(text)[0]
    assert np.array_equal(old_p.embedding, new_p.embedding)  # incidents read the same embedding
    # The answer head read the old complaint head's P(complaint): dropped, to be fitted again (fit-answer).
    assert new.heads.answer is None and "answer" not in new.heads.meta
    assert replace(old_p.urgency, answer=None) == new_p.urgency


def test_refit_can_replace_the_severity_head_alone(tmp_path, monkeypatch):
    from models.refit import refit

    labels = _write_twcs(tmp_path)
    monkeypatch.setenv("EARSHOT_EMBED_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "artifact"
    shutil.copytree(ARTIFACT, out)
    before = load_file(str(out / "heads.safetensors"))
    heads = refit(tmp_path, out, twcs_labels=labels, heads=("severity",))  # in place
    after = load_file(str(out / "heads.safetensors"))
    assert np.array_equal(before["complaint.weight"], after["complaint.weight"])
    assert not np.array_equal(before["severity.weight"], after["severity.weight"])
    shipped = load_heads(ARTIFACT).meta
    assert (heads.meta["complaint_threshold"], heads.meta["complaint_c"]) == (
        shipped["complaint_threshold"], shipped["complaint_c"])  # the complaint head's own figures stay
    assert heads.meta["severity_c"] in complaint_heads.C_GRID
    with pytest.raises(ValueError, match="heads to refit"):
        refit(tmp_path, out, twcs_labels=labels, heads=("sentiment",))


def test_a_fold_whose_other_industries_lack_a_severity_level_is_not_scored():
    x, data = _separable()
    only_retail_blames = (data.severity == 4) & (data.groups != "retail")
    data.severity[only_retail_blames] = 3
    # Holding out retail leaves no level 4 to learn: that fold is skipped, the other three still score.
    score = complaint_heads.severity_score(x, data, 1.0)
    assert 0.0 <= score <= 1.0
    assert np.isnan(complaint_heads.severity_score(x, data, 1.0, folds=("retail",)))  # nothing to score


def test_evaluate_scores_one_split_of_a_keyed_file(tmp_path):
    from models.classifier import build_classifier
    from models.evaluate import evaluate_file

    labels = _write_twcs(tmp_path)
    report = evaluate_file(labels, build_classifier(ARTIFACT, threads=1), tmp_path / "twcs_5000.csv", "test")
    assert "complaint macro-F1" in report and "(n=1)" in report
