"""Erasing a customer's personal data: one function for every reason (the author deleted the
post on the platform, the customer asked, the retention period is over).

A mention is erased in place: its text becomes a fixed marker, its author fields, url,
embedding and `extra` are emptied. The row stays, so counts, SLA figures and the
de-duplication by (source, external_id) stay. Copies are erased with it: the training
label that copied the text, the incident member's author key, the ticket's author fields
once none of its customer's mentions is left, and the Slack messages that quoted the text
or named the customer (their stored payload, and in Slack itself through the outbox).

`author_id` is personal data (it names the account), so it is emptied too: "" is never a
platform id (every parser requires a non-empty one), so an erased mention or ticket can
never be matched to a new mention of anybody. Nothing is kept, not even a hash: the
platforms' ids are short enough to hash back by brute force.

Idempotent: an erased mention is skipped. Nothing here commits.
"""

import secrets
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select, tuple_, update
from sqlalchemy.orm import Session

from store.schema import (
    AuthorLink,
    Incident,
    IncidentMember,
    Label,
    Mention,
    MentionTombstone,
    SlackMessage,
    Ticket,
    TicketEvent,
)
from tickets import audit, outbox
from tickets.authors import Handle, handles
from triage.lanes import CHANNEL, PARENT

DELETED, REQUEST, RETENTION = "deleted", "request", "retention"
MARKERS = {
    DELETED: "[deleted by its author]",
    REQUEST: "[erased on request]",
    RETENTION: "[erased: retention period over]",
}
ERASED_AUTHOR = "[erased]"  # what replaces a handle or a name quoted in Earshot's own messages
MIN_ID_TO_SCRUB = 6  # a bare author id shorter than this is not searched for in message texts (it would hit numbers)


@dataclass(frozen=True)
class Erased:
    mentions: int
    tickets: int
    ticket_ids: frozenset = frozenset()


def scrub(text: str, secrets_: list[str], marker_for: dict[str, str]) -> str:
    """`text` with every occurrence of each of `secrets_` (longest first) replaced by its marker."""
    for secret in sorted(set(secrets_), key=len, reverse=True):
        if secret and secret in text:
            text = text.replace(secret, marker_for.get(secret, ERASED_AUTHOR))
    return text


def _secrets_of(mention: Mention, marker: str) -> dict[str, str]:
    """The strings of `mention` that must not survive anywhere, and what replaces each."""
    found = {}
    if mention.text and mention.text.strip():
        found[mention.text] = marker
    for value in (mention.author_handle, mention.author_name):
        if value and value.strip():
            found[value] = ERASED_AUTHOR
    if mention.author_id and len(mention.author_id) >= MIN_ID_TO_SCRUB:
        found[mention.author_id] = ERASED_AUTHOR
    if mention.url:
        found[mention.url] = ERASED_AUTHOR
    return found


