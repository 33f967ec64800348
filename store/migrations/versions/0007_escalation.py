"""Escalation: levels fired per breached clock, the clock's acknowledgement and page, a ticket's SLA policy

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

import store.schema

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
At = store.schema.UtcDateTime


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sla_policy", sa.String(length=40), nullable=True))
    op.create_table(
        "sla_escalations",
        sa.Column("id", Id, nullable=False),
        sa.Column("ticket_id", Id, nullable=False),
        sa.Column("clock", sa.String(length=16), nullable=False),
        sa.Column("deadline_at", At(), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("at", At(), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_sla_escalations_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_escalations")),
        sa.UniqueConstraint("ticket_id", "clock", "deadline_at", "level", name="uq_sla_escalations_once"),
    )
    with op.batch_alter_table("sla_escalations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sla_escalations_ticket_id"), ["ticket_id"], unique=False)
    op.create_table(
        "sla_clock_states",
        sa.Column("id", Id, nullable=False),
        sa.Column("ticket_id", Id, nullable=False),
        sa.Column("clock", sa.String(length=16), nullable=False),
        sa.Column("breach_deadline_at", At(), nullable=True),
        sa.Column("next_level_at", At(), nullable=True),
        sa.Column("acknowledged_at", At(), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=64), nullable=True),
        sa.Column("settled_at", At(), nullable=True),
        sa.Column("page_level", sa.SmallInteger(), nullable=True),
        sa.Column("page_summary", sa.String(length=255), nullable=True),
        sa.Column("page_wanted", sa.String(length=16), nullable=True),
        sa.Column("page_sent", sa.String(length=16), nullable=True),
        sa.Column("page_targets", sa.JSON(), nullable=True),
        sa.Column("page_attempts", sa.Integer(), nullable=False),
        sa.Column("page_next_attempt_at", At(), nullable=True),
        sa.Column("page_claimed_at", At(), nullable=True),
        sa.Column("page_last_error", sa.Text(), nullable=True),
        sa.Column("page_failed_at", At(), nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_sla_clock_states_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_clock_states")),
        sa.UniqueConstraint("ticket_id", "clock", name="uq_sla_clock_states_ticket_id"),
    )
    with op.batch_alter_table("sla_clock_states", schema=None) as batch_op:
        batch_op.create_index("ix_sla_clock_states_page_due", ["page_next_attempt_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sla_clock_states", schema=None) as batch_op:
        batch_op.drop_index("ix_sla_clock_states_page_due")
    op.drop_table("sla_clock_states")
    with op.batch_alter_table("sla_escalations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sla_escalations_ticket_id"))
    op.drop_table("sla_escalations")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_column("sla_policy")
