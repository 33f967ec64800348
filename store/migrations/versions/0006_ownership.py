"""Ownership: agents (away or present), each route's assignment cursor, a ticket's route and assigned_at

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

import store.schema

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agents",
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("away", sa.Boolean(), nullable=False),
        sa.Column("away_since", store.schema.UtcDateTime(), nullable=True),
        sa.Column("last_assigned_at", store.schema.UtcDateTime(), nullable=True),
        sa.Column("updated_at", store.schema.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_agents")),
    )
    op.create_table(
        "assignment_cursors",
        sa.Column("route", sa.String(length=128), nullable=False),
        sa.Column("last_agent", sa.String(length=32), nullable=True),
        sa.Column("updated_at", store.schema.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("route", name=op.f("pk_assignment_cursors")),
    )
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("route", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("assigned_at", store.schema.UtcDateTime(), nullable=True))
        batch_op.create_index("ix_tickets_owner", ["claimed_by", "status"], unique=False)
        batch_op.create_index("ix_tickets_route_waiting", ["route", "claimed_by", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_route_waiting")
        batch_op.drop_index("ix_tickets_owner")
        batch_op.drop_column("assigned_at")
        batch_op.drop_column("route")
    op.drop_table("assignment_cursors")
    op.drop_table("agents")
