"""Whether a mention expects an answer: complaints and questions do; praise, chit-chat, spam don't.

The model contributes the complaint decision and P(positive); the patterns add what a sentiment
model cannot see (a question, a request, a promotional post). The brand's own posts are known by
the caller from ``direction`` and never reach this rule. An artifact with the answer head
(``models.answer``) reads these cues as evidence beside the heads instead.
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


def asks_question(text: str) -> bool:
    """A question or a request: a "?", or words such as "help", "can you", "any update"."""
    return bool(_QUESTION.search(text))


def is_spam(text: str) -> bool:
    return bool(_SPAM.search(text))


def needs_reply(text: str, is_complaint: bool, p_positive: float) -> bool:
    if is_complaint:
        return True
    if is_spam(text):
        return False
    if not asks_question(text):
        return False
    # "Thank you so much for the help!" matches a request word but is praise; a "?" still asks.
    return "?" in text or p_positive < PRAISE
