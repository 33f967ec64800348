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

from models import urgency_agreement
from models.urgency_data import HARMS, REAL, TIER_LABELS, UrgencySet, concat, read_written
from models.urgency_history import HISTORY
from models.urgency_sets import PAIRS, chosen_on, marked, test_sets
from models.urgency_tier import CALM

SECTION_START, SECTION_END = "<!-- urgency: python -m models urgency-report -->", "<!-- /urgency -->"


def ticket_tier(decide, prediction, text: str) -> str:
    """The tier a post gets under ``decide`` (``triage.urgency.decide``, its default settings), "none"
    where no ticket would be opened."""
    decision = decide(prediction, text, followers=None, repeat_contacts=0)
    return decision.tier if decision.needs_reply else "none"


def decided_tiers(clf, texts: list[str], decide) -> list[str]:
    """``ticket_tier`` of each post, as ``clf`` reads it."""
    return [ticket_tier(decide, prediction, text) for text, prediction in zip(texts, clf.predict(texts), strict=True)]


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


def together(sets: list, decided: dict, version: str) -> list[tuple[str, str, dict]]:
    """The fresh sets of each kind scored as one (history step 73), where there are several."""
    out = []
    for kind in ("real tweets", "hand-written test posts"):
        fresh = [(name, data) for name, data in sets if name.startswith(kind) and name.endswith("(fresh)")]
        if len(fresh) > 1:
            data = concat([data for _, data in fresh])
            predicted = [tier for name, _ in fresh for tier in decided[(version, name)]]
            out.append((f"{kind}, the fresh pairs together (fresh)", version, scores(data, predicted)))
    return out


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


def _read_by(meta: dict) -> str:
    if not (branch := meta.get("branch")):
        return "the encoder's embeddings"
    return (f"the urgency branch's embeddings (`models/urgency_branch.py`: a second copy of the encoder's last "
            f"block with rank-{branch['rank']} updates, {branch['steps']} steps on the same rows, computing in "
            f"{branch.get('precision', 'float32')}; complaints, "
            "severity and incidents read the shipped block, unchanged)")


def _fresh_splits() -> str:
    return " and ".join(f"`{split}`" for split, _, _, fresh in PAIRS if fresh)


def _fresh_industries() -> int:
    return len({group for _, written, _, fresh in PAIRS if fresh for group in read_written(written).groups})


def _answered(meta: dict) -> str:
    if not (fitted := meta.get("answer")):
        return ""
    return (f" Below critical, the tier and whether a ticket opens come from the answer head (`models/answer.py`), "
            f"fitted on {fitted['rows']} rows of spent pairs the version never trained on "
            f"({fitted['held_out'].replace('+', ', ')}); no ticket where its P(none) reaches {fitted['silent_at']}.")


def _intro(version: str, meta: dict, real_critical: list[int], trained: bool = False, chose: bool = False) -> list[str]:
    held = meta.get("thresholds_held_out")
    if held and held.get("folds"):
        chosen = (f"on the probabilities {held['folds']} probe branches and heads, each trained with the same recipe "
                  f"on the other folds of the {held['rows']} training rows (grouped by industry), gave the rows "
                  "they did not see")  # fmt: skip
    elif held and held.get("held_out"):
        chosen = (f"on spent test pairs the version never trained on ({held['rows']} rows: "
                  f"{held['held_out'].replace('+', ', ')}), from its own probabilities "
                  "(`rechoose-thresholds --held-pair`)")
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
        f"\"none\" is a post for which no ticket opens.{_answered(meta)} Labelling guide and data: "
        "`models/data/URGENCY.md`.",
        "",
        f"The fresh pairs (300 real tweets each, drawn and labelled for {_fresh_splits()}; 300 hand-written posts "
        f"each by two authors who read only the guide, in {_fresh_industries()} industries no other file uses) were "
        "committed before any model was scored on them, and are also scored together (history step 73). "
        "The older sets were scored on while earlier versions were built "
        "(\"seen before\"). Cautions: hand-written posts are written from the guide, so they measure "
        "new wording and new industries for known kinds of harm; the real sets hold few critical posts "
        f"({', '.join(map(str, real_critical))}), too few for their critical recall to mean much, and their other "
        "columns show the cost on ordinary traffic. The history below says which set saw which decision.",
        *(["", "Sets marked \"trained on\" are spent pairs among that version's training rows "
            "(`urgency_data.SPENT_PAIRS`): its figures on them are training figures, not evidence."]
          if trained else []),
        *(["", "Sets marked \"chose its thresholds\" chose that version's thresholds or fitted its answer head: "
            "not evidence either."] if chose else []),
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


