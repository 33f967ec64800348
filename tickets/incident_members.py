"""Counting mentions into incidents (tickets.incidents decides which): the member rows, the member
tickets linked (noted once in each thread), the incident's counts refreshed and its Slack message
queued.

Written once per observed batch, not once per mention: in a storm a micro-batch's hundreds of
mentions join one incident, and they cost one look for members already counted, one refresh and
one queued update for it, not one of each per mention. Nothing here commits: the caller does.
"""

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.config import AppConfig
from store.schema import Incident, IncidentMember, Mention, Ticket
from tickets import outbox


def author_key(mention: Mention) -> str:
    return f"{mention.source}:{mention.author_id}"


class Joins:
    """The mentions that join incidents while a batch is observed, in the order they joined."""

    def __init__(self):
        self.members: dict[Incident, dict[int, Mention]] = {}

    def add(self, incident: Incident, mentions: list[Mention]) -> None:
        """``mentions`` join ``incident``; until ``write``, its last sighting moves with them, so that the
        batch's later mentions see it as active (tickets.incidents reads it)."""
        joined = self.members.setdefault(incident, {})
        for mention in mentions:
            joined.setdefault(mention.id, mention)
        latest = max((m.created_at for m in mentions), default=None)
        if latest is not None and (incident.last_seen_at is None or latest > incident.last_seen_at):
            incident.last_seen_at = latest

    def write(self, session: Session, config: AppConfig) -> None:
        """The member rows and linked tickets of every join, then each incident refreshed and its
        message queued. A mention already counted in an incident is not counted again."""
        if not self.members:
            return
        session.flush()
        ids = [mention_id for joined in self.members.values() for mention_id in joined]
        known = set(session.scalars(select(IncidentMember.mention_id).where(IncidentMember.mention_id.in_(ids))))
        ticket_ids = {m.ticket_id for joined in self.members.values() for m in joined.values() if m.ticket_id}
        tickets = {t.id: t for t in session.scalars(select(Ticket).where(Ticket.id.in_(ticket_ids)))}
        for incident, joined in self.members.items():
            for mention in joined.values():
                if mention.id not in known:
                    known.add(mention.id)
                    _count(session, incident, mention, tickets.get(mention.ticket_id), config)
        session.flush()
        incidents = list(self.members)
        _refresh(session, incidents)
        for incident in incidents:
            outbox.queue_incident(session, incident, config.slack.escalation_channel)
        self.members.clear()


def _count(session: Session, incident: Incident, mention: Mention, ticket: Ticket | None, config: AppConfig) -> None:
    """``mention`` counted in ``incident``; its ``ticket`` linked to it, if no other incident holds it."""
    session.add(IncidentMember(incident_id=incident.id, mention_id=mention.id, ticket_id=mention.ticket_id,
                               source=mention.source, author_key=author_key(mention),
                               at=mention.created_at))  # fmt: skip
    if ticket is not None and ticket.incident_id is None:
        ticket.incident_id = incident.id
        note = (f"Part of incident #{incident.id}: other customers report the same problem. It is followed in "
                f"{config.slack.escalation_channel}; answering the incident answers this ticket too.")  # fmt: skip
        outbox.queue_thread_note(session, ticket, note, f"incident:{incident.id}:{ticket.id}")


def _refresh(session: Session, incidents: list[Incident]) -> None:
    """Each incident's counts, first and last sighting and sources, from its members: two queries for all."""
    ids = [incident.id for incident in incidents]
    member = IncidentMember
    rows = session.execute(
        select(member.incident_id, func.count(member.id), func.count(func.distinct(member.author_key)),
               func.min(member.at), func.max(member.at))
        .where(member.incident_id.in_(ids))
        .group_by(member.incident_id)
    )  # fmt: skip
    counted: dict[int, tuple[int, int, datetime, datetime]] = {row[0]: tuple(row[1:]) for row in rows}
    sources: dict[int, set[str]] = {}
    pairs = select(IncidentMember.incident_id, IncidentMember.source).where(IncidentMember.incident_id.in_(ids))
    for incident_id, source in session.execute(pairs.distinct()):
        sources.setdefault(incident_id, set()).add(source)
    for incident in incidents:
        if incident.id in counted:
            count, authors, first, last = counted[incident.id]
            incident.mention_count, incident.author_count = count, authors
            incident.first_seen_at, incident.last_seen_at = first, last
            incident.sources = sorted(sources.get(incident.id, ()))
