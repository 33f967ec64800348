"""RQ jobs that post agents' public replies to the platforms, each exactly once.

`send_reply(reply_id)` is enqueued after the commit that queued the reply or put it back
(tickets.replies records the effect, workers.after_commit calls `enqueue_sends`). One attempt:

1. claim the row in its own commit (queued or unknown and due → sending, attempts + 1): of two
   workers, one gets it (a compare-and-set, tickets.replies.claim);
2. outside any transaction: when an earlier attempt may have posted it (the row was unknown), ask
   the platform first (`find_sent`: its id means sent, no second post); else `send`;
3. record the outcome in a second commit: sent (the clock stops at the instant the platform
   answered), queued again after a backoff (nothing was posted), unknown (it may be public: ask
   next time), failed (refused, or MAX_ATTEMPTS spent: the Slack thread gets a Retry).

A worker that dies between 1 and 3 leaves the row `sending`; `repair` (periodic) turns such a
claim into unknown after tickets.replies.STALE_CLAIM, never into queued, and enqueues every
due reply whose job Redis lost. The platforms' configuration is read once per process
(workers.context.reply_config); each attempt opens its own HTTP client and closes it.
"""

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from core.config_sla import SlaConfig
from core.timeutil import utcnow
from integrations.platforms.replies import (
    Ambiguous,
    Failed,
    LookupFailed,
    NoReplyTarget,
    OutboundReply,
    ReplyClient,
    ReplyConfig,
    Retry,
    Sent,
    client_for,
)
from store.db import transaction
from tickets import replies
from tickets.replies import Claim
from workers import queues
from workers.attempts import backoff as doubling_backoff
from workers.attempts import enqueue_attempts
from workers.context import app_context, reply_config

log = logging.getLogger(__name__)

JOB = "workers.replies.send_reply"
MAX_ATTEMPTS = 8  # with the backoff below, about 35 minutes of trying before an agent is asked
BACKOFF_SECONDS = 10.0  # the first wait after an attempt that did not post; doubled each attempt
BACKOFF_CAP_SECONDS = 900.0  # X's rate windows are 15 minutes
REPAIR_BATCH = 200

Outcome = Sent | Retry | Ambiguous | Failed | LookupFailed


def backoff(attempts: int, at_least: float = 0.0) -> float:
    """Seconds before the next attempt after `attempts` of them: doubling, at least what the platform
    asked for (`at_least`), at most BACKOFF_CAP_SECONDS."""
    return doubling_backoff(attempts, at_least, BACKOFF_SECONDS, BACKOFF_CAP_SECONDS)


def enqueue_sends(due: dict[int, datetime | None], redis_url: str | None) -> None:
    """A send job per reply at its attempt time (at once when passed), in one Redis round trip."""
    enqueue_attempts(queues.REPLIES, JOB, due, redis_url, "reply-send")


def _post(client: ReplyClient, held: Claim) -> Outcome:
    """Ask first when an earlier attempt may have posted it, then send; never raises for the platform."""
    outbound = OutboundReply(held.ticket_id, held.source, held.in_reply_to, held.text, held.idempotency_key)
    if held.look_first:
        try:
            found = client.find_sent(outbound)
        except LookupFailed as error:
            return error
        if found is not None:
            return Sent(found)
    return client.send(outbound)


def _brand_account(client: ReplyClient) -> str | None:
    """The account the reply was posted as, when the client knows it (X user, Facebook Page, Instagram)."""
    return getattr(client, "user_id", None) or getattr(client, "account_id", None)


def _record(held: Claim, outcome: Outcome, at: datetime, database_url: str, sla: SlaConfig,
            author_id: str | None) -> str:  # fmt: skip
    """Write the attempt's outcome; returns what became of the reply."""
    with transaction(database_url) as session:
        if isinstance(outcome, Sent):
            replies.mark_sent(session, held, outcome.external_id, at, sla, author_id)
            return "sent"
        if isinstance(outcome, Failed):
            replies.mark_failed(session, held, outcome.reason, at)
            return "failed"
        if held.attempts >= MAX_ATTEMPTS:
            replies.mark_failed(session, held, f"gave up after {held.attempts} attempts: {outcome.reason}", at)
            return "failed"
        if isinstance(outcome, Retry):  # nothing was posted: it may simply go again
            wait = backoff(held.attempts, outcome.after_seconds)
            replies.mark_retry(session, held, outcome.reason, at + timedelta(seconds=wait))
            return "retry"
        asked = outcome.after_seconds if isinstance(outcome, LookupFailed) else 0.0
        replies.mark_unknown(session, held, outcome.reason, at + timedelta(seconds=backoff(held.attempts, asked)))
        return "unknown"


def _attempt_once(held: Claim, config: ReplyConfig,
                  clock: Callable[[], datetime]) -> tuple[Outcome, datetime, str | None]:  # fmt: skip
    """Post (or look first, after an unknown outcome); the outcome, when the platform answered, and the brand's id."""
    if held.attempts > MAX_ATTEMPTS:  # every attempt's worker died (a job timeout each time): ask an agent
        return Failed(f"gave up after {MAX_ATTEMPTS} attempts: the worker sending it stopped"), clock(), None
    try:
        client = client_for(held.source, config)
    except NoReplyTarget as error:
        return Failed(str(error)), clock(), None
    try:
        outcome = _post(client, held)
        at = clock()  # when the platform answered: a sent reply met the clock then, not when this job ends
        return outcome, at, _brand_account(client)
    finally:
        client.close()


def attempt(database_url: str, reply_id: int, config: ReplyConfig, sla: SlaConfig,
            clock: Callable[[], datetime] = utcnow) -> str:  # fmt: skip
    """One attempt at posting a reply; returns "sent", "retry", "unknown", "failed", or "not due" when
    it is not due or another worker holds it."""
    with transaction(database_url) as session:
        held = replies.claim(session, reply_id, clock())
    if held is None:
        return "not due"
    outcome, at, author_id = _attempt_once(held, config, clock)
    result = _record(held, outcome, at, database_url, sla, author_id)
    log.info("reply attempt", extra={"reply_id": reply_id, "ticket_id": held.ticket_id, "attempt": held.attempts,
                                     "outcome": result})  # fmt: skip
    return result


def repair_due(database_url: str, redis_url: str | None, now: datetime, limit: int = REPAIR_BATCH) -> int:
    """Dead workers' claims become unknown; every due reply gets a send job. Returns how many were enqueued."""
    with transaction(database_url) as session:
        stale = replies.release_stale(session, now)
        due = replies.due_replies(session, now, limit)
    if stale:
        log.warning("reply claims of stopped workers released", extra={"count": stale})
    if due:
        enqueue_sends(dict.fromkeys(due), redis_url)
    return len(due)


def send_reply(reply_id: int) -> str:
    """RQ job: one attempt at posting the reply."""
    settings, config = app_context()
    return attempt(settings.database_url, reply_id, reply_config(), config.sla)


def repair() -> int:
    """RQ periodic job: replies whose job was lost (Redis down, a worker killed)."""
    settings, _ = app_context()
    return repair_due(settings.database_url, settings.redis_url, utcnow())
