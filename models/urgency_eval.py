"""Scoring urgency as the workers decide it (model, phrases, language: ``triage.urgency.decide``) on
the urgency test sets, and the EVALUATION.md section that shows it:
``python -m models urgency-report --data ../shared/data``.

The policy is a rule above the model (``triage/``), so it is passed in (``decide``) by the command
that runs the report; nothing here imports it.

The test sets (the real tweets' ``test`` split and the hand-written test posts) were labelled
before any urgency model was trained or scored on them; nothing is chosen here.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import numpy as np

from models.urgency_data import HARMS, TIER_LABELS, WRITTEN_TEST, UrgencySet, read_real, read_written

CALM = ("low", "none")
SECTION_START, SECTION_END = "<!-- urgency: python -m models urgency-report -->", "<!-- /urgency -->"


def decided_tiers(clf, texts: list[str], decide) -> list[str]:
    """The tier each post gets under ``decide`` (``triage.urgency.decide``, its default settings),
    "none" where no ticket would be opened."""
    out = []
    for text, prediction in zip(texts, clf.predict(texts), strict=True):
        decision = decide(prediction, text, followers=None, repeat_contacts=0)
        out.append(decision.tier if decision.needs_reply else "none")
    return out


def scores(labels: UrgencySet, predicted: list[str]) -> dict:
    truth = [TIER_LABELS[i] for i in labels.tier]
    critical = [i for i, t in enumerate(truth) if t == "critical"]
    per_harm = {}
    for harm_index, harm in enumerate(HARMS):
        rows = [i for i in critical if labels.harm[i] == harm_index]
        if rows:
            per_harm[harm] = (sum(predicted[i] == "critical" for i in rows), len(rows))
    called = [i for i, p in enumerate(predicted) if p == "critical"]
    return {
        "n": len(truth),
        "tier_accuracy": float(np.mean([p == t for p, t in zip(predicted, truth, strict=True)])),
        "critical_recall": sum(predicted[i] == "critical" for i in critical) / len(critical) if critical else None,
        "critical_precision": sum(truth[i] == "critical" for i in called) / len(called) if called else None,
        "calm_called_critical": sum(truth[i] in CALM for i in called),
        "answerable_left_silent": sum(t != "none" and p == "none" for p, t in zip(predicted, truth, strict=True)),
        "per_harm": per_harm,
        "confusion": Counter(zip(truth, predicted, strict=True)),
    }


def test_sets(data_dir: Path) -> list[UrgencySet]:
    return [read_real(data_dir, "test"), read_written(WRITTEN_TEST)]


def _fraction(value) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def section(results: list[tuple[str, dict]], version: str, meta: dict) -> str:
    lines = [
        SECTION_START,
        "## Urgency (tier and harm)",
        "",
        f"Model `{version}`: the urgency heads (`models/urgency_train.py`), fitted on "
        f"{meta['rows']['total']} rows ({meta['sources']}); C {meta['tier_c']} (tier), {meta['harm_c']} (harm), "
        f"`critical_at` {meta['critical_at']}, `evidence_at` {meta['evidence_at']}, all chosen by 5-fold "
        "cross-validation on those rows. Scored once here, as the workers decide "
        "(`triage.urgency.decide`, no followers or repeat contacts), on two test sets labelled before "
        "any urgency model saw them (`models/data/URGENCY.md`): the real tweets' `test` split "
        "(`urgency_real.csv`) and the hand-written test posts (`urgency_test_written.csv`, another "
        "author, mostly without trigger words). \"none\" is a post for which no ticket opens.",
        "",
        "Which set saw which decision: the training rows chose every C and both thresholds; the test "
        "sets chose nothing and each model version below was scored on them once. Two cautions. Both "
        "hand-written sets were written from the guide, whose examples name the kinds of emergency "
        "earlier versions missed: the hand-written test measures new wording of known kinds of harm, "
        "not unseen kinds. The real test split holds only 4 critical posts, too few for its critical "
        "recall to mean much; its other columns show the cost on ordinary traffic.",
        "",
        "| test set | n | tier accuracy | critical recall | critical precision | low/none called critical "
        "| needing a reply, left silent |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, s in results:
        lines.append(
            f"| {name} | {s['n']} | {s['tier_accuracy']:.2f} | {_fraction(s['critical_recall'])} | "
            f"{_fraction(s['critical_precision'])} | {s['calm_called_critical']} | {s['answerable_left_silent']} |"
        )
    for name, s in results:
        lines += ["", f"Critical recall by harm, {name}: "
                  + ", ".join(f"{h} {hit}/{n}" for h, (hit, n) in s["per_harm"].items()), "",
                  "```", "true\\pred  " + " ".join(f"{t:>8}" for t in TIER_LABELS)]  # fmt: skip
        for truth in TIER_LABELS:
            counts = " ".join(f"{s['confusion'][(truth, p)]:>8}" for p in TIER_LABELS)
            lines.append(f"{truth:<10} {counts}")
        lines.append("```")
    lines += ["", SECTION_END]
    return "\n".join(lines)


def write_section(path: Path, text: str) -> None:
    """Put ``text`` in place of the urgency section of ``path`` (appended the first time)."""
    current = path.read_text() if path.exists() else ""
    pattern = re.compile(re.escape(SECTION_START) + ".*?" + re.escape(SECTION_END), re.DOTALL)
    updated = pattern.sub(lambda _: text, current) if pattern.search(current) else current.rstrip() + "\n\n" + text
    path.write_text(updated.rstrip() + "\n")


def report(data_dir: Path, out: Path, decide, clf=None, baseline: Path | None = None) -> str:
    """Score the shipped model (and the artifact at ``baseline``, an earlier model, for comparison),
    its predictions decided by ``decide`` (``triage.urgency.decide``)."""
    from models.classifier import build_classifier, load_classifier

    clf = clf or load_classifier()
    sets = list(zip(("real tweets, test split", "hand-written test posts"), test_sets(data_dir), strict=True))
    results = [(name, scores(data, decided_tiers(clf, data.texts, decide))) for name, data in sets]
    if baseline is not None:
        earlier = build_classifier(baseline)
        results += [(f"{name}, earlier model `{earlier.model_version}`",
                     scores(data, decided_tiers(earlier, data.texts, decide))) for name, data in sets]  # fmt: skip
    text = section(results, clf.model_version, clf.heads.meta["urgency"])
    write_section(out, text)
    return text
