"""Retention: personal data kept only as long as the YAML's `retention` says, purged in bounded
batches by a periodic job through the one erasure (tickets.erasure), so counts and clocks stay."""

import logging
from datetime import datetime

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session

from core.config_sections import RetentionConfig
from core.timeutil import utcnow
from store.db import transaction
from store.schema import Mention, Ticket, TicketEvent
from tickets import erasure
from workers.context import app_context

log = logging.getLogger(__name__)
BATCH = 500  # mentions erased per run at most: a first run over years of data is spread over many


def cutoffs(retention: RetentionConfig, now: datetime) -> tuple[datetime | None, datetime | None]:
    """(resolved before, not a complaint before): what happened before these is due; None: kept forever."""
    return (now - retention.resolved if retention.resolved else None,
            now - retention.not_complaint if retention.not_complaint else None)  # fmt: skip


def is_due(resolved_at: datetime | None, not_complaint: bool, retention: RetentionConfig, now: datetime) -> bool:
    """Whether a ticket's (or a ticketless mention's) personal data is due for purging: `resolved_at` is
    when it was resolved (for a mention that opened no ticket, when it was received); `not_complaint`
    whether it was found not to be a complaint (then the shorter of the two periods applies)."""
    if resolved_at is None:
        return False
    resolved_before, not_complaint_before = cutoffs(retention, now)
    windows = [resolved_before] + ([not_complaint_before] if not_complaint else [])
    return any(before is not None and resolved_at <= before for before in windows)


def due_mentions(session: Session, retention: RetentionConfig, now: datetime, limit: int = BATCH) -> list[int]:
    """The ids of up to `limit` unerased mentions that `is_due` says are due, oldest first."""
    resolved_before, not_complaint_before = cutoffs(retention, now)
    found: list[int] = []
    closed_as_not_complaint = exists().where(TicketEvent.ticket_id == Ticket.id, TicketEvent.type == "not_complaint")
    ticket_rules = []
    if resolved_before is not None:
        ticket_rules.append(Ticket.resolution_met_at <= resolved_before)
    if not_complaint_before is not None:
        ticket_rules.append(and_(Ticket.resolution_met_at <= not_complaint_before, closed_as_not_complaint))
    if ticket_rules:
        found += session.scalars(
            select(Mention.id).join(Ticket, Mention.ticket_id == Ticket.id)
            .where(Mention.erased_at.is_(None), Ticket.status == "resolved", or_(*ticket_rules))
            .order_by(Mention.id).limit(limit)
        ).all()  # fmt: skip
    if not_complaint_before is not None and len(found) < limit:
        found += session.scalars(
            select(Mention.id).where(Mention.erased_at.is_(None), Mention.ticket_id.is_(None),
                                     Mention.direction == "inbound", Mention.processed_at.is_not(None),
                                     Mention.received_at <= not_complaint_before)
            .order_by(Mention.id).limit(limit - len(found))
        ).all()  # fmt: skip
    return found


def purge_once(session: Session, retention: RetentionConfig, now: datetime, limit: int = BATCH) -> int:
    """One bounded batch: what retention says is due, and any copy of a deleted post that raced its deletion."""
    raced = erasure.unerased_tombstoned(session, limit)
    done = erasure.erase_mentions(session, raced, erasure.DELETED, "platform", now).mentions if raced else 0
    due = due_mentions(session, retention, now, limit)
    return done + (erasure.erase_mentions(session, due, erasure.RETENTION, "retention", now).mentions if due else 0)


def purge() -> int:
    """The periodic job."""
    settings, config = app_context()
    with transaction(settings.database_url) as session:
        erased = purge_once(session, config.retention, utcnow())
    if erased:
        log.info("retention purged personal data", extra={"mentions": erased})
    return erased
