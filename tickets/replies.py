"""Public replies agents write in Earshot (the Slack modal, the API), and what they do to a ticket.

`queue_reply` puts a reply in the platform outbox (store.schema.Reply) in the caller's transaction
and records the after-commit effect REPLY, which the entry point's handler turns into the send job
(workers.replies). The job moves the row through the states below with `claim` and the `mark_*`
functions, each in its own short transaction; the HTTP call to the platform happens between them,
never inside one.

    queued ──claim──▶ sending ──▶ sent                      (the platform named the post)
      ▲                  │──────▶ queued (mark_retry)       (nothing was posted: rate limit, no connection)
      │                  │──────▶ unknown (mark_unknown)    (it may be public: ask before sending again)
      │                  └──────▶ failed (mark_failed)      (refused, or given up; an agent may retry)
    unknown ──claim──▶ sending (the worker asks the platform first)
    sending ──release_stale──▶ unknown (its worker died: the post may have gone out)
    failed ──retry_reply──▶ unknown

Nothing here commits, enqueues or calls a platform. Text validation is the callers'
(integrations.platforms.replies.validate), who know the platform's limits.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from core.config_sla import SlaConfig
from store import effects
from store.db import upsert_insert
from store.schema import Mention, Reply, Ticket
from tickets import lifecycle, outbox
from triage import sla

REPLY = "reply"  # the after-commit effect: reply id -> when to attempt it (None: now)
DUE = ("queued", "unknown")
STALE_CLAIM = timedelta(minutes=5)  # a `sending` row older than this lost its worker (job timeout is 60 s)


class ReplyRefused(Exception):
    """The reply cannot be queued; the message is shown to the agent as it is."""


def answered_post(session: Session, ticket: Ticket) -> Mention | None:
    """The customer's post a reply answers: the ticket's latest inbound mention still on record."""
    return session.scalar(
        select(Mention)
        .where(Mention.ticket_id == ticket.id, Mention.direction == "inbound", Mention.erased_at.is_(None))
        .order_by(Mention.created_at.desc(), Mention.id.desc())
        .limit(1)
    )


def _schedule(session: Session, reply: Reply) -> None:
    # Read just before the commit: the attempt time as the transaction leaves it.
    effects.record(session, REPLY, reply.id, lambda: reply.next_attempt_at)


def queue_reply(session: Session, ticket: Ticket, text: str, actor: str, at: datetime, *,
                resolve_after: bool = False) -> Reply:  # fmt: skip
    """Queue `text` as the brand's public answer to the ticket's latest customer post; raises ReplyRefused."""
    if ticket.status == "resolved":
        raise ReplyRefused("ticket is resolved")
    post = answered_post(session, ticket)
    if post is None:
        raise ReplyRefused("no customer post to answer")
    actor = actor[:64]
    reply = Reply(ticket_id=ticket.id, mention_id=post.id, source=post.source, in_reply_to=post.external_id,
                  text=text, actor=actor, resolve_after=resolve_after, status="queued",
                  idempotency_key=f"earshot-reply-{uuid.uuid4().hex}", attempts=0, next_attempt_at=at,
                  created_at=at)  # fmt: skip
    session.add(reply)
    session.flush()
    lifecycle.record_event(session, ticket, "reply_queued", actor, at, reply_id=reply.id, mention_id=post.id)
    _schedule(session, reply)
    return reply


def retry_reply(session: Session, reply: Reply, actor: str, at: datetime) -> None:
    """An agent retries a failed reply. It goes back as `unknown`: an attempt given up on may have
    been posted, so the worker asks the platform before sending it again. Only failed replies retry."""
    if reply.status != "failed":
        return
    reply.status, reply.attempts, reply.next_attempt_at, reply.claimed_at = "unknown", 0, at, None
    ticket = session.get(Ticket, reply.ticket_id)
    lifecycle.record_event(session, ticket, "reply_retry", actor[:64], at, reply_id=reply.id)
    _schedule(session, reply)


def wait_for_customer(session: Session, ticket: Ticket, actor: str, at: datetime, sla_config: SlaConfig) -> None:
    """Pause the ticket's clocks until the customer writes again (lifecycle.attach_follow_up resumes them).
    A resolved or already waiting ticket is left as it is, like the other buttons of a stale message."""
    if ticket.status == "resolved" or ticket.paused_at is not None:
        return
    sla.paused(ticket, at)
    lifecycle.record_event(session, ticket, "waiting", actor[:64], at)
    outbox.queue_thread_note(session, ticket, f"Waiting for the customer (clocks paused by {actor})",
                             f"waiting:{ticket.id}:{at.timestamp()}")  # fmt: skip
    lifecycle.changed(session, ticket)


def replies_of(session: Session, ticket_id: int) -> list[Reply]:
    return list(session.scalars(select(Reply).where(Reply.ticket_id == ticket_id).order_by(Reply.id)))


@dataclass(frozen=True)
class Claim:
    """A reply a worker holds: what it posts, and whether an earlier attempt may have posted it."""

    reply_id: int
    ticket_id: int
    source: str
    in_reply_to: str
    text: str
    idempotency_key: str
    attempts: int  # with this claim: the `mark_*` calls only apply while the row still has it
    look_first: bool


def claim(session: Session, reply_id: int, now: datetime) -> Claim | None:
    """Take a due reply (queued or unknown) for sending, in a compare-and-set on its status and attempts:
    of two workers, one gets it. None when it is not due, or not ours."""
    reply = session.scalars(select(Reply).where(Reply.id == reply_id).execution_options(populate_existing=True)).first()
    if reply is None:
        return None
    if reply.status not in DUE or (reply.next_attempt_at is not None and reply.next_attempt_at > now):
        return None
    taken = session.execute(
        update(Reply)
        .where(Reply.id == reply.id, Reply.status == reply.status, Reply.attempts == reply.attempts)
        .values(status="sending", claimed_at=now, attempts=reply.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:
        return None
    return Claim(reply.id, reply.ticket_id, reply.source, reply.in_reply_to, reply.text, reply.idempotency_key,
                 reply.attempts + 1, look_first=reply.status != "queued")  # fmt: skip


def _held(session: Session, held: Claim) -> Reply | None:
    """The row, locked, while it is still the claim's (no repair or other worker took it since)."""
    reply = session.get(Reply, held.reply_id, with_for_update=True, populate_existing=True)
    if reply is None or reply.status != "sending" or reply.attempts != held.attempts:
        return None
    return reply


