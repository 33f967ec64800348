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

from models.urgency_data import (
    HARMS,
    REAL,
    TIER_LABELS,
    WRITTEN_TEST,
    WRITTEN_TEST2,
    WRITTEN_TEST3,
    WRITTEN_TEST4,
    WRITTEN_TEST5,
    WRITTEN_TEST6,
    UrgencySet,
    read_real,
    read_written,
)

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


# (name, reader): the fresh sets first. "test6" and the sixth hand-written set were committed before
# any model was scored on them. Each earlier pair was fresh for some versions and is now "seen
# before" (the history in the section says which); all are shown, only the fresh pair is clean.
TEST_SETS = (
    ("real tweets, test6 split (fresh)", lambda data_dir: read_real(data_dir, "test6")),
    ("hand-written test posts 6 (fresh)", lambda data_dir: read_written(WRITTEN_TEST6)),
    ("real tweets, test5 split (seen before)", lambda data_dir: read_real(data_dir, "test5")),
    ("hand-written test posts 5 (seen before)", lambda data_dir: read_written(WRITTEN_TEST5)),
    ("real tweets, test4 split (seen before)", lambda data_dir: read_real(data_dir, "test4")),
    ("hand-written test posts 4 (seen before)", lambda data_dir: read_written(WRITTEN_TEST4)),
    ("real tweets, test3 split (seen before)", lambda data_dir: read_real(data_dir, "test3")),
    ("hand-written test posts 3 (seen before)", lambda data_dir: read_written(WRITTEN_TEST3)),
    ("real tweets, test2 split (seen before)", lambda data_dir: read_real(data_dir, "test2")),
    ("hand-written test posts 2 (seen before)", lambda data_dir: read_written(WRITTEN_TEST2)),
    ("real tweets, test split (seen before)", lambda data_dir: read_real(data_dir, "test")),
    ("hand-written test posts (seen before)", lambda data_dir: read_written(WRITTEN_TEST)),
)


def test_sets(data_dir: Path) -> list[tuple[str, UrgencySet]]:
    return [(name, read(data_dir)) for name, read in TEST_SETS]


def severity_against_tier(data_dir: Path) -> Counter:
    """(xfincorp's severity label, this guide's tier) over every xfincorp row labelled for urgency:
    where the complaint-severity scale and the support tiers disagree."""
    import csv

    with open(Path(data_dir) / "xfincorp.csv", newline="", encoding="utf-8") as fh:
        severity = [row["severity"] for row in csv.DictReader(fh)]
    with open(REAL, newline="", encoding="utf-8") as fh:
        rows = [row for row in csv.DictReader(fh) if row["file"] == "xfincorp.csv"]
    return Counter((severity[int(row["key"])], row["tier"]) for row in rows)


def _fraction(value) -> str:
    return "n/a" if value is None else f"{value:.2f}"


