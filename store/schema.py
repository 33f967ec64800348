"""Tables. Times are stored as naive UTC and read back as aware UTC.

One module on purpose, though longer than 300 lines: the tables refer to one another (foreign keys,
relationships by class name), `Base.metadata` must hold every one of them whenever Alembic
autogenerates a migration from it (store/migrate.py, Makefile `initial-migration`), and a reader
checks a migration against the whole schema in one place.
"""

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets a bigint.
Id = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator):
    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _now() -> datetime:
    return datetime.now(UTC)


class Mention(Base):
    """One post by a customer or by the brand, as a platform delivered it."""

    __tablename__ = "mentions"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_mentions_source_external_id"),
        Index("ix_mentions_pending", "processed_at", "received_at"),
        Index("ix_mentions_author", "source", "author_id", "created_at"),
        Index("ix_mentions_conversation", "source", "conversation_id"),
        Index("ix_mentions_reply", "source", "in_reply_to"),
        Index("ix_mentions_brand_created", "brand", "created_at"),  # a brand's volume per window
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(255))
    direction: Mapped[str] = mapped_column(String(8), default="inbound")
    author_id: Mapped[str] = mapped_column(String(255))
    author_handle: Mapped[str | None] = mapped_column(String(255))
    author_name: Mapped[str | None] = mapped_column(String(255))
    author_followers: Mapped[int | None] = mapped_column(BigInteger)
    text: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    in_reply_to: Mapped[str | None] = mapped_column(String(255))
    conversation_id: Mapped[str | None] = mapped_column(String(255))
    brand: Mapped[str | None] = mapped_column(String(255))
    language: Mapped[str | None] = mapped_column(String(16))
    extra: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=_now)
    # Processing: a worker claims a batch, classifies it, then sets processed_at.
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    processed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    complaint: Mapped[float | None] = mapped_column(Float)
    severity: Mapped[int | None] = mapped_column(SmallInteger)
    needs_reply: Mapped[bool | None] = mapped_column(Boolean)
    urgency: Mapped[str | None] = mapped_column(String(16))
    signals: Mapped[list] = mapped_column(JSON, default=list)
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary)
    model_version: Mapped[str | None] = mapped_column(String(64))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    # Erasure (tickets.erasure): the text, author fields, url, embedding and extra are gone; the row stays
    # so that counts, clocks and de-duplication by (source, external_id) stay.
    erased_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    erased_reason: Mapped[str | None] = mapped_column(String(16))  # deleted | request | retention

    ticket: Mapped["Ticket | None"] = relationship(back_populates="mentions")


class Ticket(Base):
    """A customer's complaint that needs an answer, with its SLA clocks."""

    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_open_author", "source", "author_id", "status"),
        Index("ix_tickets_status_created", "status", "created_at"),
        # The ticket list's order (newest first): without it every page sorts the whole table.
        Index("ix_tickets_created", "created_at", "id"),
        Index("ix_tickets_owner", "claimed_by", "status"),  # each agent's open tickets, under the pool's lock
        Index("ix_tickets_route_waiting", "route", "claimed_by", "created_at"),  # a pool's waiting tickets
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="open")
    urgency: Mapped[str] = mapped_column(String(16))
    urgency_set_by: Mapped[str] = mapped_column(String(64), default="model")
    signals: Mapped[list] = mapped_column(JSON, default=list)
    source: Mapped[str] = mapped_column(String(32))
    brand: Mapped[str | None] = mapped_column(String(255))
    author_id: Mapped[str] = mapped_column(String(255))
    author_handle: Mapped[str | None] = mapped_column(String(255))
    conversation_id: Mapped[str | None] = mapped_column(String(255))
    channel: Mapped[str] = mapped_column(String(96))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=_now)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    repeat_contacts: Mapped[int] = mapped_column(Integer, default=0)
    slack_channel_id: Mapped[str | None] = mapped_column(String(32))
    slack_ts: Mapped[str | None] = mapped_column(String(32))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), index=True)
    # Ownership (tickets.assignment): `route` names the route whose `assign:` pool gives the ticket an
    # owner (None: no pool); `claimed_by` is the owner; `assigned_at` when it got them.
    route: Mapped[str | None] = mapped_column(String(128))
    assigned_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    # SLA clocks. Each due_at is computed by the SLA rules from the policy of
    # the ticket's urgency; next_deadline_at is the soonest pending alert time
    # (warning, breach or reminder) so that a sweep is one indexed range query.
    first_response_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    first_response_met_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    first_response_breached: Mapped[bool] = mapped_column(Boolean, default=False)
    next_response_started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    next_response_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    next_response_met_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    next_response_breached: Mapped[bool] = mapped_column(Boolean, default=False)
    resolution_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    resolution_met_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    resolution_breached: Mapped[bool] = mapped_column(Boolean, default=False)
    paused_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    paused_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    next_deadline_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    # The SLA policy chosen at open (triage.sla_rules: a `sla.rules` name, or "default"); None: default.
    sla_policy: Mapped[str | None] = mapped_column(String(40))

    mentions: Mapped[list[Mention]] = relationship(back_populates="ticket", order_by="Mention.created_at")
    events: Mapped[list["TicketEvent"]] = relationship(order_by="TicketEvent.id")
    clock_states: Mapped[list["SlaClockState"]] = relationship(order_by="SlaClockState.id", viewonly=True)