def _outbound(session: Session, reply: Reply, ticket: Ticket, external_id: str, author_id: str,
              at: datetime) -> Mention:  # fmt: skip
    """The brand's post as a mention, so the platform's webhook echo of it is a duplicate
    ((source, external_id) is unique). The echo may have come first: then that row is the one."""
    values = dict(source=reply.source, external_id=external_id, direction="outbound", author_id=author_id,
                  author_handle=ticket.brand, text=reply.text, in_reply_to=reply.in_reply_to,
                  conversation_id=ticket.conversation_id, brand=ticket.brand, extra={"reply_id": reply.id},
                  signals=[], created_at=at, received_at=at, processed_at=at, ticket_id=ticket.id)  # fmt: skip
    insert = upsert_insert(session.get_bind().dialect.name)(Mention).values(**values)
    session.execute(insert.on_conflict_do_nothing(index_elements=["source", "external_id"]))
    mention = session.scalars(
        select(Mention).where(Mention.source == reply.source, Mention.external_id == external_id)
        .execution_options(populate_existing=True)
    ).one()  # fmt: skip
    if mention.ticket_id is None:  # the echo, not triaged yet: it is this reply, already counted here
        mention.ticket_id, mention.processed_at = ticket.id, mention.processed_at or at
    return mention


def mark_sent(session: Session, held: Claim, external_id: str, at: datetime, sla_config: SlaConfig,
              author_id: str | None = None) -> bool:  # fmt: skip
    """The platform posted the reply (`external_id`) at `at`: the response clock stops at `at`, the ticket is
    responded (resolved when asked), its thread says so. A post is the truth even when the claim was lost
    meanwhile; False when the reply was already recorded as sent."""
    reply = session.get(Reply, held.reply_id, with_for_update=True, populate_existing=True)
    if reply is None or reply.status == "sent":
        return False
    ticket = session.get(Ticket, reply.ticket_id, with_for_update=True, populate_existing=True)
    reply.status, reply.external_id, reply.sent_at, reply.last_error = "sent", external_id, at, None
    reply.next_attempt_at = None
    mention = _outbound(session, reply, ticket, external_id, author_id or ticket.brand or reply.source, at)
    sla.brand_replied(ticket, at, sla_config)
    if ticket.status in ("open", "claimed"):
        ticket.status = "responded"
    ticket.claimed_by = ticket.claimed_by or reply.actor
    lifecycle.record_event(session, ticket, "reply_sent", reply.actor, at, reply_id=reply.id,
                           external_id=external_id, mention_id=mention.id)  # fmt: skip
    outbox.queue_thread_note(session, ticket, f"Reply sent by {reply.actor}:\n{reply.text}", f"reply-sent:{reply.id}")
    if reply.resolve_after:
        lifecycle.resolve(session, ticket, reply.actor, at)
    lifecycle.changed(session, ticket)
    return True