# A record, not a measurement: what each model version scored when it was scored, and what had seen what.
HISTORY = """History of the urgency figures (the table above repeats each scoring; the models are deterministic):
1. 2026-12-05, `9d106573` (shipped until step 6): built, and scored on the first two test sets
   three times in all, so those sets are no longer clean (rows marked "seen before").
2. 2026-12-06, the second pair labelled (`test2`, 300 real tweets; 300 hand-written posts);
   `9d106573` scored on them once, before any new training.
3. `2b16f873`, not shipped: 640 more hand-written and 600 more real training rows; the encoder's
   adapter also learns the urgency rows (`python -m models train --adapter-urgency`), thresholds
   from a held-out probe fold. Scored once: on hand-written set 2 critical recall 0.88 ->
   0.96 and tier accuracy 0.69 -> 0.78. It is not shipped because the embedding it gives also
   groups incidents: posts of one urgency drew together whatever their subject (real same-brand
   complaint pairs reaching cosine 0.45: 3.7% -> 6.5%), the twcs replay formed 6 incidents where
   it had formed 3, and in the paraphrase tests unrelated app complaints joined airline
   booking-site outages. Re-calibrating the clustering thresholds on the tuning bursts and real
   traffic (neighbours 0.50, centre 0.72), or projecting the urgency heads' directions out of the
   clustering vector (0.42, 0.68), kept the tuning bursts (78/84) but not the held-out ones (30/36
   -> 24/36) nor the paraphrase tests. Its rows (tier accuracy / critical recall / precision / calm
   called critical / left silent): test2 0.60 / 1 of 6 / 0.10 / 2 / 21; hand-written 2 0.78 / 0.96 /
   0.78 / 3 / 3.
4. `d9a6b94c`, not shipped: the same training rows, urgency heads only, on the shipped adapter (so
   incidents are unchanged). Scored once: its grouped cross-validation chose `critical_at` 0.7
   (0.6 before), and on hand-written set 2 critical recall fell to 0.75 while precision
   rose to 0.82. Its rows: test2 0.61 / 1 of 6 / 0.12 / 3 / 18; hand-written 2 0.68 / 0.75 / 0.82
   / 3 / 6.
Decisions that used a test set, written down: the 240 boundary posts of `urgency_written_more_c.csv`
were commissioned after step 2 showed high posts called critical (the training rows'
cross-validation showed it too); keeping `9d106573` over `d9a6b94c` used the second pair (its lower
critical recall there). Both of those sets were scored three times and their errors read.
5. 2026-12-06, a third fresh pair labelled and committed (`test3`, 300 real tweets; 300 hand-written
   posts in 40 new industries) before any model was scored on it.
6. `e24062e7` (shipped): the same training rows as step 4; the urgency heads read their own copy of
   the encoder's last block (`models/urgency_branch.py`), trained on those rows, so complaints,
   severity and incidents keep the shipped embedding to the bit. Recipe chosen on the training
   rows only (on a held-out fifth grouped by industry, linear heads refitted on the rest: critical
   ROC AUC 0.926 -> 0.955, average precision 0.725 -> 0.844, tier accuracy 0.628 -> 0.671);
   thresholds from a probe branch on the same fifth. Scored once on the fresh pair, beside
   `9d106573`, under a rule written before the scoring (ship if, on the hand-written set, critical
   recall is no lower, tier accuracy at most 0.01 lower and no more calm posts are called
   critical, and on the real set it finds at most one fewer critical post and calls or silences
   at most three more): it passed, and ships. Its errors were not read post by post.
7. 2026-12-06, a fourth fresh pair labelled and committed (`test4`, 300 real tweets; 300
   hand-written posts in 40 more industries) before any model was scored on it. Then more training
   rows, commissioned after step 6's scoring showed calm posts called critical and few real
   critical tweets found: 500 real tweets (`--seed 5`) and 314 hand-written posts
   (`urgency_written_more_d.csv`: terse critical posts, calm posts that mention danger).
8. `e239b370`, not shipped: step 6's recipe on those 4,296 rows. The held-out fifth now holds more
   calm posts that mention danger, and chose `critical_at` 0.5 (0.25 for `e24062e7`). Scored once
   on the fourth pair beside `e24062e7`, under a rule written before the scoring (critical recall
   at most 0.02 lower, no more calm posts called critical, tier accuracy at most 0.01 lower on the
   hand-written set; on the real set at most one fewer critical post found, at most three more
   called critical or left silent). On the hand-written set it called 1 calm post critical
   (`e24062e7`: 4) but its critical recall fell to 0.90 (0.96), and on the real set it found none
   of the 4 critical tweets (`e24062e7`: 2): it failed the rule, and `e24062e7` stays. Its training
   rows stay in the repository; `python -m models train-urgency --branch` on them gives `e239b370`.
   The fourth pair has now been scored by two versions; the next version needs a fifth.
9. 2026-12-06, a fifth fresh pair labelled and committed (`test5`, 300 real tweets drawn with
   `--seed 8`; 300 hand-written posts in 40 more industries, by two authors) before any model was
   scored on it.
10. The next candidate, step 8's rows and recipe with three changes chosen on the training rows
   only. (a) The thresholds come from five probe branches and heads, each trained on four fifths
   of the rows, scored on the fifth it did not see (step 8's single fifth moved `critical_at` from
   0.25 to 0.5 when 814 rows were added). (b) `calm_at`: where the tier head reads a post as calm
   (P(low) + P(none) at least `calm_at`), the critical head alone does not make it critical;
   chosen with `critical_at` as a pair, by the same rule (best F2 calling at most 2% of the calm
   posts critical). On two of those folds' probabilities, read before the rule was coded, the gate
   gave a better trade on hand-written rows than a higher threshold (recall 0.86 with 5 of 239
   calm posts called critical, against 0.81 with 4 from `critical_at` 0.55 alone). (c) The branch
   computes in bfloat16 (the shipped block stays float32), for speed. Ship rule, written and
   committed before the candidate was scored on the fifth pair, beside `e24062e7`: on hand-written
   set 5, critical recall at least 0.90 and at most 0.03 below `e24062e7`'s, tier accuracy at most
   0.01 below, and fewer calm posts called critical (or as many, with higher recall); on real set
   5, at most one fewer critical post found, and at most three more calm posts called critical or
   posts needing a reply left silent.
   The candidate is `62886753` (thresholds chosen: `critical_at` 0.35, `calm_at` 0.3,
   `evidence_at` 0.15; without the gate the same rule needed `critical_at` 0.6, F2 0.753 against
   0.793). Scored once on the fifth pair (tier accuracy / critical recall / precision / calm called
   critical / left silent): hand-written 5 `e24062e7` 0.75 / 0.99 / 0.79 / 10 / 1, `62886753` 0.76
   / 0.92 / 0.86 / 3 / 1; real test5 (3 critical) `e24062e7` 0.58 / 2 of 3 / 0.09 / 10 / 4,
   `62886753` 0.63 / 2 of 3 / 0.25 / 0 / 5. It failed the rule on one clause: its recall, 0.92,
   lies 0.075 below `e24062e7`'s (allowed: 0.03). `e24062e7` stays.
11. The 0.03 clause asked the candidate to keep a recall that only a model calling many calm posts
   critical reaches; the issue's target is recall at least 0.9 with no calm post called critical.
   Seeing step 10, the rule was rewritten (so the fifth pair saw this decision) and a sixth fresh
   pair was labelled and committed (`test6`, 300 real tweets drawn with `--seed 10`; 300
   hand-written posts in 40 more industries, by two more authors) before either model was scored on
   it. Rule, written before that scoring: ship `62886753` if, on hand-written set 6, its critical
   recall is at least 0.90, it calls fewer calm posts critical than `e24062e7`, and its tier
   accuracy is at most 0.01 below; and if, on real set 6, it finds at most one fewer critical post
   and calls at most three more calm posts critical or leaves at most three more posts needing a
   reply silent.
No weight, C, threshold, cue or label was chosen on a test set."""