class Agent(Base):
    """A Slack user who works tickets: whether they are away (out of every pool) and when they last got one.
    A pool member without a row is present."""

    __tablename__ = "agents"

    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    away: Mapped[bool] = mapped_column(Boolean, default=False)
    away_since: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_assigned_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=_now)


class AssignmentCursor(Base):
    """A route's round-robin cursor (the agent it assigned last). Its row is also the route's lock:
    whoever assigns from the pool holds it (SELECT … FOR UPDATE) from counting to the update."""

    __tablename__ = "assignment_cursors"

    route: Mapped[str] = mapped_column(String(128), primary_key=True)
    last_agent: Mapped[str | None] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=_now)


class TicketEvent(Base):
    """Append-only history: who changed a ticket, what, and when."""

    __tablename__ = "ticket_events"
    __table_args__ = (Index("ix_ticket_events_at", "at", "id"),)  # the audit log's order, newest first

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=_now)
    type: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[dict] = mapped_column(JSON, default=dict)


class SlaAlert(Base):
    """A warning, breach or reminder, recorded once per clock and deadline."""

    __tablename__ = "sla_alerts"
    __table_args__ = (
        UniqueConstraint("ticket_id", "clock", "kind", "deadline_at", "sequence", name="uq_sla_alerts_once"),
        Index("ix_sla_alerts_kind_at", "kind", "at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    clock: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    deadline_at: Mapped[datetime] = mapped_column(UtcDateTime)
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=_now)


class SlackMessage(Base):
    """The Slack outbox: every message Earshot means to send; per channel by lane, then priority, then age."""

    __tablename__ = "slack_messages"
    __table_args__ = (Index("ix_slack_messages_queue", "channel", "sent_at", "lane", "priority", "id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(191), unique=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(96))
    # triage.lanes: lane 0 new (parents), 1 conversation, 2 alerts, 3 reminders, 4 digests;
    # priority is the ticket's tier within a lane.
    lane: Mapped[int] = mapped_column(SmallInteger, default=1, server_default="1")
    priority: Mapped[int] = mapped_column(SmallInteger, default=2)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=_now)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # gave up: Slack refused it for good
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # a failed row's backoff
    failing_since: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)  # first failure of this streak
    slack_channel_id: Mapped[str | None] = mapped_column(String(32))
    slack_ts: Mapped[str | None] = mapped_column(String(32))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), index=True)


class Reply(Base):
    """The platform outbox: a public reply an agent wrote in Earshot, sent once as the brand's answer.

    `status`: queued (waiting to be sent), sending (a worker holds it), unknown (a send may or may not
    have taken effect: the next attempt asks the platform before sending again), sent, failed (the
    platform refused it for good; an agent may retry). The API shows sending and unknown as queued.
    """

    __tablename__ = "replies"
    __table_args__ = (Index("ix_replies_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    mention_id: Mapped[int | None] = mapped_column(ForeignKey("mentions.id"))  # the customer's post answered
    source: Mapped[str] = mapped_column(String(32))
    in_reply_to: Mapped[str] = mapped_column(String(255))  # the platform's id of that post
    text: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(64))
    resolve_after: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    external_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=_now)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Incident(Base):
    """Many customers, one problem: similar complaints in a window ("similar"), or a brand's
    complaints well above their usual rate for that hour of the week ("volume")."""

    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_open", "status", "brand", "kind"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    brand: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="open")
    first_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    mention_count: Mapped[int] = mapped_column(Integer, default=0)
    author_count: Mapped[int] = mapped_column(Integer, default=0)
    sources: Mapped[list] = mapped_column(JSON, default=list)
    centroid: Mapped[bytes | None] = mapped_column(LargeBinary)  # float16, like Mention.embedding
    expected: Mapped[float | None] = mapped_column(Float)  # volume: the usual count for the window
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=_now)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    answer: Mapped[str | None] = mapped_column(Text)
    slack_channel_id: Mapped[str | None] = mapped_column(String(32))
    slack_ts: Mapped[str | None] = mapped_column(String(32))