def _again(session: Session, held: Claim, status: str, reason: str, next_attempt_at: datetime) -> bool:
    reply = _held(session, held)
    if reply is None:
        return False
    reply.status, reply.last_error, reply.next_attempt_at = status, reason, next_attempt_at
    _schedule(session, reply)
    return True


def mark_retry(session: Session, held: Claim, reason: str, next_attempt_at: datetime) -> bool:
    """Nothing was posted (rate limit, no connection): send again at `next_attempt_at`."""
    return _again(session, held, "queued", reason, next_attempt_at)


def mark_unknown(session: Session, held: Claim, reason: str, next_attempt_at: datetime) -> bool:
    """The reply may be public (timeout, 5xx, a lookup that could not tell): ask the platform at
    `next_attempt_at` before sending again."""
    return _again(session, held, "unknown", reason, next_attempt_at)


def mark_failed(session: Session, held: Claim, reason: str, at: datetime) -> bool:
    """The platform refused the reply, or attempts ran out: the clocks keep running, and the thread gets
    a note with **Retry** (outbox.queue_reply_failure)."""
    reply = _held(session, held)
    if reply is None:
        return False
    reply.status, reply.last_error, reply.next_attempt_at = "failed", reason, None
    ticket = session.get(Ticket, reply.ticket_id)
    lifecycle.record_event(session, ticket, "reply_failed", "earshot", at, reply_id=reply.id, reason=reason)
    outbox.queue_reply_failure(session, ticket, reply, reason)
    lifecycle.changed(session, ticket)
    return True


def release_stale(session: Session, now: datetime) -> int:
    """`sending` claims older than STALE_CLAIM lost their worker (killed, timed out): they become
    unknown, never queued, since the post may have gone out. Returns how many."""
    released = session.execute(
        update(Reply)
        .where(Reply.status == "sending", Reply.claimed_at <= now - STALE_CLAIM)
        .values(status="unknown", next_attempt_at=now, last_error="the worker sending it stopped")
        .execution_options(synchronize_session=False)
    )
    return released.rowcount


def due_replies(session: Session, now: datetime, limit: int) -> list[int]:
    """The queued or unknown replies whose attempt is due, oldest first."""
    due = Reply.status.in_(DUE) & or_(Reply.next_attempt_at.is_(None), Reply.next_attempt_at <= now)
    return list(session.scalars(select(Reply.id).where(due).order_by(Reply.id).limit(limit)))
