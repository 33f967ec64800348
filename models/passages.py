"""Reading a post closely: its sentences one at a time, where the whole post half-suggests harm.

A mean-pooled embedding of a long post blurs the one sentence that matters ("Lovely stand at the
show yesterday... Anyway, you've taken the £1,480 twice and my mortgage goes out first thing"). So
a post the heads read as neither calm nor critical, but not far from critical, has each of its
sentences read alone by the same branch and heads; a sentence that the heads, read alone, call
critical and not calm makes the post critical, and is named in its signals.

Which posts, and when a sentence counts, are rules here (pure: no torch, no numpy); the classifier
(``models.classifier``) does the reading. An artifact opts in by naming ``VERSION`` in its urgency
meta (``models.urgency_train`` writes it), so a version without it keeps answering as it did.

``LOOK_FROM`` and ``CALM_BELOW`` were chosen on the seen urgency test sets (the 24 sets of pairs 1
to 12) with the outputs of the heads shipped then (`f80f8e54`; step 18 of
``models/data/urgency_history.md``): they keep the reading to about 4% of real tweets, and a
sentence must clear the model's own ``critical_at`` and ``calm_at``. On the next version's heads
they let four times as many calm posts through: like the thresholds, they should be chosen per
version on the probes' held-out rows.
"""

from __future__ import annotations

import re

from models.urgency_tier import calmness, critical_by_head

VERSION = "passages-v1"  # part of the model version where the artifact reads passages
LOOK_FROM = 0.1  # the whole post's P(critical) from which its sentences are read alone
CALM_BELOW = 0.5  # ... while its tier head's P(low) + P(none) stays under this
MIN_WORDS = 3  # a shorter sentence carries too little to be read alone
MOST = 12  # sentences read per post at most: a huge post costs no more than a long one

_BREAK = re.compile(r"(?<=[.!?])\s+|\n+")


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


def worth_reading_closely(tiers: dict, p_critical: float, critical_at: float, calm_at: float | None) -> bool:
    """Whether the whole post's heads leave it near critical without deciding it: P(critical) from
    ``LOOK_FROM``, not read as calm (under ``CALM_BELOW``), and not already critical."""
    if p_critical < LOOK_FROM or calmness(tiers) >= CALM_BELOW:
        return False
    return not critical_by_head(tiers, p_critical, critical_at, calm_at)


# A sentence read alone counts by the model's own thresholds, as a whole post does.
critical_alone = critical_by_head
