"""RQ jobs that page on-call (PagerDuty Events API v2, the on-call webhook) from the paging outbox.

`send_page(state_id)` is enqueued after the commit that changed what on-call's alert should be
(tickets.pages records the effect, workers.after_commit calls `enqueue_pages`). One attempt:

1. claim the clock's row in its own commit (tickets.pages.claim: of two workers, one sends);
2. outside any transaction: trigger, acknowledge or resolve the alert of `earshot-<ticket>-<clock>`
   at every configured target (or those that asked to be tried again);
3. record the outcome in a second commit: sent; again after a backoff for the targets that answered
   Retry (429, 5xx, timeouts: one dedup key is one alert, so sending again never pages twice), at
   most MAX_ATTEMPTS times; failed for good otherwise.

`repair` (periodic) enqueues every due page whose job Redis lost and takes back the claims of
workers that died. The paging configuration is read once per process (workers.context.paging_config);
with no target configured, paging is off and the job sends nothing. Never called from a web request.
"""

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from core.timeutil import utcnow
from integrations.paging.config import PagingConfig
from integrations.paging.pager import Page, Pager
from integrations.platforms.replies.outcome import Failed, Retry, Sent
from store.db import transaction
from tickets import pages
from workers import queues
from workers.attempts import backoff as doubling_backoff
from workers.attempts import enqueue_attempts
from workers.context import app_context, paging_config

log = logging.getLogger(__name__)

JOB = "workers.paging.send_page"
MAX_ATTEMPTS = 8  # with the backoff below, about half an hour of trying
BACKOFF_SECONDS = 10.0  # the first wait after a Retry; doubled each attempt
BACKOFF_CAP_SECONDS = 300.0
REPAIR_BATCH = 200


def backoff(attempts: int, at_least: float = 0.0) -> float:
    """Seconds before the next attempt after `attempts`: doubling, at least what the target asked for."""
    return doubling_backoff(attempts, at_least, BACKOFF_SECONDS, BACKOFF_CAP_SECONDS)


def enqueue_pages(due: dict[int, datetime | None], redis_url: str | None) -> None:
    """A send job per page at its attempt time (at once when passed), in one Redis round trip."""
    enqueue_attempts(queues.PAGING, JOB, due, redis_url, "page-send")


def _send(config: PagingConfig, held: pages.Claim) -> dict:
    page = Page(ticket_id=held.ticket_id, clock=held.clock, level=held.level, summary=held.summary,
                urgency=held.urgency)  # fmt: skip
    pager = Pager(config)
    try:
        return getattr(pager, held.action)(page, only=held.targets)
    finally:
        pager.close()


def _outcome(results: dict, held: pages.Claim, at: datetime) -> dict:
    """The arguments of tickets.pages.record for the targets' results."""
    retry = {name: result for name, result in results.items() if isinstance(result, Retry)}
    failed = [f"{name}: {result.reason}" for name, result in results.items() if isinstance(result, Failed)]
    errors = failed + [f"{name}: {result.reason}" for name, result in retry.items()]
    retry_at = None
    if retry and held.attempts < MAX_ATTEMPTS:
        wait = backoff(held.attempts, max(result.after_seconds for result in retry.values()))
        retry_at = at + timedelta(seconds=wait)
    elif retry:
        errors.insert(0, f"gave up after {held.attempts} attempts")
    return {"sent": any(isinstance(result, Sent) for result in results.values()) or not results,
            "retry": tuple(retry), "retry_at": retry_at, "error": "; ".join(errors)[:2000] or None}  # fmt: skip


def attempt(database_url: str, state_id: int, config: PagingConfig,
            clock: Callable[[], datetime] = utcnow) -> str:  # fmt: skip
    """One attempt at a page; returns "sent", "retry", "failed", "not due" (nothing due, or another
    worker holds it) or "off" (no paging target configured)."""
    if not config.enabled:
        return "off"
    with transaction(database_url) as session:
        held = pages.claim(session, state_id, clock())
    if held is None:
        return "not due"
    results = _send(config, held)
    at = clock()
    with transaction(database_url) as session:
        result = pages.record(session, held, now=at, **_outcome(results, held, at))
    log.info("page attempt", extra={"state_id": state_id, "ticket_id": held.ticket_id, "clock": held.clock,
                                    "event_action": held.action, "attempt": held.attempts,
                                    "outcome": result})  # fmt: skip
    return result


def repair_due(database_url: str, redis_url: str | None, now: datetime, limit: int = REPAIR_BATCH) -> int:
    """Every due page (a lost job, or a claim older than tickets.pages.STALE_CLAIM) gets a send job."""
    with transaction(database_url) as session:
        due = pages.due_pages(session, now, limit)
    if due:
        enqueue_pages(dict.fromkeys(due), redis_url)
    return len(due)


def send_page(state_id: int) -> str:
    """RQ job: one attempt at a page."""
    settings, _ = app_context()
    return attempt(settings.database_url, state_id, paging_config())


def repair() -> int:
    """RQ periodic job: pages whose job was lost (Redis down, a worker killed)."""
    settings, _ = app_context()
    if not paging_config().enabled:
        return 0
    return repair_due(settings.database_url, settings.redis_url, utcnow())
