"""Which words weighed most in a linear head's decision, read exactly off the encoder.

The sentence embedding is the L2-normalised mean of the token states, ``e = m / |m|`` with
``m = (1/n) sum_t h_t``, so a linear head's logit ``w.e + b`` is a sum over the tokens:
``w.e = sum_t (w.h_t) / (n |m|)``. Each token's share is its contribution to the decision, with
no approximation and no extra forward pass (``models.encoder.Encoder.encode_explained`` computes
``w.h_t`` beside the pooling). Word pieces are summed into the words they spell, by their
character offsets in the text the encoder read. Pure (numpy only).
"""

from __future__ import annotations

import re

import numpy as np

TOP_WORDS = 3
# Words shown must carry meaning of their own: a letter or digit, and not a function word. The
# contributions themselves are untouched; this only decides what is worth naming to an agent.
_CONTENT = re.compile(r"[^\W_]", re.UNICODE)
# Pieces that join into one word: letters, digits and apostrophes ("mum's"); punctuation stands alone.
_WORD_PIECE = re.compile(r"[\w'’]+", re.UNICODE)
_FUNCTION_WORDS = frozenset(
    "a an the and or but if so of to in on at by for with from as is are was were be been am i me my "
    "we our us you your it its this that these those he she his her they them their do does did "
    "has have had not no just what when how who which into onto over under up down out off about after "
    "before then than there here all any some very too also can could would should will still now".split()
)


def word_scores(text: str, offsets: list[tuple[int, int]], scores: np.ndarray) -> list[tuple[str, float]]:
    """Word pieces (``offsets`` into ``text``; (0, 0) marks a special token) joined into words:
    a piece of letters or digits that starts where the previous such piece ended continues its
    word; punctuation is a word of its own. Scores are summed."""
    words: list[list] = []
    end, joinable = -1, False
    for (start, stop), score in zip(offsets, scores, strict=True):
        if start == stop:
            continue
        piece = bool(_WORD_PIECE.fullmatch(text[start:stop]))
        if words and start == end and piece and joinable:
            words[-1][1] = stop
            words[-1][2] += float(score)
        else:
            words.append([start, stop, float(score)])
        end, joinable = stop, piece
    return [(text[start:stop], score) for start, stop, score in words]


def weighed_most(pairs: list[tuple[str, float]], top: int = TOP_WORDS) -> list[str]:
    """The words that pushed the decision up most, strongest first, each once, content words only."""
    best: dict[str, float] = {}
    for word, score in pairs:
        key = word.lower()
        if score > 0 and _CONTENT.search(word) and key not in _FUNCTION_WORDS:
            best[key] = max(best.get(key, 0.0), score)
    return sorted(best, key=lambda w: -best[w])[:top]
