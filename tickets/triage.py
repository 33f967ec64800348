"""Triage of classified mentions: what a micro-batch of them does to tickets.

An inbound mention joins the ticket it continues (its reply chain, its
conversation, the same customer's unresolved ticket) or, when it needs a reply,
opens one on the channel its routes choose; a customer who writes again while
waiting for the brand is a repeat contact, which raises the urgency. The
brand's own posts answer the tickets of the mentions they reply to. Then the
batch is observed for incidents.

Nothing here commits, and nothing here knows about jobs: the caller passes the
exceptions that must end its work (`fatal`, e.g. a job running out of time),
which no fallback here may catch.
"""

import logging
from collections.abc import Callable
from datetime import datetime
from functools import partial

import numpy as np
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core.config import AppConfig
from core.timeutil import utcnow
from models.text import analysed
from store.schema import Mention, Ticket
from tickets import authors, incidents, lifecycle
from tickets.assignment import route_key
from triage.routing import TicketFacts, choose_route
from triage.urgency import bump, decide

log = logging.getLogger(__name__)
Fatal = tuple[type[BaseException], ...]


def in_savepoint(session: Session, work: Callable[[], object], fatal: Fatal) -> Exception | None:
    """Run `work` in a savepoint: None when it succeeded, else the exception it failed with, its changes undone.

    An exception in `fatal` is never caught: it propagates, so that nothing retries the work piece by piece.
    """
    try:
        with session.begin_nested():
            work()
    except fatal:
        raise
    except Exception as error:
        return error
    return None


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

    def open(self, mention: Mention, route: tuple[str, str | None], at: datetime) -> Ticket:
        channel, ticket_route = route
        ticket = lifecycle.new_ticket(mention, channel, self.config, at)
        ticket.route = ticket_route  # a route with a pool: it gets an owner once the batch commits
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


def _route(mention: Mention, config: AppConfig) -> tuple[str, str | None]:
    """The ticket's channel, and the key of its route when that route assigns owners."""
    facts = TicketFacts(
        urgency=mention.urgency,
        source=mention.source,
        text=analysed(mention.text),
        brand=mention.brand,
        language=mention.language,
        followers=mention.author_followers,
    )
    chosen = choose_route(config.routes, facts)
    if chosen is None:
        return config.slack.default_channel, None
    index, route = chosen
    return route.channel, route_key(index, route) if route.assign is not None else None


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


def _observe_for_incidents(
    session: Session, observed: list[tuple[Mention, Ticket | None]], config: AppConfig, fatal: Fatal
) -> None:
    """Incident detection is an extra: its failure must not keep the tickets from their agents.

    The batch is observed in one savepoint; only if that fails, each mention in its own.
    """
    error = in_savepoint(session, partial(incidents.observe_all, session, observed, config), fatal)
    if error is None:
        return
    log.warning("incident detection failed; observing mention by mention", exc_info=error)
    incidents.forget()  # the in-memory window holds what the savepoint undid
    for mention, ticket in observed:
        observe = partial(incidents.observe, session, mention, ticket, config)
        error = in_savepoint(session, lambda observe=observe: observe(utcnow()), fatal)
        if error is not None:
            log.error("incident detection failed", exc_info=error, extra={"mention_id": mention.id})


def triage_batch(
    session: Session, mentions: list[Mention], predictions: dict, model_version: str, config: AppConfig, *, fatal: Fatal
) -> None:
    """Triage `mentions` (in posting order; `predictions` by inbound mention id), then look for incidents
    among them. Exceptions in `fatal` propagate from the incident fallbacks uncaught."""
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
            mention.model_version = model_version
            observed.append((mention, triage_inbound(session, batch, mention, predictions[mention.id], config)))
        else:
            triage_outbound(session, batch, mention, config)
        mention.processed_at = utcnow()
    batch.settle()
    _observe_for_incidents(session, observed, config, fatal)
