"""Replies: the platform outbox (public answers sent from Earshot)

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

import store.schema

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "replies",
        sa.Column("id", Id, nullable=False),
        sa.Column("ticket_id", Id, nullable=False),
        sa.Column("mention_id", Id, nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("in_reply_to", sa.String(length=255), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("resolve_after", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", store.schema.UtcDateTime(), nullable=True),
        sa.Column("claimed_at", store.schema.UtcDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("external_id", sa.String(length=255), nullable=True),
        sa.Column("created_at", store.schema.UtcDateTime(), nullable=False),
        sa.Column("sent_at", store.schema.UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["mention_id"], ["mentions.id"], name=op.f("fk_replies_mention_id_mentions")),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_replies_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_replies")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_replies_idempotency_key")),
    )
    with op.batch_alter_table("replies", schema=None) as batch_op:
        batch_op.create_index("ix_replies_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_replies_ticket_id"), ["ticket_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("replies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_replies_ticket_id"))
        batch_op.drop_index("ix_replies_due")
    op.drop_table("replies")
