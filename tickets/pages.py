"""The paging outbox: what on-call's tool (PagerDuty, the on-call webhook) should show for a breached
clock, kept on its store.schema.SlaClockState row and sent by a job (workers.paging), never in a request.

`page_wanted` is what the alert should be (triggered, acknowledged, resolved), `page_sent` what the
targets confirmed. `want` changes the wish in the caller's transaction and records the after-commit
effect PAGE, which the entry point's handler turns into a send job. The job `claim`s the row in its own
commit (a compare-and-set: of two workers, one sends), calls the targets outside any transaction, and
`record`s the outcome in a second commit: sent, again later (the targets that answered Retry, after a
backoff), or given up (`page_failed_at`, with the reason). A wish changed while a send was in flight
is sent next. Every event names the clock's dedup key, so sending one again never pages twice.

Nothing here commits, enqueues or calls a target.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from store import effects
from store.schema import SlaClockState, Ticket

PAGE = "page"  # the after-commit effect: clock state id -> when to attempt it
ACTION_OF = {"triggered": "trigger", "acknowledged": "acknowledge", "resolved": "resolve"}
STALE_CLAIM = timedelta(minutes=5)  # a claim older than this lost its worker (the job timeout is 60 s)


def _schedule(session: Session, state: SlaClockState) -> None:
    # Read just before the commit: the attempt time as the transaction leaves it.
    effects.record(session, PAGE, state.id, lambda: state.page_next_attempt_at)


def want(session: Session, state: SlaClockState, wanted: str, now: datetime) -> None:
    """On-call's alert should now be `wanted`. A page never attempted needs no acknowledge or resolve."""
    if state.page_wanted == wanted:
        return
    never_sent = state.page_sent is None and not state.page_attempts and state.page_claimed_at is None
    state.page_wanted = wanted
    state.page_attempts, state.page_targets, state.page_failed_at, state.page_last_error = 0, None, None, None
    if never_sent and wanted != "triggered":
        state.page_sent, state.page_next_attempt_at = wanted, None
        return
    state.page_next_attempt_at = now
    session.flush()
    _schedule(session, state)


def pending(state: SlaClockState) -> bool:
    return state.page_wanted is not None and state.page_wanted != state.page_sent and state.page_failed_at is None


@dataclass(frozen=True)
class Claim:
    state_id: int
    ticket_id: int
    clock: str
    wanted: str
    level: int
    summary: str
    urgency: str
    targets: tuple[str, ...] | None  # None: every configured target
    attempts: int

    @property
    def action(self) -> str:
        return ACTION_OF[self.wanted]


def _due(now: datetime):
    return and_(
        SlaClockState.page_wanted.is_not(None),
        or_(SlaClockState.page_sent.is_(None), SlaClockState.page_sent != SlaClockState.page_wanted),
        SlaClockState.page_failed_at.is_(None),
        SlaClockState.page_next_attempt_at <= now,
        or_(SlaClockState.page_claimed_at.is_(None), SlaClockState.page_claimed_at < now - STALE_CLAIM),
    )


def claim(session: Session, state_id: int, now: datetime) -> Claim | None:
    """Take the page for one attempt; None when nothing is due or another worker holds it."""
    taken = session.execute(
        update(SlaClockState).where(SlaClockState.id == state_id, _due(now))
        .values(page_claimed_at=now, page_attempts=SlaClockState.page_attempts + 1)
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    if taken.rowcount != 1:
        return None
    state = session.get(SlaClockState, state_id, populate_existing=True)
    ticket = session.get(Ticket, state.ticket_id)
    targets = tuple(state.page_targets) if state.page_targets else None
    return Claim(state.id, state.ticket_id, state.clock, state.page_wanted, state.page_level or 0,
                 state.page_summary or f"Earshot: ticket #{state.ticket_id} breached its SLA",
                 ticket.urgency if ticket else "high", targets, state.page_attempts)  # fmt: skip


def record(session: Session, held: Claim, *, sent: bool, retry: tuple[str, ...] = (),
           retry_at: datetime | None = None, error: str | None = None, now: datetime) -> str:  # fmt: skip
    """The attempt's outcome: `sent` when a target took it, `retry` the targets to try again at
    `retry_at` (None: given up), `error` why a target did not take it. Returns "sent", "retry" or "failed"."""
    state = session.get(SlaClockState, held.state_id, with_for_update=True, populate_existing=True)
    if state is None:
        return "gone"
    state.page_claimed_at = None
    state.page_last_error = error
    if retry and retry_at is not None:
        outcome = "retry"
        state.page_targets, state.page_next_attempt_at = list(retry), retry_at
    else:
        outcome = "sent" if sent and error is None else "failed"
        if sent:
            state.page_sent = held.wanted
        state.page_targets, state.page_next_attempt_at = None, None
        if outcome == "failed":
            state.page_failed_at = now
    if state.page_wanted != held.wanted:  # changed while this attempt was in flight: the new wish goes next
        state.page_attempts, state.page_targets, state.page_failed_at = 0, None, None
        state.page_next_attempt_at = now
    if state.page_next_attempt_at is not None:
        _schedule(session, state)
    return outcome


def due_pages(session: Session, now: datetime, limit: int) -> list[int]:
    """Pages whose job may have been lost (Redis down, a worker killed): due and not held."""
    return list(session.scalars(select(SlaClockState.id).where(_due(now))
                                .order_by(SlaClockState.page_next_attempt_at).limit(limit)))  # fmt: skip