class IncidentMember(Base):
    """A complaint counted in an incident (a mention belongs to one incident at most)."""

    __tablename__ = "incident_members"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    mention_id: Mapped[int] = mapped_column(ForeignKey("mentions.id"), unique=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    source: Mapped[str] = mapped_column(String(32))
    author_key: Mapped[str] = mapped_column(String(300))
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class AuthorLink(Base):
    """An agent's word that two handles (perhaps on two platforms) are one customer."""

    __tablename__ = "author_links"
    __table_args__ = (
        UniqueConstraint("source_a", "author_a", "source_b", "author_b", name="uq_author_links_pair"),
        Index("ix_author_links_b", "source_b", "author_b"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    source_a: Mapped[str] = mapped_column(String(32))
    author_a: Mapped[str] = mapped_column(String(255))
    source_b: Mapped[str] = mapped_column(String(32))
    author_b: Mapped[str] = mapped_column(String(255))
    actor: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=_now)


class Label(Base):
    """An agent's correction of the model, kept for retraining."""

    __tablename__ = "labels"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    mention_id: Mapped[int | None] = mapped_column(ForeignKey("mentions.id"))
    text: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=_now)


class MentionTombstone(Base):
    """A platform deletion of a post Earshot had not stored: a later copy of it is refused at intake."""

    __tablename__ = "mention_tombstones"
    __table_args__ = (UniqueConstraint("source", "external_id", name="uq_mention_tombstones_source_external_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(255))
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=_now, index=True)


class AuditEvent(Base):
    """Who did what that is no ticket's event: dashboard logins, customer erasures on request.
    `GET /api/v1/audit` lists these merged with ticket_events (tickets.audit). `detail` never
    holds personal data (no author id, no text) nor a token."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_at", "at", "id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=_now)
    actor: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


class SlaEscalation(Base):
    """An escalation level fired for a breached clock, recorded once per (ticket, clock, deadline,
    level) by INSERT .. ON CONFLICT DO NOTHING: two sweepers never fire one level twice."""

    __tablename__ = "sla_escalations"
    __table_args__ = (
        UniqueConstraint("ticket_id", "clock", "deadline_at", "level", name="uq_sla_escalations_once"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    clock: Mapped[str] = mapped_column(String(16))
    deadline_at: Mapped[datetime] = mapped_column(UtcDateTime)  # the breach the level counts from
    level: Mapped[int] = mapped_column(SmallInteger)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=_now)


class SlaClockState(Base):
    """A breached clock's escalation (tickets.escalations) and its page (tickets.pages), one row per
    (ticket, clock). The escalation: the breach its ladder counts from, when the next level is due, who
    acknowledged it, when the clock was met (settled). The page is an outbox: `page_wanted` is what
    PagerDuty should show (triggered, acknowledged, resolved), `page_sent` what it confirmed; a job
    sends the difference (workers.paging)."""

    __tablename__ = "sla_clock_states"
    __table_args__ = (
        UniqueConstraint("ticket_id", "clock", name="uq_sla_clock_states_ticket_id"),
        Index("ix_sla_clock_states_page_due", "page_next_attempt_at"),  # NULL once nothing is left to send
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    clock: Mapped[str] = mapped_column(String(16))
    breach_deadline_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    next_level_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    settled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    page_level: Mapped[int | None] = mapped_column(SmallInteger)  # the level that paged
    page_summary: Mapped[str | None] = mapped_column(String(255))
    page_wanted: Mapped[str | None] = mapped_column(String(16))
    page_sent: Mapped[str | None] = mapped_column(String(16))
    page_targets: Mapped[list | None] = mapped_column(JSON)  # targets still to send to; None: every one
    page_attempts: Mapped[int] = mapped_column(Integer, default=0)
    page_next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    page_claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    page_last_error: Mapped[str | None] = mapped_column(Text)
    page_failed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
