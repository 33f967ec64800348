"""The one text normalisation applied before every embedding the heads see, in training and live.

Mentions and links are removed, HTML entities decoded, whitespace collapsed:
- every mention a worker classifies is addressed to a brand, but in xfincorp 60% of tweets with an
  ``@`` are complaints against 10% of those without (news and adverts rarely mention anyone), so a
  head trained on raw text learns "has a handle -> complaint" and then calls questions and thanks
  to brands complaints; the brand's handle itself (``@united``, ``@HDFCBank_Cares``) ties the heads
  to the training industries; links mark adverts in xfincorp, not grievances.
- The words of a tweet are what carry complaint and severity, whatever the industry.

The artifact records the normalisation it was trained with (``text_normalization`` in
heads.json); the classifier applies it only then, so an older artifact keeps its raw-text inputs.
"""

from __future__ import annotations

import html
import re

NORMALIZATION = "strip-mentions-urls-v1"
# What the model and the rules read of a mention. The encoder keeps 256 tokens (about a
# thousand characters) and a Facebook comment runs to 8,000; past this, more text changes
# no judgement but costs time, and a hostile megabyte must cost what a long post does.
# The stored text, shown to agents, is never cut.
ANALYSED_CHARS = 8192

_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_MENTIONS = re.compile(r"(?:@\w+[\s,:]*)+")  # a run of handles, with the separators between them
_SPACE = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Mentions and links out, entities decoded, whitespace collapsed; never empty (".")."""
    text = html.unescape(text)
    text = _URL.sub(" ", text)
    text = _MENTIONS.sub(" ", text)
    return _SPACE.sub(" ", text).strip() or "."


def analysed(text: str) -> str:
    """The part of a mention's text that classification reads: its first ANALYSED_CHARS."""
    return text[:ANALYSED_CHARS]
