"""An incident's one message in the escalation channel, rendered at delivery from the incident as
it is then, so many changes become one `chat.update` (the domain queues it: tickets.outbox.queue_incident)."""

from datetime import timedelta

import numpy as np
from slack_sdk.models.blocks import ContextBlock, MarkdownTextObject, SectionBlock
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from integrations.slack.blocks import FALLBACK_LIMIT, Message, escape, fit, slack_date, user
from store.schema import Incident, IncidentMember, Mention

GROWTH_SPAN = timedelta(minutes=10)
SAMPLES = 3
SAMPLE_POOL = 50  # the latest members the representative texts are chosen from
SAMPLE_LIMIT = 280


def _samples(session: Session, incident: Incident) -> list[str]:
    """Texts nearest the incident's centroid among its latest members, one per customer."""
    rows = session.execute(
        select(Mention.text, Mention.embedding, IncidentMember.author_key)
        .join(IncidentMember, IncidentMember.mention_id == Mention.id)
        .where(IncidentMember.incident_id == incident.id, Mention.erased_at.is_(None))
        .order_by(IncidentMember.at.desc())
        .limit(SAMPLE_POOL)
    ).all()
    if incident.centroid is not None and all(row.embedding for row in rows):
        centroid = np.frombuffer(incident.centroid, dtype=np.float16).astype(np.float32)
        rows.sort(key=lambda row: -float(np.frombuffer(row.embedding, dtype=np.float16).astype(np.float32) @ centroid))
    picked, authors = [], set()
    for row in rows:
        if row.author_key not in authors:
            authors.add(row.author_key)
            picked.append(row.text)
        if len(picked) == SAMPLES:
            break
    return picked


def _growth(session: Session, incident: Incident) -> int:
    return session.scalar(
        select(func.count(IncidentMember.id)).where(
            IncidentMember.incident_id == incident.id, IncidentMember.at > incident.last_seen_at - GROWTH_SPAN
        )
    )


def render(session: Session, incident: Incident) -> Message:
    brand = f" · {escape(incident.brand)}" if incident.brand else ""
    if incident.kind == "volume":
        what = f"complaints well above the usual rate (about {incident.expected or 0:.0f} for this hour of the week)"
    else:
        what = "many customers, same problem"
    headline = f":rotating_light: *Incident #{incident.id}*{brand} · {what}"
    facts = [
        f"*{incident.mention_count}* complaints from *{incident.author_count}* customers",
        "on " + escape(", ".join(incident.sources or [])),
        f"first seen {slack_date(incident.first_seen_at)}",
        f"+{_growth(session, incident)} in the last {int(GROWTH_SPAN.total_seconds() // 60)} min",
    ]
    samples = "\n".join("> " + fit(text.replace("\n", " "), SAMPLE_LIMIT) for text in _samples(session, incident))
    if incident.status == "resolved":
        state = (f":white_check_mark: Resolved by {user(incident.resolved_by)} {slack_date(incident.resolved_at)}; "
                 f"answer sent to every member ticket:\n" + fit(incident.answer or "", 2000))  # fmt: skip
    else:
        state = f"Open · answer every member ticket at once: `/earshot resolve-incident {incident.id} <answer>`"
    body = [
        SectionBlock(text=MarkdownTextObject(text=headline, verbatim=True)),
        ContextBlock(elements=[MarkdownTextObject(text=" · ".join(facts), verbatim=True)]),
    ]
    if samples:
        body.append(SectionBlock(text=MarkdownTextObject(text=samples, verbatim=True)))
    body.append(ContextBlock(elements=[MarkdownTextObject(text=state, verbatim=True)]))
    fallback = f"Incident #{incident.id}: {incident.mention_count} complaints from {incident.author_count} customers"
    return Message(text=fallback[:FALLBACK_LIMIT], blocks=[block.to_dict() for block in body])
