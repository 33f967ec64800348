"""Incidents in the database: a classified complaint is observed, incidents form and grow,
member tickets are linked, and one answer resolves them all.

The similarity rule keeps its window in memory (triage.clustering.ClusterIndex,
one per database per process), rebuilt from the stored embeddings of the
last window after a restart. Incidents themselves live in the database, and a
cluster that forms one first looks for an open incident of the same problem
there, so two workers, or a restarted one, grow one incident rather than two.
Nothing here commits: the caller does.
"""

from collections import Counter
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.config import AppConfig
from core.config_sections import IncidentConfig
from store.schema import Incident, IncidentMember, Mention, Ticket
from tickets import lifecycle, outbox
from tickets.incident_members import Joins, author_key
from triage.clustering import Cluster, ClusterIndex, Growth
from triage.incidents import forms_incident, volume_rise

WEEK = timedelta(days=7)
VOLUME_CHECK_EVERY = timedelta(minutes=1)  # of event time, per brand: the check is a few count queries
_indexes: dict[str, ClusterIndex] = {}
_volume_checked: dict[tuple[str, str | None], datetime] = {}


def forget() -> None:
    """Drop the in-memory windows (a database was emptied under this process: tests)."""
    _indexes.clear()
    _volume_checked.clear()


def _vector(embedding: bytes) -> np.ndarray:
    return np.frombuffer(embedding, dtype=np.float16).astype(np.float32)


def _url(session: Session) -> str:
    return session.get_bind().url.render_as_string(hide_password=True)


def _complaints():
    return select(Mention).where(
        Mention.direction == "inbound", Mention.ticket_id.is_not(None), Mention.embedding.is_not(None)
    )


def _index(session: Session, config: IncidentConfig) -> ClusterIndex:
    index = _indexes.get(_url(session))
    if index is None or (index.window, index.similarity) != (config.window, config.similarity):
        index = _indexes[_url(session)] = _load(session, config)
    return index


def load_window(session: Session, config: IncidentConfig) -> None:
    """Load the in-memory window now if it is not: before a batch is classified, so that it holds
    what came before and `observe` adds the batch's complaints one by one."""
    if config.enabled:
        _index(session, config)


def _load(session: Session, config: IncidentConfig) -> ClusterIndex:
    """The last window's complaints, in posting order, with the incidents they already belong to."""
    index = ClusterIndex(config.window, config.similarity)
    newest = session.scalar(_complaints().with_only_columns(func.max(Mention.created_at)))
    if newest is None:
        return index
    rows = session.execute(
        _complaints()
        .with_only_columns(
            Mention.id,
            Mention.embedding,
            Mention.brand,
            Mention.source,
            Mention.author_id,
            Mention.created_at,
            Incident.id.label("incident_id"),
        )  # fmt: skip
        .outerjoin(IncidentMember, IncidentMember.mention_id == Mention.id)
        .outerjoin(Incident, (Incident.id == IncidentMember.incident_id) & (Incident.kind == "similar"))
        .where(Mention.created_at > newest - config.window)
        .order_by(Mention.created_at, Mention.id)
    )
    incident_of = {}
    for row in rows:
        index.add(row.id, _vector(row.embedding), row.brand, f"{row.source}:{row.author_id}", row.created_at)
        if row.incident_id is not None:
            incident_of[row.id] = row.incident_id
    for cluster in index.clusters.values():  # the incident most of its members were counted in
        known = Counter(incident_of[m] for m in cluster.members if m in incident_of)
        cluster.incident_id = max(known, key=lambda i: (known[i], i)) if known else None
    return index


class _VolumeIncidents:
    """The open volume incidents, read once for the mentions observed together, with those opened meanwhile."""

    def __init__(self, session: Session):
        self.session = session
        self.known: list[Incident] | None = None

    def active(self, brand: str | None, at: datetime, window: timedelta) -> Incident | None:
        """The newest open one of `brand` seen in the window before `at`."""
        if self.known is None:
            volume = select(Incident).where(Incident.status == "open", Incident.kind == "volume")
            self.known = list(self.session.scalars(volume))
        live = [i for i in self.known if i.brand == brand and i.status == "open" and i.last_seen_at > at - window]
        return max(live, key=lambda incident: incident.id, default=None)

    def opened(self, incident: Incident) -> None:
        self.known.append(incident)


def observe(session: Session, mention: Mention, ticket: Ticket | None, config: AppConfig, now: datetime):
    """A just-classified inbound mention: file it, and form or grow an incident. Returns the incident, if any."""
    joins = Joins()
    incident = _observe(session, mention, ticket, config, _VolumeIncidents(session), joins)
    joins.write(session, config)
    return incident


def observe_all(session: Session, observed: list[tuple[Mention, Ticket | None]], config: AppConfig) -> None:
    """`observe` for a micro-batch's mentions (with their tickets) in posting order; the incidents they
    join are written once, at the end (tickets.incident_members)."""
    volume, joins = _VolumeIncidents(session), Joins()
    for mention, ticket in observed:
        _observe(session, mention, ticket, config, volume, joins)
    joins.write(session, config)


def _observe(session: Session, mention: Mention, ticket: Ticket | None, config: AppConfig, volume: _VolumeIncidents,
             joins: Joins):  # fmt: skip
    settings = config.incidents
    if not settings.enabled or ticket is None or not mention.needs_reply or mention.embedding is None:
        return None
    index = _index(session, settings)
    grown = index.add(mention.id, _vector(mention.embedding), mention.brand, author_key(mention), mention.created_at)
    incident = None
    for growth in grown:  # the mention's own cluster first, if it is in one
        found = _similar(session, growth, mention, config, joins)
        if mention.id in growth.cluster.members:
            incident = found
    if incident is None and settings.volume.enabled:
        incident = _volume(session, mention, config, volume, joins)
    return incident