def _read_by(meta: dict) -> str:
    if not (branch := meta.get("branch")):
        return "the encoder's embeddings"
    return (f"the urgency branch's embeddings (`models/urgency_branch.py`: a second copy of the encoder's last "
            f"block with rank-{branch['rank']} updates, {branch['steps']} steps on the same rows, computing in "
            f"{branch.get('precision', 'float32')}; complaints, "
            "severity and incidents read the shipped block, unchanged)")


def _intro(version: str, meta: dict) -> list[str]:
    held = meta.get("thresholds_held_out")
    if held and held.get("folds"):
        chosen = (f"on the probabilities {held['folds']} probe branches and heads, each trained with the same recipe "
                  f"on the other folds of the {held['rows']} training rows (grouped by industry), gave the rows "
                  "they did not see")  # fmt: skip
    elif held:
        chosen = (f"on a held-out fifth of the training rows ({held['rows']} rows, grouped by industry) that "
                  "neither a probe trained with the same recipe (adapter or branch, and heads) saw")
    else:
        chosen = "by 5-fold cross-validation on the training rows"
    gate = f", `calm_at` {meta['calm_at']}" if meta.get("calm_at") is not None else ""
    return [
        SECTION_START,
        "## Urgency (tier and harm)",
        "",
        f"Shipped model `{version}`: the urgency heads (`models/urgency_train.py`) on {_read_by(meta)} "
        f"of {meta['rows']['total']} training rows ({meta['sources']}); C {meta['tier_c']} (tier), "
        f"{meta['harm_c']} (harm), {meta['critical_c']} (critical) by 5-fold cross-validation; "
        f"`critical_at` {meta['critical_at']}{gate} and `evidence_at` {meta['evidence_at']} {chosen}. "
        "Scored as the workers decide (`triage.urgency.decide`, no followers or repeat contacts); "
        "\"none\" is a post for which no ticket opens. Labelling guide and data: `models/data/URGENCY.md`.",
        "",
        "The fresh pair (300 real tweets drawn and labelled for `test6`; 300 hand-written posts by an "
        "author who read only the guide, in 40 industries no other file uses) was committed before any "
        "model was scored on it. The older sets were scored on while earlier versions were built "
        "(\"seen before\"). Cautions: hand-written posts are written from the guide, so they measure "
        "new wording and new industries for known kinds of harm; the real sets hold few critical posts "
        "(4, 3, 4, 9, 6 and 4), too few for their critical recall to mean much, and their other columns show the "
        "cost on ordinary traffic. The history below says which set saw which decision.",
        "",
        "| test set | model | n | tier accuracy | critical recall | critical precision "
        "| low/none called critical | needing a reply, left silent |",
        "|---|---|---|---|---|---|---|---|",
    ]


