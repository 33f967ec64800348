"""The classification job: claim what is waiting, classify it in one model pass,
then open, join or answer tickets.

A job is queued per accepted webhook request with that request's ids, but each
job drains every pending mention in micro-batches: under a burst the first
job forms full batches and later jobs find little or nothing left, while a
lone mention is classified at once.
"""

import logging
import threading
from datetime import datetime, timedelta

import numpy as np
from rq.timeouts import JobTimeoutException
from sqlalchemy import or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from core.config import AppConfig
from core.timeutil import utcnow
from models.text import analysed
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


def claim_pending(session: Session, limit: int) -> list[Mention]:
    """Mark up to `limit` unprocessed mentions as ours and load them; a claim older than
    STALE_CLAIM (its worker died, or its job ran out of time) may be taken again, but alone:
    if one mention of a batch is what killed it, it holds up no other mention a second time.

    It commits at once, so that no transaction is open while the model classifies them: on
    SQLite an open write transaction would keep the webhooks from storing what comes next.
    """
    now = utcnow()
    candidates = (
        select(Mention.id, Mention.claimed_at)
        .where(Mention.processed_at.is_(None))
        .where(or_(Mention.claimed_at.is_(None), Mention.claimed_at < now - STALE_CLAIM))
        .order_by(Mention.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = session.execute(candidates).all()
    if rows and rows[0].claimed_at is not None:
        ids = [rows[0].id]  # the oldest was claimed before: retried on its own
    else:
        ids = [row.id for row in rows if row.claimed_at is None]
    mentions = []
    if ids:
        session.execute(update(Mention).where(Mention.id.in_(ids)).values(claimed_at=now))
        mentions = list(session.scalars(select(Mention).where(Mention.id.in_(ids)).order_by(Mention.id)))
    session.commit()
    return mentions


def _fresh(session: Session, statement) -> list:
    """The rows as the database has them now, also for objects the session already holds."""
    return list(session.scalars(statement.execution_options(populate_existing=True)))


class _Batch:
    """What triaging one micro-batch reads, fetched for all its mentions in a few queries.

    The lookups answer as a query per mention would at that point of the batch: they read the
    objects, so what earlier mentions changed (a ticket opened or reopened, a reply attached)
    counts. The tickets the batch opens are inserted together by `settle`: at the end, or
    before a mention joins a ticket, so that rows keep the order of the mentions.
    """

    def __init__(self, session: Session, mentions: list[Mention], config: AppConfig):
        self.session, self.config = session, config
        inbound = [m for m in mentions if m.direction == "inbound"]
        self.handles = authors.handles_of(session, {(m.source, m.author_id) for m in inbound})
        self.parents = {(m.source, m.external_id): m for m in _parents(session, mentions)}
        self.replies: dict[tuple[str, str], list[Mention]] = {}
        for reply in _replies(session, inbound):
            self.replies.setdefault((reply.source, reply.in_reply_to), []).append(reply)
        replied_to = {parent.ticket_id for parent in self.parents.values() if parent.ticket_id}
        customers = set().union(*self.handles.values())
        conversations = {(m.source, m.conversation_id) for m in inbound if m.conversation_id}
        self.tickets = set(_tickets(session, replied_to, customers, conversations))
        self.opening: dict[Mention, tuple[Ticket, datetime]] = {}  # tickets opened, not yet inserted

    def ticket_for(self, mention: Mention) -> Ticket | None:
        """The ticket this mention continues: its reply chain, its conversation, or the same customer's
        unresolved ticket (same author on the same source, or a handle an agent linked)."""
        return self.replied_ticket(mention) or self._customer_ticket(mention)

    def replied_ticket(self, mention: Mention) -> Ticket | None:
        """The ticket of the mention this one replies to."""
        parent = self.parents.get((mention.source, mention.in_reply_to))
        if parent is None or (parent.ticket_id is None and parent not in self.opening):
            return None
        self.settle()  # the mention joins it: the tickets opened before it come first, and get their ids
        ticket = self.session.get(Ticket, parent.ticket_id)
        self.tickets.add(ticket)  # it may be resolved, and reopened by this mention
        return ticket

    def _customer_ticket(self, mention: Mention) -> Ticket | None:
        handles = self.handles[(mention.source, mention.author_id)]
        conversation = (mention.source, mention.conversation_id) if mention.conversation_id else None

        def same_conversation(ticket: Ticket) -> bool:
            return (ticket.source, ticket.conversation_id) == conversation

        matches = [
            t for t in self.tickets
            if t.status in lifecycle.OPEN_STATUSES and (same_conversation(t) or (t.source, t.author_id) in handles)
        ]  # fmt: skip
        if matches:
            self.settle()  # the mention joins one: the tickets opened before it come first, and get their ids
        return min(matches, key=lambda t: (not same_conversation(t), -t.id), default=None)

    def open(self, mention: Mention, channel: str, at: datetime) -> Ticket:
        ticket = lifecycle.new_ticket(mention, channel, self.config, at)
        self.session.add(ticket)
        self.tickets.add(ticket)
        self.opening[mention] = (ticket, at)
        return ticket

    def settle(self) -> None:
        """Insert the tickets opened since the last call (one statement), then finish opening them."""
        if not self.opening:
            return
        self.session.flush()
        opening, self.opening = self.opening, {}
        for mention, (ticket, at) in opening.items():
            lifecycle.ticket_opened(self.session, ticket, mention, at)
            self._apply_waiting_replies(ticket, mention)

    def _apply_waiting_replies(self, ticket: Ticket, mention: Mention) -> None:
        """Brand replies that arrived before the mention they answer was classified."""
        replies = self.replies.get((mention.source, mention.external_id), [])
        waiting = [r for r in replies if r.ticket_id is None and r.processed_at is not None]
        for reply in sorted(waiting, key=lambda r: (r.created_at, r.id)):
            lifecycle.record_public_reply(self.session, ticket, reply, self.config, utcnow())


def _matching(first, second, pairs: set[tuple[str, str]]) -> list:
    """`(first, second) IN pairs` as terms to OR: `first = a AND second IN (...)` for each `a`,
    a form that SQLite too answers from an index on (first, second)."""
    grouped: dict[str, list[str]] = {}
    for a, b in sorted(pairs):
        grouped.setdefault(a, []).append(b)
    return [(first == a) & second.in_(bs) for a, bs in grouped.items()]


def _parents(session: Session, mentions: list[Mention]) -> list[Mention]:
    """The mentions that `mentions` reply to."""
    replied_to = {(m.source, m.in_reply_to) for m in mentions if m.in_reply_to}
    terms = _matching(Mention.source, Mention.external_id, replied_to)
    return _fresh(session, select(Mention).where(or_(*terms))) if terms else []


def _replies(session: Session, mentions: list[Mention]) -> list[Mention]:
    """The brand's posts that reply to one of `mentions`."""
    terms = _matching(Mention.source, Mention.in_reply_to, {(m.source, m.external_id) for m in mentions})
    return _fresh(session, select(Mention).where(Mention.direction == "outbound", or_(*terms))) if terms else []


def _tickets(session: Session, ids: set[int], customers: set, conversations: set) -> list[Ticket]:
    """The tickets with `ids`, and the open tickets of `customers` (source, author id) or
    `conversations` (source, conversation id)."""
    unresolved = Ticket.status.in_(lifecycle.OPEN_STATUSES)
    terms = [Ticket.id.in_(ids)] if ids else []
    terms += [unresolved & term for term in _matching(Ticket.source, Ticket.author_id, customers)]
    terms += [unresolved & term for term in _matching(Ticket.source, Ticket.conversation_id, conversations)]
    return _fresh(session, select(Ticket).where(or_(*terms))) if terms else []


def _route(mention: Mention, config: AppConfig) -> str:
    facts = TicketFacts(
        urgency=mention.urgency,
        source=mention.source,
        text=analysed(mention.text),
        brand=mention.brand,
        language=mention.language,
        followers=mention.author_followers,
    )
    return choose_channel(config.routes, config.slack.default_channel, facts)


def triage_inbound(session: Session, batch: _Batch, mention: Mention, prediction, config: AppConfig) -> Ticket | None:
    """Classify the mention, then join the ticket it continues or open one; returns its ticket, if any."""
    ticket = batch.ticket_for(mention)
    repeat = 0
    if ticket is not None and lifecycle.waiting_for_brand(ticket) and prediction.needs_reply:
        repeat = ticket.repeat_contacts + 1
    decision = decide(
        prediction,
        analysed(mention.text),
        followers=mention.author_followers,
        repeat_contacts=repeat,
        policy=config.urgency,
        language=mention.language,
    )
    mention.complaint = float(prediction.complaint)
    mention.severity = int(prediction.severity)
    mention.needs_reply = decision.needs_reply
    mention.urgency = decision.tier
    mention.signals = list(decision.signals)
    mention.embedding = np.asarray(prediction.embedding, dtype=np.float16).tobytes()
    now = utcnow()
    if ticket is not None:
        escalated = bump(ticket.urgency) if repeat else None
        lifecycle.attach_follow_up(session, ticket, mention, config, now, escalated)
    elif mention.needs_reply:
        ticket = batch.open(mention, _route(mention, config), now)
    return ticket


def triage_outbound(session: Session, batch: _Batch, reply: Mention, config: AppConfig) -> None:
    """The brand's own post: a public reply when it answers a customer's mention."""
    ticket = batch.replied_ticket(reply)
    if ticket is not None:
        lifecycle.record_public_reply(session, ticket, reply, config, utcnow())


def _observe_for_incidents(session: Session, observed: list[tuple[Mention, Ticket | None]], config: AppConfig) -> None:
    """Incident detection is an extra: its failure must not keep the tickets from their agents.

    The batch is observed in one savepoint; only if that fails, each mention in its own.
    """
    try:
        with session.begin_nested():
            incidents.observe_all(session, observed, config)
        return
    except JobTimeoutException:
        raise
    except Exception:
        log.warning("incident detection failed; observing mention by mention", exc_info=True)
        incidents.forget()  # the in-memory window holds what the savepoint undid
    for mention, ticket in observed:
        try:
            with session.begin_nested():
                incidents.observe(session, mention, ticket, config, utcnow())
        except JobTimeoutException:
            raise
        except Exception:
            log.exception("incident detection failed", extra={"mention_id": mention.id})


def _triage(session: Session, mentions: list[Mention], predictions: dict, classifier, config: AppConfig) -> None:
    """Triage `mentions` in posting order, then look for incidents among them."""
    incidents.load_window(session, config.incidents)  # as it was before them: observe adds them one by one
    # Read again, locked: a mention erased while the model read it (its author deleted it) opens nothing.
    _fresh(session, select(Mention).where(Mention.id.in_([m.id for m in mentions])).with_for_update())
    for mention in [m for m in mentions if m.erased_at is not None]:
        mention.processed_at = mention.processed_at or utcnow()
    mentions = [m for m in mentions if m.erased_at is None]
    batch = _Batch(session, mentions, config)
    observed = []
    for mention in mentions:
        if mention.direction == "inbound":
            mention.model_version = classifier.model_version
            observed.append((mention, triage_inbound(session, batch, mention, predictions[mention.id], config)))
        else:
            triage_outbound(session, batch, mention, config)
        mention.processed_at = utcnow()
    batch.settle()
    _observe_for_incidents(session, observed, config)


def process(session: Session, mentions: list[Mention], classifier, config: AppConfig) -> None:
    """Classify inbound mentions in one model pass (before any query, so outside a transaction),
    then triage in posting order.

    The batch is triaged in one go; only if that fails is it retried mention by
    mention, each in a savepoint, so one bad mention cannot sink the others.
    """
    inbound = [m for m in mentions if m.direction == "inbound"]
    texts = [m.text for m in inbound]
    predictions = dict(zip((m.id for m in inbound), classifier.predict(texts, config.model.batch_size), strict=True))
    ordered = sorted(mentions, key=lambda m: (m.created_at, m.id))
    ids = [m.id for m in ordered]
    try:
        with session.begin_nested():
            _triage(session, ordered, predictions, classifier, config)
        return
    except (DBAPIError, JobTimeoutException):
        # The job ran out of time, or the database itself failed (a restart, a dropped
        # connection): no point retrying here. The job fails; the claims expire and
        # reconciliation retries.
        session.rollback()
        raise
    except Exception:
        log.warning("batch triage failed; retrying mention by mention", extra={"mention_ids": ids})
    for mention_id in ids:
        mention = session.get(Mention, mention_id)
        try:
            with session.begin_nested():
                _triage(session, [mention], predictions, classifier, config)
        except JobTimeoutException:
            session.rollback()
            raise
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
        while not _stop_draining.is_set() and (mentions := claim_pending(session, config.model.claim)):
            process(session, mentions, classifier, config)
            session.commit()
            done += len(mentions)
            log.info("mentions classified", extra={"mention_ids": [m.id for m in mentions], "requested": mention_ids})
    finally:
        session.close()
    if _stop_draining.is_set():  # what is still pending gets a job for the next worker
        request_classification([], settings.redis_url)
    return done
