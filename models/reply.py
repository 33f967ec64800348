"""Whether a mention expects an answer: complaints and questions do; praise, chit-chat, spam don't.

With the urgency heads (and an artifact that carries ``silent_at``), the tier head decides: it
learned from the labelling guide which posts need nothing (``none``: praise, thanks, chatter,
spam), and a post is answered unless its P(none) reaches ``silent_at`` (history step 61). Without
them, the model contributes the complaint decision and P(positive) and the patterns add what a
sentiment model cannot see (a question, a request, a promotional post). The brand's own posts are
known by the caller from ``direction`` and never reach this rule.
"""

from __future__ import annotations

import re

_QUESTION = re.compile(
    r"\?|\b(help|please|pls|plz|can (you|u|someone|anyone)|could (you|u)|how (do|can|long|much)"
    r"|when (will|is|does|can)|where (is|are|do)|why (is|are|do|did|does|can)|need to know"
    r"|dm (me|us)|contact me|any update|status of)\b",
    re.IGNORECASE,
)
_SPAM = re.compile(
    r"\b(giveaway|follow (me|back|us)|promo code|discount code|free followers|check out my"
    r"|subscribe to my|airdrop|whatsapp me|crypto signals?)\b",
    re.IGNORECASE,
)
PRAISE = 0.8  # P(positive) above which request words without a "?" are read as thanks


def needs_reply(text: str, is_complaint: bool, p_positive: float) -> bool:
    if is_complaint:
        return True
    if _SPAM.search(text):
        return False
    if not _QUESTION.search(text):
        return False
    # "Thank you so much for the help!" matches a request word but is praise; a "?" still asks.
    return "?" in text or p_positive < PRAISE


def answered(by_rules: bool, tiers: dict | None, silent_at: float | None) -> bool:
    """The reply decision: ``by_rules`` is ``needs_reply``'s; ``tiers`` the tier head's P(tier), where
    the artifact has one. With ``silent_at``, the tier head alone decides (P(none) below it); without,
    any of the rules and the tier head's likeliest tier asks for an answer (the rule before step 61)."""
    if tiers is None:
        return by_rules
    if silent_at is not None:
        return tiers.get("none", 0.0) < silent_at
    return by_rules or max(tiers, key=tiers.get) != "none"
