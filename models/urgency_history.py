"""What each urgency model version scored when it was scored, and which test set saw which decision
(``models.urgency_eval`` prints it under the figures in EVALUATION.md).

A record, not a measurement, and one that grows with each scoring: it is kept as text in
``models/data/urgency_history.md``; add a step there when a version is scored.
"""

from models.urgency_data import DATA_DIR

HISTORY_FILE = DATA_DIR / "urgency_history.md"
HISTORY = HISTORY_FILE.read_text(encoding="utf-8").rstrip("\n")
