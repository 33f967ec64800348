"""The audit log: who did what, newest first (`GET /api/v1/audit`).

Two tables feed it. A ticket's history (ticket_events) already records every action on a ticket
with its actor; what belongs to no ticket (dashboard logins, customer erasures on request) goes to
audit_events. The log merges the two rather than copying ticket events into a second table: one
write per action, and nothing to keep in step.

The order is (at desc, key desc), where the key tells the tables apart and stays one integer:
a ticket event's is 2 * id, an audit event's 2 * id + 1. Each table is read with its own keyset
condition over its (at, id) index, at most `limit` rows each, and the two are merged here.

Nothing personal leaves here: an audit event's detail is written without any (see `record`), and
of a ticket event's data only the keys of SAFE_DATA with plain values are shown (never a mention's
text, an answer's text, a handle or an author id).
"""

import heapq
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from core.timeutil import iso
from store.schema import AuditEvent, TicketEvent

DASHBOARD_LOGIN, CUSTOMER_ERASED = "dashboard_login", "customer_erased"
# Ticket event data that names no customer: tiers, reasons, counts, clocks, Earshot's channels, internal ids.
SAFE_DATA = frozenset({
    "urgency", "previous", "reason", "mentions", "channel", "repeat_contact", "mention_id", "clock", "deadline_at",
    "sequence", "from", "to", "actor_name",
})  # fmt: skip
_PLAIN = (str, int, float, bool, type(None))


def record(session: Session, action: str, actor: str | None, at: datetime, ticket_id: int | None = None,
           **detail) -> None:  # fmt: skip
    """One audit event; the caller commits. `detail` must hold no personal data and no secret."""
    session.add(AuditEvent(action=action, actor=actor[:64] if actor else None, at=at, ticket_id=ticket_id,
                           detail=detail))  # fmt: skip


# Refused logins within this long of the last one are counted on its entry, not written anew: anyone
# may post a wrong token, and the log must not grow with every attempt.
FAILED_LOGINS_COALESCE = timedelta(minutes=1)


def record_login(session: Session, actor: str | None, at: datetime, success: bool) -> None:
    """A dashboard login; refused ones are counted on one entry per FAILED_LOGINS_COALESCE."""
    if success:
        record(session, DASHBOARD_LOGIN, actor, at, success=True)
        return
    recent = session.scalar(
        select(AuditEvent)
        .where(AuditEvent.action == DASHBOARD_LOGIN, AuditEvent.at >= at - FAILED_LOGINS_COALESCE)
        .where(AuditEvent.actor.is_(None))
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )
    if recent is not None and recent.detail.get("success") is False:
        recent.detail = {**recent.detail, "attempts": int(recent.detail.get("attempts", 1)) + 1}
        return
    record(session, DASHBOARD_LOGIN, None, at, success=False, attempts=1)


def _after(model, cursor: tuple[datetime, int] | None, bound: int):
    if cursor is None:
        return True
    at, _ = cursor
    return or_(model.at < at, and_(model.at == at, model.id < bound))


def page(session: Session, cursor: tuple[datetime, int] | None, limit: int) -> list[tuple[datetime, int, dict]]:
    """Up to `limit` entries older than `cursor` (at, key), newest first, as (at, key, entry)."""
    key = cursor[1] if cursor else 0
    # key < K: a ticket event's 2*id < K is id < (K+1)//2; an audit event's 2*id+1 < K is id < K//2.
    tickets = session.scalars(
        select(TicketEvent).where(_after(TicketEvent, cursor, (key + 1) // 2))
        .order_by(TicketEvent.at.desc(), TicketEvent.id.desc()).limit(limit)
    ).all()  # fmt: skip
    others = session.scalars(
        select(AuditEvent).where(_after(AuditEvent, cursor, key // 2))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)
    ).all()  # fmt: skip
    merged = heapq.merge(
        ((e.at, 2 * e.id, _ticket_entry(e)) for e in tickets),
        ((e.at, 2 * e.id + 1, _audit_entry(e)) for e in others),
        key=lambda row: (row[0], row[1]),
        reverse=True,
    )
    return list(merged)[:limit]


def _ticket_entry(event: TicketEvent) -> dict:
    data = event.data if isinstance(event.data, dict) else {}
    return {
        "id": f"te-{event.id}",
        "at": iso(event.at),
        "actor": event.actor,
        "action": event.type,
        "ticket_id": str(event.ticket_id),
        "detail": {k: v for k, v in data.items() if k in SAFE_DATA and isinstance(v, _PLAIN)},
    }


def _audit_entry(event: AuditEvent) -> dict:
    return {
        "id": f"ae-{event.id}",
        "at": iso(event.at),
        "actor": event.actor,
        "action": event.action,
        "ticket_id": None if event.ticket_id is None else str(event.ticket_id),
        "detail": event.detail if isinstance(event.detail, dict) else {},
    }
