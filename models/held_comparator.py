"""What the shipped version does on held pairs: the floor and the ceilings a candidate's thresholds and
answer head are chosen against (history step 87).

A candidate is shipped only if, on the fresh pairs, it finds at least as many real critical tweets as the
shipped version and leaves few more posts needing a reply silent (step 20's clauses, history step 73).
Chosen on held pairs by rules that did not know those clauses, three candidates in a row lost by one
real critical tweet. So ``rechoose-thresholds --against`` and ``fit-answer --against`` read the same held
pairs with the shipped artifact first, and hold the candidate to its counts there:
- ``real_critical_found``: real critical tweets the shipped version calls critical (the thresholds'
  ``real_floor``, ``models.urgency_train``);
- ``real_silent`` and ``written_silent``: posts needing a reply it leaves without a ticket (the answer
  head's ceilings, ``models.answer_fit``).
Counted as the workers decide (``decide``: ``triage.urgency.decide``, passed in by the command).
"""

from __future__ import annotations

from pathlib import Path

from models.urgency_data import TIER_LABELS
from models.urgency_eval import decided_tiers


def counts(truth: list[str], tiers: list[str]) -> tuple[int, int]:
    """(critical posts called critical, posts needing a reply given no ticket)."""
    pairs = list(zip(truth, tiers, strict=True))
    return sum(t == p == "critical" for t, p in pairs), sum(t != "none" and p == "none" for t, p in pairs)


def on_held(data_dir: Path, artifact_dir: Path, numbers: list[int], decide) -> dict:
    """The artifact's counts on held pairs ``numbers`` (spent, and not among its training rows)."""
    from models.classifier import build_classifier
    from models.urgency_recipe import held_pair_sets, never_trained_on

    clf = build_classifier(artifact_dir)
    sources = clf.heads.meta.get("urgency", {}).get("sources", "")
    out = {"version": clf.model_version, "pairs": list(numbers), "real_critical_found": 0, "real_silent": 0,
           "written_silent": 0}  # fmt: skip
    for number in numbers:
        for name, data in zip(("real", "written"), held_pair_sets(data_dir, number), strict=True):
            never_trained_on(sources, data)
            found, silent = counts([TIER_LABELS[i] for i in data.tier], decided_tiers(clf, data.texts, decide))
            out[f"{name}_silent"] += silent
            if name == "real":
                out["real_critical_found"] += found
    return out
