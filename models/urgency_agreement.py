"""How far two labellers agree on the real tweets' tiers, and how far the model is from both.

Some test splits' real tweets were labelled a second time (``urgency_real_second.csv``), by a
labeller who read only the guide, saw neither the first labels nor any model's output, and got the
posts in a shuffled order. The agreement between the two labellings is the ceiling the real sets can
show: a model cannot be measured more finely than its labels are repeatable. Beside it, the model's
tier accuracy against each labelling and on the rows where both agree.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from sklearn.metrics import cohen_kappa_score

from models.urgency_data import REAL, SECOND, TIER_LABELS


def _labels(path: Path) -> dict[tuple[str, str], tuple[str, str]]:
    """(file, key) -> (tier, split)."""
    with open(path, newline="", encoding="utf-8") as fh:
        return {(row["file"], row["key"]): (row["tier"], row["split"]) for row in csv.DictReader(fh)}


def paired(first: Path = REAL, second: Path = SECOND) -> dict[str, list[tuple[tuple[str, str], str, str]]]:
    """Per split: [((file, key), first tier, second tier)], in the first file's order."""
    labels, other = _labels(first), _labels(second)
    missing = set(other) - set(labels)
    if missing:
        raise ValueError(f"{len(missing)} rows of {second.name} are not in {first.name}")
    out: dict[str, list] = {}
    for key, (tier, split) in labels.items():
        if key in other:
            if other[key][1] != split:
                raise ValueError(f"{key}: split {split!r} in {first.name}, {other[key][1]!r} in {second.name}")
            out.setdefault(split, []).append((key, tier, other[key][0]))
    return out


def agreement(rows: list[tuple], predicted: list[str] | None = None) -> dict:
    """The two labellings of ``rows`` (``paired``'s) compared; with ``predicted`` (the model's decided
    tier per row, in order), its tier accuracy against each and where they agree."""
    first = [a for _, a, _ in rows]
    second = [b for _, _, b in rows]
    both = [i for i, (a, b) in enumerate(zip(first, second, strict=True)) if a == b]
    out = {
        "n": len(rows),
        "tier_agreement": len(both) / len(rows),
        "kappa": float(cohen_kappa_score(first, second, labels=list(TIER_LABELS))),
        "critical_first": first.count("critical"),
        "critical_second": second.count("critical"),
        "critical_both": sum(a == b == "critical" for a, b in zip(first, second, strict=True)),
        "reply_agreement": float(np.mean([(a == "none") == (b == "none") for a, b in zip(first, second, strict=True)])),
    }
    if predicted is not None:
        out["model_vs_first"] = float(np.mean([p == a for p, a in zip(predicted, first, strict=True)]))
        out["model_vs_second"] = float(np.mean([p == b for p, b in zip(predicted, second, strict=True)]))
        out["model_where_agreed"] = float(np.mean([predicted[i] == first[i] for i in both])) if both else None
        out["critical_both_found"] = sum(predicted[i] == "critical" for i in both if first[i] == "critical")
    return out


def lines(results: list[tuple[str, str, dict]]) -> list[str]:
    """Markdown for (split, model version, ``agreement``) triples."""
    out = [
        "Two labellings of the same real tweets (`urgency_real_second.csv`: a second labeller, who read only "
        "the guide and saw neither the first labels nor any model; in shuffled order for test7 and test8, "
        "while test13's two labellers each labelled all of it at once). Both labellers are "
        "language-model assistants working from the same guide, so their agreement bounds how repeatable "
        "a reading of the guide is, not how far two support leads would differ.",
        "",
        "| split | n | tiers agreed | kappa | needs a reply agreed | critical (first / second / both) "
        "| model | model vs first | model vs second | model where both agreed | both-critical found |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for split, version, a in results:
        where = "n/a" if a.get("model_where_agreed") is None else f"{a['model_where_agreed']:.2f}"
        out.append(
            f"| {split} | {a['n']} | {a['tier_agreement']:.2f} | {a['kappa']:.2f} | {a['reply_agreement']:.2f} "
            f"| {a['critical_first']} / {a['critical_second']} / {a['critical_both']} | `{version}` "
            f"| {a['model_vs_first']:.2f} | {a['model_vs_second']:.2f} | {where} "
            f"| {a['critical_both_found']} of {a['critical_both']} |"
        )
    return out
