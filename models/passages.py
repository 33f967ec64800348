"""Reading a post closely: its sentences one at a time, where the whole post half-suggests harm.

A mean-pooled embedding of a long post blurs the one sentence that matters ("Lovely stand at the
show yesterday... Anyway, you've taken the £1,480 twice and my mortgage goes out first thing"). So
a post the heads read as neither calm nor critical, but not far from critical, has each of its
sentences read alone by the same branch and heads; a sentence that the heads, read alone, call
critical and not calm makes the post critical, and is named in its signals.

Which posts are read is the model's ``Gate``: P(critical) from ``look_from``, P(low) + P(none) under
``calm_below``. It belongs to the heads, like their thresholds: ``models.urgency_train`` chooses it
(``choose_gate``) on the rows the threshold probes held out, with their sentences read by the same
probes, and writes it into the artifact's urgency meta. (``passages-v1`` fixed both numbers, chosen on
the outputs of one version's heads; on the next version's heads they let four times as many calm
posts through.) An artifact without a gate reads no passages.

The rules here are pure (no torch, no numpy); the classifier (``models.classifier``) does the reading.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from models.urgency_tier import CALM, calmness, critical_by_head

VERSION = "passages-v2"  # part of the model version where the artifact reads passages
LOOK_GRID = (0.05, 0.1, 0.15, 0.2, 0.3)  # the whole post's P(critical) from which its sentences are read
CALM_GRID = (0.3, 0.4, 0.5, 0.6)  # ... while its tier head's P(low) + P(none) stays under this
MIN_WORDS = 3  # a shorter sentence carries too little to be read alone
MOST = 12  # sentences read per post at most: a huge post costs no more than a long one

_BREAK = re.compile(r"(?<=[.!?])\s+|\n+")


@dataclass(frozen=True)
class Gate:
    """Which posts have their sentences read alone: P(critical) from ``look_from``, calmness under
    ``calm_below``, and not already critical."""

    look_from: float
    calm_below: float

    def meta(self) -> dict:
        return {"version": VERSION, "look_from": self.look_from, "calm_below": self.calm_below}


def gate_from_meta(value) -> Gate | None:
    """The artifact's gate (its urgency meta's ``passages``); None: it reads no passages. An artifact
    written for another way of reading passages is refused rather than read this way."""
    if value is None:
        return None
    version = value.get("version") if isinstance(value, dict) else value
    if version != VERSION:
        raise ValueError(f"artifact reads passages as {version!r}, this code as {VERSION!r}")
    return Gate(float(value["look_from"]), float(value["calm_below"]))


def sentences(text: str) -> list[str]:
    """The sentences of ``text`` worth reading alone (at least ``MIN_WORDS`` words), at most ``MOST``;
    none for a post of fewer than two such sentences (reading it alone is reading the post)."""
    found = []
    for part in _BREAK.split(text):
        if len(part.split()) >= MIN_WORDS:
            found.append(part.strip())
            if len(found) == MOST:
                break
    return found if len(found) >= 2 else []


def worth_reading_closely(tiers: dict, p_critical: float, critical_at: float, calm_at: float | None,
                          gate: Gate) -> bool:  # fmt: skip
    """Whether the whole post's heads leave it near critical without deciding it: P(critical) from the
    gate's ``look_from``, not read as calm (under its ``calm_below``), and not already critical."""
    if p_critical < gate.look_from or calmness(tiers) >= gate.calm_below:
        return False
    return not critical_by_head(tiers, p_critical, critical_at, calm_at)


# A sentence read alone counts by the model's own thresholds, as a whole post does.
critical_alone = critical_by_head


def _f2(found: int, called: int, critical: int) -> float:
    if not found:
        return 0.0
    precision, recall = found / called, found / critical
    return 5 * precision * recall / (4 * precision + recall)


def choose_gate(truth: list[str], decided: list[str], tiers: list[dict], p_critical: list[float],
                alone: list[bool], critical_at: float, calm_at: float | None) -> tuple[Gate | None, dict]:  # fmt: skip
    """The gate for held-out rows: ``truth`` their labelled tiers, ``decided`` the tiers the whole-post
    heads gave them (``models.urgency_tier.model_tier``), ``tiers`` / ``p_critical`` the heads' outputs,
    ``alone`` whether one of the row's sentences, read alone, counts (``critical_alone``).

    The gate with the best F2 on critical (as ``critical_at`` is chosen), among those whose extra
    critical calls are no more often calm posts than the heads' own calls are: reading passages must not
    be the way calm posts become critical. None where no gate raises F2. Returns it with its scores."""
    critical = sum(t == "critical" for t in truth)
    calls = [i for i, d in enumerate(decided) if d == "critical"]
    found = sum(truth[i] == "critical" for i in calls)
    calm_share = sum(truth[i] in CALM for i in calls) / len(calls) if calls else 0.0
    base = _f2(found, len(calls), critical)
    best, best_key, scores = None, (base, 0), {}
    for look_from in LOOK_GRID:
        for calm_below in CALM_GRID:
            gate = Gate(look_from, calm_below)
            added = [i for i, d in enumerate(decided) if d != "critical" and alone[i]
                     and worth_reading_closely(tiers[i], p_critical[i], critical_at, calm_at, gate)]  # fmt: skip
            calm = sum(truth[i] in CALM for i in added)
            right = sum(truth[i] == "critical" for i in added)
            f2 = _f2(found + right, len(calls) + len(added), critical)
            valid = bool(added) and calm / len(added) <= calm_share
            scores[f"{look_from}/{calm_below}"] = {"added": len(added), "critical": right, "calm": calm,
                                                   "f2": round(f2, 4), "valid": valid}  # fmt: skip
            if valid and (f2, -len(added)) > best_key:
                best, best_key = gate, (f2, -len(added))
    return best, {"f2_without": round(base, 4), "calm_share_of_calls": round(calm_share, 4), "by_gate": scores}
