"""Slack delivery lanes, per-row backoff and failure streaks

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

import store.schema

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("slack_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lane", sa.SmallInteger(), server_default="1", nullable=False))
        batch_op.add_column(sa.Column("next_attempt_at", store.schema.UtcDateTime(), nullable=True))
        batch_op.add_column(sa.Column("failing_since", store.schema.UtcDateTime(), nullable=True))
        batch_op.drop_index("ix_slack_messages_queue")
        batch_op.create_index("ix_slack_messages_queue", ["channel", "sent_at", "lane", "priority", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_slack_messages_failing_since"), ["failing_since"], unique=False)
    # Rows already queued take the lane they would be given now (integrations.slack.rules.lane).
    op.execute("UPDATE slack_messages SET lane = 0 WHERE kind IN ('parent', 'incident', 'notice')")
    op.execute("UPDATE slack_messages SET lane = 2 WHERE kind = 'escalation'"
               " OR (kind = 'note' AND dedupe_key LIKE 'note:sla:%')")  # fmt: skip
    op.execute("UPDATE slack_messages SET lane = 3 WHERE kind = 'reminders'"
               " OR (kind = 'note' AND dedupe_key LIKE 'note:sla:%:reminder:%')")  # fmt: skip
    op.execute("UPDATE slack_messages SET lane = 4 WHERE kind = 'channel'")


def downgrade() -> None:
    with op.batch_alter_table("slack_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_slack_messages_failing_since"))
        batch_op.drop_index("ix_slack_messages_queue")
        batch_op.create_index("ix_slack_messages_queue", ["channel", "sent_at", "priority", "id"], unique=False)
        batch_op.drop_column("failing_since")
        batch_op.drop_column("next_attempt_at")
        batch_op.drop_column("lane")
