"""Where the tier head's P(none) means a post needs no answer: ``silent_at`` (``models.reply.answered``),
chosen on spent test pairs the artifact never trained on (history step 61)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from models import urgency_data
from models.heads import load_heads
from models.urgency_data import TIER_LABELS

SILENT_GRID = tuple(round(0.40 + 0.05 * step, 2) for step in range(9))  # 0.40 .. 0.80


def outcome(truth: list[str], decided: list[str], forced: list[bool], p_none: list[float],
            silent_at: float) -> tuple[float, int]:  # fmt: skip
    """Tier accuracy, and how many posts needing an answer are left silent, where a post is answered
    when ``forced`` (critical, or in a language the heads cannot read) or its P(none) is below
    ``silent_at``; an answered post gets its ``decided`` tier, the rest "none"."""
    given = [tier if force or p < silent_at else "none"
             for tier, force, p in zip(decided, forced, p_none, strict=True)]  # fmt: skip
    right = sum(g == t for g, t in zip(given, truth, strict=True))
    silent = sum(t != "none" and g == "none" for g, t in zip(given, truth, strict=True))
    return right / len(truth) if truth else 0.0, silent


def choose_silent_at(truth: list[str], decided: list[str], forced: list[bool], p_none: list[float],
                     today: list[bool]) -> dict:  # fmt: skip
    """The rule of history step 61: the highest tier accuracy among the ``SILENT_GRID`` values that
    leave no more posts needing an answer silent than today's rule (``today``: whom it answers);
    ties go to the higher value. None where no value qualifies."""
    given = [tier if reply else "none" for tier, reply in zip(decided, today, strict=True)]
    today_silent = sum(t != "none" and g == "none" for g, t in zip(given, truth, strict=True))
    today_accuracy = sum(g == t for g, t in zip(given, truth, strict=True)) / len(truth) if truth else 0.0
    table = {value: outcome(truth, decided, forced, p_none, value) for value in SILENT_GRID}
    allowed = [value for value, (_, silent) in table.items() if silent <= today_silent]
    chosen = max(allowed, key=lambda value: (table[value][0], value)) if allowed else None
    return {"silent_at": chosen, "today": [round(today_accuracy, 4), today_silent],
            "by_value": {f"{value:.2f}": [round(a, 4), s] for value, (a, s) in table.items()}}  # fmt: skip


def on_pairs(data_dir: Path, artifact_dir: Path, numbers: list[int], decide, write: bool = False) -> dict:
    """``choose_silent_at`` on spent test pairs ``numbers`` from the artifact's own heads, read under
    ``decide`` (``triage.urgency.decide``) as a ticket would be; ``write``: into the artifact's meta."""
    from models.classifier import build_classifier
    from models.urgency_recipe import _held_pair, _never_trained_on

    heads = load_heads(artifact_dir)
    held = urgency_data.concat([_held_pair(data_dir, number) for number in numbers])
    _never_trained_on(heads.meta.get("urgency", {}).get("sources", ""), held)
    clf = build_classifier(artifact_dir)
    clf.heads.meta["urgency"].pop("silent_at", None)  # today's rule: what the choice is measured against
    truth, decided, forced, p_none, today = [TIER_LABELS[i] for i in held.tier], [], [], [], []
    for text, prediction in zip(held.texts, clf.predict(held.texts), strict=True):
        decision = decide(prediction, text, followers=None, repeat_contacts=0)
        unasked = decide(dataclasses.replace(prediction, needs_reply=False), text, followers=None, repeat_contacts=0)
        decided.append(decision.tier)
        today.append(decision.needs_reply)
        forced.append(unasked.needs_reply)
        p_none.append(prediction.urgency.tiers["none"])
    chosen = {**choose_silent_at(truth, decided, forced, p_none, today), "held_out": held.source, "rows": len(held)}
    if write and chosen["silent_at"] is not None:
        heads.meta["urgency"].update(silent_at=chosen["silent_at"], silent_held_out=chosen)
        heads.save(artifact_dir)
    return chosen