def _similar(session: Session, growth: Growth, mention: Mention, config: AppConfig, joins: Joins) -> Incident | None:
    """A cluster that grew: its new members join its incident, or it forms one with all of them."""
    cluster = growth.cluster
    if cluster.incident_id is not None:
        incident = session.get(Incident, cluster.incident_id)
        if incident is None:  # the database was emptied under this process
            forget()
            return None
        joined = growth.mention_ids
    elif forms_incident(cluster, config.incidents.min_authors):
        incident = _open_similar(session, cluster, config.incidents)
        if incident is None:
            incident = _new(session, "similar", cluster.brand, cluster.first_seen)
            session.flush()
        cluster.incident_id = incident.id
        joined = tuple(cluster.members)
    else:
        return None
    if joined == (mention.id,):
        members = [mention]
    else:
        members = list(session.scalars(select(Mention).where(Mention.id.in_(joined)).order_by(Mention.created_at)))
    incident.centroid = np.asarray(cluster.centroid, dtype=np.float16).tobytes()
    joins.add(incident, members)
    return incident


def _open_similar(session: Session, cluster: Cluster, config: IncidentConfig) -> Incident | None:
    """An open incident of the same problem (formed by another worker, or before a restart)."""
    found = session.scalars(
        select(Incident).where(
            Incident.status == "open", Incident.kind == "similar", Incident.brand == cluster.brand,
            Incident.last_seen_at > cluster.last_seen - config.window, Incident.centroid.is_not(None),
        )
    )  # fmt: skip
    scored = [(float(_vector(i.centroid) @ cluster.centroid), i) for i in found]
    best = max(scored, key=lambda pair: pair[0], default=(0.0, None))
    return best[1] if best[0] >= config.similarity else None


def _new(session: Session, kind: str, brand: str | None, at: datetime, expected: float | None = None) -> Incident:
    incident = Incident(kind=kind, brand=brand, status="open", first_seen_at=at, last_seen_at=at, expected=expected,
                        sources=[])  # fmt: skip
    session.add(incident)
    return incident


def _volume(session: Session, mention: Mention, config: AppConfig, volume: _VolumeIncidents,
            joins: Joins) -> Incident | None:  # fmt: skip
    """A brand's complaints well above their usual rate: an incident whatever their texts."""
    window, at = config.incidents.window, mention.created_at
    active = volume.active(mention.brand, at, window)
    if active is not None:
        joins.add(active, [mention])
        return active
    key = (_url(session), mention.brand)
    checked = _volume_checked.get(key)
    if checked is not None and checked <= at < checked + VOLUME_CHECK_EVERY:
        return None
    _volume_checked[key] = at
    expected = _usual_if_rise(session, mention.brand, at, config.incidents)
    if expected is None:
        return None
    incident = _new(session, "volume", mention.brand, at, expected)
    volume.opened(incident)
    recent = session.scalars(
        _brand_complaints(mention.brand, at - window, at).where(Mention.ticket_id.is_not(None))
    ).all()
    joins.add(incident, list(recent))
    return incident


def _brand_complaints(brand: str | None, after: datetime, until: datetime):
    same_brand = Mention.brand.is_(None) if brand is None else Mention.brand == brand
    return select(Mention).where(
        same_brand, Mention.direction == "inbound", Mention.needs_reply.is_(True),
        Mention.created_at > after, Mention.created_at <= until,
    )  # fmt: skip


def _usual_if_rise(session: Session, brand: str | None, at: datetime, config: IncidentConfig) -> float | None:
    """The usual count for this window of the week when the latest window is a rise over it.
    Needs history back to the oldest week compared; with less, no alert."""
    weeks = config.volume.baseline_days // 7

    def count(after: datetime, until: datetime) -> int:
        return session.scalar(_brand_complaints(brand, after, until).with_only_columns(func.count(Mention.id)))

    same_brand = Mention.brand.is_(None) if brand is None else Mention.brand == brand
    oldest = session.scalar(select(func.min(Mention.created_at)).where(same_brand))
    if oldest is None or oldest > at - weeks * WEEK:
        return None
    usual = [count(at - k * WEEK - config.window, at - k * WEEK) for k in range(1, weeks + 1)]
    return volume_rise(count(at - config.window, at), usual, config.volume.factor, config.volume.min_count)


def resolve(session: Session, incident: Incident, answer: str, actor: str, at: datetime, config: AppConfig) -> int:
    """Answer every member ticket with one public answer, resolve them and the incident.
    Returns how many tickets were answered."""
    if incident.status == "resolved":
        return 0
    tickets = list(session.scalars(select(Ticket).where(Ticket.incident_id == incident.id).order_by(Ticket.id)))
    answered = 0
    for ticket in tickets:
        if ticket.status == "resolved":
            continue
        lifecycle.answer_publicly(session, ticket, answer, actor, at, config)
        lifecycle.resolve(session, ticket, actor, at)
        answered += 1
    incident.status, incident.resolved_at, incident.resolved_by, incident.answer = "resolved", at, actor, answer
    outbox.queue_incident(session, incident, config.slack.escalation_channel)
    return answered
