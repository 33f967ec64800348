"""The classification job: claim what is waiting, classify it in one model pass,
then have it triaged (tickets.triage: open, join or answer tickets) and commit.

A job is queued per accepted webhook request with that request's ids, but each
job drains every pending mention in micro-batches: under a burst the first
job forms full batches and later jobs find little or nothing left, while a
lone mention is classified at once.
"""

import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from functools import partial

from rq.timeouts import JobTimeoutException
from sqlalchemy import or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from core.config import AppConfig
from core.timeutil import utcnow
from store.db import session_for
from store.schema import Mention
from tickets.triage import in_savepoint, triage_batch
from workers.classify_queue import clear_flag, request_classification
from workers.context import app_context

log = logging.getLogger(__name__)
# A claim covers one micro-batch (seconds of work, even at the largest batch
# size on two cores), so a claim this old belongs to a dead worker.
STALE_CLAIM = timedelta(minutes=2)
# RQ raises this inside the work when the job runs out of time. It ends the job: no fallback may
# catch it and retry mention by mention; the claims expire and reconciliation retries.
ENDS_THE_JOB = (JobTimeoutException,)
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


def _triage(session: Session, mentions: list[Mention], predictions: dict, model_version: str, config: AppConfig):
    """One micro-batch, or one mention of it, triaged in the domain; nothing there may catch what ends the job."""
    triage_batch(session, mentions, predictions, model_version, config, fatal=ENDS_THE_JOB)


def process(session: Session, mentions: list[Mention], classifier, config: AppConfig) -> None:
    """Classify inbound mentions in one model pass (before any query, so outside a transaction),
    then triage in posting order.

    What ends the job (it ran out of time, or the database itself failed) is rolled back and raised.
    """
    inbound = [m for m in mentions if m.direction == "inbound"]
    texts = [m.text for m in inbound]
    predictions = dict(zip((m.id for m in inbound), classifier.predict(texts, config.model.batch_size), strict=True))

    def triage(batch: list[Mention]) -> Callable[[], None]:
        return partial(_triage, session, batch, predictions, classifier.model_version, config)

    try:
        _triage_contained(session, sorted(mentions, key=lambda m: (m.created_at, m.id)), triage)
    except Exception:
        session.rollback()
        raise


def _triage_contained(session: Session, ordered: list[Mention], triage: Callable) -> None:
    """The batch is triaged in one go; only if that fails is it retried mention by
    mention, each in a savepoint, so one bad mention cannot sink the others.
    """
    ids = [m.id for m in ordered]
    # The job ran out of time, or the database itself failed (a restart, a dropped
    # connection): no point retrying here. The job fails; the claims expire and
    # reconciliation retries.
    if in_savepoint(session, triage(ordered), (DBAPIError, *ENDS_THE_JOB)) is None:
        return
    log.warning("batch triage failed; retrying mention by mention", extra={"mention_ids": ids})
    for mention_id in ids:
        error = in_savepoint(session, triage([session.get(Mention, mention_id)]), ENDS_THE_JOB)
        if error is not None:
            # It stays claimed and unprocessed: reconciliation retries it after STALE_CLAIM.
            log.error("mention triage failed", exc_info=error, extra={"mention_id": mention_id})


def classify_batch(mention_ids: list[int] | None = None) -> int:
    """RQ job. Returns how many mentions this run processed."""
    from models.classifier import load_classifier

    settings, config = app_context()
    classifier = load_classifier(config.model.threads, config.model.runtime)
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
