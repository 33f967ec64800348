"""Which urgency test sets there are and how the report marks them: the fresh pairs (``FIRST_FRESH`` to
``LAST_PAIR``), the pairs seen before, and for each version the sets it trained on or chose its
thresholds and answer head on (``models.urgency_eval`` scores them)."""

from __future__ import annotations

import re
from pathlib import Path

from models.urgency_data import FIRST_FRESH, LAST_PAIR, UrgencySet, read_real, read_written, test_split, written_test

# (real split, hand-written file, its number in the set names): the fresh pairs first. The fresh pairs
# (FIRST_FRESH to LAST_PAIR) were committed before any model was scored on them. Each earlier pair was
# fresh for some versions and is now "seen before" (the history in the section says which); all are
# shown, only the fresh pairs are clean.
PAIRS = tuple((test_split(n), written_test(n), f" {n}" if n > 1 else "", n >= FIRST_FRESH)
              for n in range(LAST_PAIR, 0, -1))  # fmt: skip
TRAINED = re.compile(r"\((fresh|seen before)\)$")
# (name, reader), two per pair.
TEST_SETS = tuple(
    entry
    for split, written, number, fresh in PAIRS
    for state in ["fresh" if fresh else "seen before"]
    for entry in (
        (f"real tweets, {split} split ({state})", lambda data_dir, split=split: read_real(data_dir, split)),
        (f"hand-written test posts{number} ({state})", lambda data_dir, written=written: read_written(written)),
    )
)


def test_sets(data_dir: Path) -> list[tuple[str, UrgencySet]]:
    return [(name, read(data_dir)) for name, read in TEST_SETS]


def marked(name: str, data: UrgencySet, meta: dict, chose: str = "") -> str:
    """``name``, marked "trained on" where ``data`` is among the training rows of the version ``meta``
    describes (its ``sources``: the spent pairs, ``urgency_data.SPENT_PAIRS``), and "chose its
    thresholds" where it is among ``chose`` (``+``-joined: the sets its thresholds or answer head
    were chosen on)."""
    if data.source in meta.get("sources", "").split("+"):
        return TRAINED.sub("(trained on)", name)
    return TRAINED.sub("(chose its thresholds)", name) if data.source in chose.split("+") else name


def chosen_on(meta: dict) -> str:
    """The sets a version's thresholds and answer head were chosen on, ``+``-joined (``meta``: all of
    heads.json)."""
    held = (meta.get("urgency", {}).get("thresholds_held_out") or {}).get("held_out", "")
    return "+".join(part for part in (held, (meta.get("answer") or {}).get("held_out", "")) if part)
