"""The classification job: claim what is waiting, classify it in one model pass,
then open, join or answer tickets.

A job is queued per accepted webhook request with that request's ids, but each
job drains every pending mention in micro-batches: under a burst the first
job forms full batches and later jobs find little or nothing left, while a
lone mention is classified at once.
"""

import logging
import threading
from datetime import timedelta

import numpy as np
from sqlalchemy import case, literal, or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from core.config import AppConfig
from core.timeutil import utcnow
from models.urgency import bump, decide
from store.db import session_for
from store.schema import Mention, Ticket
from tickets import authors, incidents, lifecycle
from triage.routing import TicketFacts, choose_channel
from workers.classify_queue import clear_flag, request_classification
from workers.context import app_context

log = logging.getLogger(__name__)
# A claim covers one micro-batch (seconds of work, even at the largest batch
# size on two cores), so a claim this old belongs to a dead worker.
STALE_CLAIM = timedelta(minutes=2)
_stop_draining = threading.Event()


def stop_draining() -> None:
    """Called on the worker's SIGTERM: finish the micro-batch in hand, leave the rest to the queue."""
    _stop_draining.set()


def claim_pending(session: Session, limit: int) -> list[int]:
    """Mark up to `limit` unprocessed mentions as ours; a claim older than
    STALE_CLAIM (its worker died) may be taken again."""
    now = utcnow()
    candidates = (
        select(Mention.id)
        .where(Mention.processed_at.is_(None))
        .where(or_(Mention.claimed_at.is_(None), Mention.claimed_at < now - STALE_CLAIM))
        .order_by(Mention.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = list(session.execute(candidates).scalars())
    if ids:
        session.execute(update(Mention).where(Mention.id.in_(ids)).values(claimed_at=now))
    session.commit()
    return ids


def _conversation_ticket(session: Session, mention: Mention) -> Ticket | None:
    """The ticket this mention continues: its reply chain, its conversation,
    or the same customer's unresolved ticket (same author on the same source, or a handle an agent linked)."""
    if mention.in_reply_to:
        parent = session.scalars(
            select(Mention).where(Mention.source == mention.source, Mention.external_id == mention.in_reply_to)
        ).first()
        if parent is not None and parent.ticket_id is not None:
            return session.get(Ticket, parent.ticket_id)
    handles = authors.handles(session, (mention.source, mention.author_id))
    same_author = or_(*[(Ticket.source == source) & (Ticket.author_id == author) for source, author in handles])
    if mention.conversation_id:
        same_conversation = (Ticket.source == mention.source) & (Ticket.conversation_id == mention.conversation_id)
        match, preference = or_(same_conversation, same_author), case((same_conversation, 0), else_=1)
    else:
        match, preference = same_author, literal(0)
    return session.scalars(
        select(Ticket)
        .where(Ticket.status.in_(lifecycle.OPEN_STATUSES), match)
        .order_by(preference, Ticket.id.desc())
        .limit(1)
    ).first()


def _apply_waiting_replies(session: Session, ticket: Ticket, mention: Mention, config: AppConfig) -> None:
    """Brand replies that arrived before the mention they answer was classified."""
    replies = session.scalars(
        select(Mention)
        .where(Mention.source == mention.source, Mention.in_reply_to == mention.external_id)
        .where(Mention.direction == "outbound", Mention.ticket_id.is_(None), Mention.processed_at.is_not(None))
        .order_by(Mention.created_at)
    )
    for reply in replies:
        lifecycle.record_public_reply(session, ticket, reply, config, utcnow())


def _route(mention: Mention, config: AppConfig) -> str:
    facts = TicketFacts(
        urgency=mention.urgency,
        source=mention.source,
        text=mention.text,
        brand=mention.brand,
        language=mention.language,
        followers=mention.author_followers,
    )
    return choose_channel(config.routes, config.slack.default_channel, facts)


def triage_inbound(session: Session, mention: Mention, prediction, config: AppConfig) -> None:
    ticket = _conversation_ticket(session, mention)
    repeat = 0
    if ticket is not None and lifecycle.waiting_for_brand(ticket) and prediction.needs_reply:
        repeat = ticket.repeat_contacts + 1
    decision = decide(
        prediction, mention.text, followers=mention.author_followers, repeat_contacts=repeat, policy=config.urgency
    )
    mention.complaint = float(prediction.complaint)
    mention.severity = int(prediction.severity)
    mention.needs_reply = bool(prediction.needs_reply)
    mention.urgency = decision.tier
    mention.signals = list(decision.signals)
    mention.embedding = np.asarray(prediction.embedding, dtype=np.float16).tobytes()
    now = utcnow()
    if ticket is not None:
        escalated = bump(ticket.urgency) if repeat else None
        lifecycle.attach_follow_up(session, ticket, mention, config, now, escalated)
    elif mention.needs_reply:
        ticket = lifecycle.open_ticket(session, mention, _route(mention, config), config, now)
        _apply_waiting_replies(session, ticket, mention, config)
    _observe_for_incidents(session, mention, ticket, config, now)


def _observe_for_incidents(session: Session, mention: Mention, ticket: Ticket | None, config: AppConfig, now) -> None:
    """Incident detection is an extra: its failure must not keep the ticket from its agents."""
    try:
        with session.begin_nested():
            incidents.observe(session, mention, ticket, config, now)
    except Exception:
        log.exception("incident detection failed", extra={"mention_id": mention.id})


def triage_outbound(session: Session, reply: Mention, config: AppConfig) -> None:
    """The brand's own post: a public reply when it answers a customer's mention."""
    if not reply.in_reply_to:
        return
    parent = session.scalars(
        select(Mention).where(Mention.source == reply.source, Mention.external_id == reply.in_reply_to)
    ).first()
    if parent is not None and parent.ticket_id is not None:
        lifecycle.record_public_reply(session, session.get(Ticket, parent.ticket_id), reply, config, utcnow())


def _triage(session: Session, mention: Mention, prediction, classifier, config: AppConfig) -> None:
    if mention.direction == "inbound":
        mention.model_version = classifier.model_version
        triage_inbound(session, mention, prediction, config)
    else:
        triage_outbound(session, mention, config)
    mention.processed_at = utcnow()


def process(session: Session, mentions: list[Mention], classifier, config: AppConfig) -> None:
    """Classify inbound mentions in one model pass, then triage in posting order.

    The batch is triaged in one go; only if that fails is it retried mention by
    mention, each in a savepoint, so one bad mention cannot sink the others.
    """
    inbound = [m for m in mentions if m.direction == "inbound"]
    predictions = dict(zip((m.id for m in inbound), classifier.predict([m.text for m in inbound]), strict=True))
    ordered = sorted(mentions, key=lambda m: (m.created_at, m.id))
    ids = [m.id for m in ordered]
    try:
        with session.begin_nested():
            for mention in ordered:
                _triage(session, mention, predictions.get(mention.id), classifier, config)
        return
    except DBAPIError:
        # The database itself failed (a restart, a dropped connection): no point
        # retrying here. The job fails; the claims expire and reconciliation retries.
        session.rollback()
        raise
    except Exception:
        log.warning("batch triage failed; retrying mention by mention", extra={"mention_ids": ids})
    for mention_id in ids:
        mention = session.get(Mention, mention_id)
        try:
            with session.begin_nested():
                _triage(session, mention, predictions.get(mention_id), classifier, config)
        except Exception:
            # It stays claimed and unprocessed: reconciliation retries it after STALE_CLAIM.
            log.exception("mention triage failed", extra={"mention_id": mention_id})


def classify_batch(mention_ids: list[int] | None = None) -> int:
    """RQ job. Returns how many mentions this run processed."""
    from models.classifier import load_classifier

    settings, config = app_context()
    classifier = load_classifier(config.model.threads)
    clear_flag(settings.redis_url)
    done = 0
    session = session_for(settings.database_url)
    try:
        while not _stop_draining.is_set() and (ids := claim_pending(session, config.model.batch_size)):
            mentions = list(session.scalars(select(Mention).where(Mention.id.in_(ids))))
            process(session, mentions, classifier, config)
            session.commit()
            done += len(ids)
            log.info("mentions classified", extra={"mention_ids": ids, "requested": mention_ids})
    finally:
        session.close()
    if _stop_draining.is_set():  # what is still pending gets a job for the next worker
        request_classification([], settings.redis_url)
    return done
