"""Migration 0002: rows queued before the upgrade take the lane they would be given now."""

from sqlalchemy import create_engine, text

from store import migrate
from store.db import dispose_all
from triage import lanes as rules

ROWS = [
    ("parent:1", "parent"),
    ("update:1:a", "update"),
    ("note:follow-up:5", "note"),
    ("note:sla:1:first_response:breach:1700000000:0", "note"),
    ("note:sla:1:first_response:reminder:1700000000:3", "note"),
    ("escalation:sla:1:first_response:breach:1700000000:0", "escalation"),
    ("channel:digest:2026-12-01", "channel"),
    ("incident:7", "incident"),
]
EXPECTED = {
    "parent:1": rules.NEW, "update:1:a": rules.CONVERSATION, "note:follow-up:5": rules.CONVERSATION,
    "note:sla:1:first_response:breach:1700000000:0": rules.ALERT,
    "note:sla:1:first_response:reminder:1700000000:3": rules.REMINDER,
    "escalation:sla:1:first_response:breach:1700000000:0": rules.ALERT,
    "channel:digest:2026-12-01": rules.BACKGROUND, "incident:7": rules.NEW,
}  # fmt: skip


def test_queued_rows_get_their_lanes_and_the_downgrade_works(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    migrate.upgrade(url, "0001")
    engine = create_engine(url)
    with engine.begin() as connection:
        for key, kind in ROWS:
            connection.execute(
                text("INSERT INTO slack_messages (dedupe_key, kind, channel, priority, payload, created_at, attempts) "
                     "VALUES (:key, :kind, '#support', 2, '{}', '2026-12-01 10:00:00', 0)"),
                {"key": key, "kind": kind},
            )  # fmt: skip
    migrate.upgrade(url)
    with engine.connect() as connection:
        lanes = dict(connection.execute(text("SELECT dedupe_key, lane FROM slack_messages")).all())
    assert lanes == EXPECTED
    assert lanes == {key: rules.lane(kind, "alert" if ":breach:" in key else "reminder" if ":reminder:" in key
                                     else "conversation") for key, kind in ROWS}  # fmt: skip
    migrate.downgrade(url, "0001")
    migrate.upgrade(url)
    engine.dispose()
    dispose_all()
