"""Who gets an answer, and at which tier below critical: the answer head (history step 74).

The tier head learned tiers mostly from hand-written posts, where a third are critical; on real
tweets it gave chatter `low` tickets and ordinary complaints the wrong one of high, normal and low,
and the reply rule (``models.reply``: a question pattern, the complaint head, or the tier head)
answered anything any of the three asked for. The answer head is a small logistic regression that
reads what the heads already said (the tier head's P(tier), the critical head, the complaint head)
beside the reply rule's cues (a question, a "?", a spam phrase, the length), and was fitted on spent
test pairs no head trained on (``models.answer_fit``), so it learns how far to trust each on posts
they never saw. A post is left unanswered only where P(none) reaches ``silent_at``: silence costs
more than a ticket nobody needed. It never makes a post critical, nor stops one being critical.

Pure numpy: no scikit-learn in the workers.
"""

from __future__ import annotations

import math

import numpy as np

from models.reply import asks_question, is_spam
from models.urgency_data import TIER_LABELS

ANSWER_TIERS = ("high", "normal", "low", "none")  # the rows of the answer head's weight matrix
FEATURES = (*(f"log P({tier})" for tier in TIER_LABELS), "log P(critical)", "P(complaint)", "question", "?",
            "spam", "length")  # fmt: skip
LONGEST = 280  # characters: the length feature saturates at a full tweet
_FLOOR = 1e-6  # probabilities below this read as this before the log


def features(tiers: dict, p_critical: float, complaint: float, text: str) -> np.ndarray:
    """One post's row for the answer head, in ``FEATURES`` order."""
    logs = [math.log(max(float(tiers.get(tier, 0.0)), _FLOOR)) for tier in TIER_LABELS]
    cues = [asks_question(text), "?" in text, is_spam(text), min(len(text), LONGEST) / LONGEST]
    return np.array([*logs, math.log(max(float(p_critical), _FLOOR)), float(complaint), *map(float, cues)],
                    dtype=np.float32)  # fmt: skip


def answer(probabilities: dict, silent_at: float) -> str:
    """``none`` (no ticket) only where P(none) reaches ``silent_at``; else the likeliest tier that
    is answered."""
    if probabilities["none"] >= silent_at:
        return "none"
    return max((tier for tier in ANSWER_TIERS if tier != "none"), key=probabilities.get)