def erase_mentions(session: Session, mention_ids, reason: str, actor: str | None, at: datetime) -> Erased:
    """Erase the mentions `mention_ids` not yet erased, and every copy of them; the counts of what changed."""
    marker = MARKERS[reason]
    ids = sorted(set(mention_ids))
    mentions = []
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        mentions += session.scalars(
            select(Mention).where(Mention.id.in_(chunk), Mention.erased_at.is_(None)).order_by(Mention.id)
            .with_for_update()
        ).all()  # fmt: skip
    if not mentions:
        return Erased(0, 0)
    erased_ids = [m.id for m in mentions]
    replaced: dict[str, str] = {}
    ticket_ids = {m.ticket_id for m in mentions if m.ticket_id is not None}
    tickets = {t.id: t for t in session.scalars(select(Ticket).where(Ticket.id.in_(ticket_ids)))} if ticket_ids else {}
    for mention in mentions:
        replaced.update(_secrets_of(mention, marker))
        ticket = tickets.get(mention.ticket_id)
        if ticket is not None and ticket.author_handle and (ticket.source, ticket.author_id) == (
                mention.source, mention.author_id):  # fmt: skip
            replaced.setdefault(ticket.author_handle, ERASED_AUTHOR)
        mention.text, mention.url, mention.embedding, mention.extra = marker, None, None, {}
        mention.author_id, mention.author_handle, mention.author_name, mention.author_followers = "", None, None, None
        mention.erased_at, mention.erased_reason = at, reason
        mention.processed_at = mention.processed_at or at  # not classified yet: it never will be
    session.flush()

    session.execute(update(Label).where(Label.mention_id.in_(erased_ids)).values(text=marker)
                    .execution_options(synchronize_session=False))  # fmt: skip
    _erase_incident_members(session, erased_ids)
    secrets_ = list(replaced)
    per_ticket = Counter(m.ticket_id for m in mentions)
    for ticket in tickets.values():
        _erase_ticket(session, ticket, per_ticket[ticket.id], secrets_, replaced, reason, actor, at)
    _redact_unticketed_messages(session, secrets_, replaced, at)
    return Erased(len(mentions), len(tickets), frozenset(tickets))


def _erase_incident_members(session: Session, mention_ids: list[int]) -> None:
    members = session.scalars(select(IncidentMember).where(IncidentMember.mention_id.in_(mention_ids))).all()
    pseudonyms: dict[str, str] = {}  # one customer stays one (unlinkable) author within this erasure
    for member in members:
        if not member.author_key.startswith("erased:"):
            member.author_key = pseudonyms.setdefault(member.author_key, f"erased:{secrets.token_hex(8)}")
    for incident_id in {m.incident_id for m in members}:
        incident = session.get(Incident, incident_id)
        posted_in = session.scalar(select(SlackMessage.channel).where(SlackMessage.incident_id == incident_id))
        if incident is not None and posted_in is not None:
            outbox.queue_incident(session, incident, posted_in)  # its samples leave erased texts out


def _erased_event(session: Session, ticket: Ticket, reason: str, mentions: int, actor: str | None,
                  at: datetime) -> None:  # fmt: skip
    """The ticket's `erased` event: why and how many, never what or whose."""
    session.add(TicketEvent(ticket_id=ticket.id, at=at, type="erased", actor=(actor or "earshot")[:64],
                            data={"reason": reason, "mentions": mentions}))  # fmt: skip


def _erase_ticket(session: Session, ticket: Ticket, erased: int, secrets_: list[str],
                  replaced: dict[str, str], reason: str, actor: str | None, at: datetime) -> None:  # fmt: skip
    remaining = session.scalar(
        select(Mention.id).where(Mention.ticket_id == ticket.id, Mention.direction == "inbound",
                                 Mention.erased_at.is_(None)).limit(1)
    )  # fmt: skip
    if remaining is None:  # none of the customer's words is left: neither is who they are
        ticket.author_id, ticket.author_handle = "", None
    # The brand's own replies quote the customer's handle ("@jane sorry about that").
    for reply in session.scalars(select(Mention).where(Mention.ticket_id == ticket.id, Mention.direction == "outbound",
                                                       Mention.erased_at.is_(None))):  # fmt: skip
        reply.text = scrub(reply.text, secrets_, replaced)
    _erased_event(session, ticket, reason, erased, actor, at)
    for row in session.scalars(select(SlackMessage).where(SlackMessage.ticket_id == ticket.id,
                                                          SlackMessage.kind != PARENT)):  # fmt: skip
        _redact_row(session, row, secrets_, replaced, at)
    outbox.queue_ticket_update(session, ticket)  # the parent is rendered again, from the erased mention


def _redact_row(session: Session, row: SlackMessage, secrets_: list[str], replaced: dict[str, str],
                at: datetime) -> None:  # fmt: skip
    text = row.payload.get("text") if isinstance(row.payload, dict) else None
    if not isinstance(text, str):
        return
    clean = scrub(text, secrets_, replaced)
    if clean != text:
        outbox.redact_message(session, row, {**row.payload, "text": clean}, f"{at.timestamp()}")