def _row(name: str, version: str, s: dict) -> str:
    return (f"| {name} | `{version}` | {s['n']} | {s['tier_accuracy']:.2f} | {_fraction(s['critical_recall'])} | "
            f"{_fraction(s['critical_precision'])} | {s['calm_called_critical']} "
            f"| {s['answerable_left_silent']} |")  # fmt: skip


def _confusion(counts: Counter, rows, columns, corner: str) -> list[str]:
    lines = ["```", f"{corner:<10} " + " ".join(f"{t:>8}" for t in columns)]
    lines += [f"{truth:<10} " + " ".join(f"{counts[(truth, p)]:>8}" for p in columns) for truth in rows]
    return lines + ["```"]


def section(results: list, version: str, meta: dict, earlier: list | None = None, severity=None) -> str:
    """``results``: (set name, scores) of the shipped model; ``earlier``: (set name, version, scores)."""
    lines = _intro(version, meta)
    for name, s in results:
        lines.append(_row(name, version, s))
    lines += [_row(name, earlier_version, s) for name, earlier_version, s in earlier or []]
    for name, s in results:
        lines += ["", f"Critical recall by harm, {name}: "
                  + ", ".join(f"{h} {hit}/{n}" for h, (hit, n) in s["per_harm"].items()), ""]  # fmt: skip
        lines += _confusion(s["confusion"], TIER_LABELS, TIER_LABELS, "true\\pred")
    if severity:
        lines += ["", "Severity (Jin & Aletras 2021, as xfincorp's annotators rated it) against this guide's "
                  "tiers, every xfincorp row labelled for urgency (train and test). The scale rates how a "
                  "complaint reproaches the brand, not what is at stake: most `blame` (4) posts are `high` or "
                  "`normal`, while critical posts come from every level, and many level-1 complaints need "
                  "no reply at all. Severity stays a signal; it does not set the tier.", ""]  # fmt: skip
        lines += _confusion(severity, ("0", "1", "2", "3", "4"), TIER_LABELS, "severity")
    lines += ["", HISTORY, "", SECTION_END]
    return "\n".join(lines)


def write_section(path: Path, text: str) -> None:
    """Put ``text`` in place of the urgency section of ``path`` (appended the first time)."""
    current = path.read_text() if path.exists() else ""
    pattern = re.compile(re.escape(SECTION_START) + ".*?" + re.escape(SECTION_END), re.DOTALL)
    updated = pattern.sub(lambda _: text, current) if pattern.search(current) else current.rstrip() + "\n\n" + text
    path.write_text(updated.rstrip() + "\n")


def report(data_dir: Path, out: Path, decide, clf=None, baseline: list[Path] = ()) -> str:
    """Score the shipped model (and the artifacts at ``baseline``, other models, for comparison),
    its predictions decided by ``decide`` (``triage.urgency.decide``)."""
    from models.classifier import build_classifier, load_classifier

    clf = clf or load_classifier()
    sets = test_sets(data_dir)
    results = [(name, scores(data, decided_tiers(clf, data.texts, decide))) for name, data in sets]
    earlier = []
    for path in baseline:
        other = build_classifier(path)
        earlier += [(name, other.model_version, scores(data, decided_tiers(other, data.texts, decide)))
                    for name, data in sets]  # fmt: skip
    severity = severity_against_tier(data_dir)
    text = section(results, clf.model_version, clf.heads.meta["urgency"], earlier, severity)
    write_section(out, text)
    return text
