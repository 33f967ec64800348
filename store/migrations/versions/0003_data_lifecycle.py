"""Data lifecycle: erased mentions, tombstones of deleted posts not yet seen

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

import store.schema

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mentions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("erased_at", store.schema.UtcDateTime(), nullable=True))
        batch_op.add_column(sa.Column("erased_reason", sa.String(length=16), nullable=True))
    op.create_table(
        "mention_tombstones",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("at", store.schema.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mention_tombstones")),
        sa.UniqueConstraint("source", "external_id", name="uq_mention_tombstones_source_external_id"),
    )
    with op.batch_alter_table("mention_tombstones", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mention_tombstones_at"), ["at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("mention_tombstones", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mention_tombstones_at"))
    op.drop_table("mention_tombstones")
    with op.batch_alter_table("mentions", schema=None) as batch_op:
        batch_op.drop_column("erased_reason")
        batch_op.drop_column("erased_at")