def _redact_unticketed_messages(session: Session, secrets_: list[str], replaced: dict[str, str],
                                at: datetime) -> None:  # fmt: skip
    """The managers' digest names waiting customers; it belongs to no ticket."""
    for row in session.scalars(select(SlackMessage).where(SlackMessage.ticket_id.is_(None),
                                                          SlackMessage.kind == CHANNEL)):  # fmt: skip
        _redact_row(session, row, secrets_, replaced, at)


def erase_deleted_posts(session: Session, posts: list[Handle], at: datetime) -> Erased:
    """Posts their authors deleted on the platform, as (source, external id). One not stored yet
    leaves a tombstone, so that a copy arriving later is refused at intake (ingest.rows)."""
    posts = list(dict.fromkeys(posts))
    if not posts:
        return Erased(0, 0)
    found = session.execute(
        select(Mention.id, Mention.source, Mention.external_id).where(
            tuple_(Mention.source, Mention.external_id).in_(posts)
        )
    ).all()
    known = {(row.source, row.external_id) for row in found}
    tombstoned = {tuple(row) for row in session.execute(
        select(MentionTombstone.source, MentionTombstone.external_id).where(
            tuple_(MentionTombstone.source, MentionTombstone.external_id).in_(posts)))}  # fmt: skip
    for source, external_id in posts:
        if (source, external_id) not in known and (source, external_id) not in tombstoned:
            session.add(MentionTombstone(source=source, external_id=external_id, at=at))
    session.flush()
    return erase_mentions(session, [row.id for row in found], DELETED, "platform", at)


def erase_customer(session: Session, customer: Handle, actor: str | None, at: datetime) -> Erased:
    """Every mention of `customer` and of the handles linked to theirs; the links go too."""
    everyone = handles(session, customer)
    ids = session.scalars(
        select(Mention.id).where(tuple_(Mention.source, Mention.author_id).in_(list(everyone)),
                                 Mention.erased_at.is_(None))
    ).all()  # fmt: skip
    # A ticket of theirs whose mentions were erased before (a deleted post) may still name them.
    tickets = session.scalars(
        select(Ticket).where(tuple_(Ticket.source, Ticket.author_id).in_(list(everyone)))
    ).all()
    erased = erase_mentions(session, ids, REQUEST, actor, at)
    untouched = [t for t in tickets if t.author_id and t.id not in erased.ticket_ids]
    for ticket in untouched:
        ticket.author_id, ticket.author_handle = "", None
        _erased_event(session, ticket, REQUEST, 0, actor, at)
        outbox.queue_ticket_update(session, ticket)
    side_a = tuple_(AuthorLink.source_a, AuthorLink.author_a)
    side_b = tuple_(AuthorLink.source_b, AuthorLink.author_b)
    for row in session.scalars(select(AuthorLink).where(or_(side_a.in_(list(everyone)),
                                                            side_b.in_(list(everyone))))):  # fmt: skip
        session.delete(row)
    # One audit entry per request: the counts and the platform, never the author id (tickets.audit).
    audit.record(session, audit.CUSTOMER_ERASED, actor or "earshot", at, reason=REQUEST, source=customer[0],
                 mentions=erased.mentions, tickets=erased.tickets + len(untouched))  # fmt: skip
    session.flush()
    return Erased(erased.mentions, erased.tickets + len(untouched))


def unerased_tombstoned(session: Session, limit: int) -> list[int]:
    """Mentions stored although a tombstone named them (a copy that raced its deletion)."""
    return list(session.scalars(
        select(Mention.id).join(MentionTombstone, and_(MentionTombstone.source == Mention.source,
                                                       MentionTombstone.external_id == Mention.external_id))
        .where(Mention.erased_at.is_(None)).limit(limit)
    ))  # fmt: skip