def section(results: list, version: str, meta: dict, earlier: list | None = None, severity=None,
            agreed: list | None = None, computed: str | None = None) -> str:  # fmt: skip
    """``results``: (set name, scores) of the shipped model; ``earlier``: (set name, version, scores);
    ``agreed``: (split, version, ``urgency_agreement.agreement``); ``computed``: how this CPU ran it."""
    real_critical = [sum(n for _, n in s["per_harm"].values()) for name, s in results
                     if name.startswith("real") and "together" not in name]  # fmt: skip
    trained = any("(trained on)" in row[0] for row in [*results, *(earlier or [])])
    chose = any("(chose its thresholds)" in row[0] for row in [*results, *(earlier or [])])
    lines = _intro(version, meta, real_critical, trained, chose)
    if computed:
        lines[-2:-2] = [f"These figures were computed {computed}.", ""]
    for name, s in results:
        lines.append(_row(name, version, s))
    lines += [_row(name, earlier_version, s) for name, earlier_version, s in earlier or []]
    for name, s in results:
        per_harm = ", ".join(f"{h} {hit}/{n}" for h, (hit, n) in s["per_harm"].items()) or "no critical post"
        lines += ["", f"Critical recall by harm, {name}: {per_harm}", ""]
        lines += _confusion(s["confusion"], TIER_LABELS, TIER_LABELS, "true\\pred")
    if agreed:
        lines += ["", *urgency_agreement.lines(agreed)]
    if severity:
        lines += ["", "Severity (Jin & Aletras 2021, as xfincorp's annotators rated it) against this guide's "
                  "tiers, every xfincorp row labelled for urgency (train and test). The scale rates how a "
                  "complaint reproaches the brand, not what is at stake: most `blame` (4) posts are `high` or "
                  "`normal`, while critical posts come from every level, and many level-1 complaints need "
                  "no reply at all. Severity stays a signal; it does not set the tier.", ""]  # fmt: skip
        lines += _confusion(severity, ("0", "1", "2", "3", "4"), TIER_LABELS, "severity")
    lines += ["", HISTORY, "", SECTION_END]
    return "\n".join(lines)


def labellers(sets: list, versions: list[str], decided: dict) -> list[tuple[str, str, dict]]:
    """Each twice-labelled split (``models.urgency_agreement``) with the labellers' agreement and each
    model's distance from them: (split, version, agreement). ``decided``: (version, set name) -> the
    tiers ``decided_tiers`` gave that set's posts."""
    real = {data.source: (name, data) for name, data in sets}
    out = []
    for split, rows in urgency_agreement.paired().items():
        if f"real-{split}" not in real:  # a pair committed for the next version, not yet read by any
            continue
        name, data = real[f"real-{split}"]
        for version in versions:
            by_key = dict(zip(data.groups, decided[(version, name)], strict=True))
            predicted = [by_key[f"{file}:{key}"] for (file, key), _, _ in rows]
            out.append((split, version, urgency_agreement.agreement(rows, predicted)))
    return out


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
    models = [clf, *(build_classifier(path) for path in baseline)]
    sets = test_sets(data_dir)
    decided = {(m.model_version, name): decided_tiers(m, data.texts, decide) for m in models for name, data in sets}

    def scored(m) -> list:
        version, meta, chose = m.model_version, m.heads.meta["urgency"], chosen_on(m.heads.meta)
        return [*((marked(name, data, meta, chose), version, scores(data, decided[(version, name)]))
                  for name, data in sets), *together(sets, decided, version)]  # fmt: skip

    results = [(name, s) for name, _, s in scored(clf)]
    earlier = [row for m in models[1:] for row in scored(m)]
    agreed = labellers(sets, [m.model_version for m in models], decided)
    computed = (f"with the branch in {clf.encoder.branch_precision}, run by {clf.encoder.runtime} (where bfloat16 "
                "is native the branch computes in it, and a handful of posts may change tier)")  # fmt: skip
    meta = {**clf.heads.meta["urgency"], "answer": clf.heads.meta.get("answer")}
    text = section(results, clf.model_version, meta, earlier, severity_against_tier(data_dir),
                   agreed, computed)  # fmt: skip
    write_section(out, text)
    return text
