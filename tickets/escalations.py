"""A breached clock's escalation ladder in storage: its levels fired once, its acknowledgement, its page.

`climb` runs in the SLA check (tickets.sla_checks.check_locked), on the locked ticket: for each clock
past its deadline it fires the levels of `sla.escalation` that are due (triage.escalation), each
recorded once per (ticket, clock, deadline, level) by INSERT .. ON CONFLICT DO NOTHING, so only the
caller whose insert landed announces it, however many sweepers run. Level 0 is the breach's message
in the escalation channel as it always was (same key, same text); later levels say how late the clock
is, in the ticket's thread and in the level's channel, with the level's mentions. A level with
`page: true` asks for a page (tickets.pages) when paging is configured. The time of the next level is
kept on the clock's row; `after_change` folds it into the ticket's `next_deadline_at`, so the SLA
sweep finds it like any other deadline.

`acknowledge` stops the levels not fired yet and acknowledges the page. `after_change` (called by
tickets.sla_checks.schedule_checks after every clock change) settles a clock once it is met or the
ticket resolved: no more levels, and the page resolved. A clock that breaches again later (a new
next-response deadline) starts a new ladder, unacknowledged.
"""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.config_sections import SlackConfig
from core.config_sla import SlaConfig
from core.timeutil import iso
from store.db import upsert_insert
from store.schema import SlaClockState, SlaEscalation, Ticket, TicketEvent
from tickets import alerts, outbox, pages
from triage import escalation as ladders
from triage import sla as rules

BREACH_FLAGS = tuple(f"{clock}_breached" for clock in rules.CLOCKS)


def _states(session: Session, ticket: Ticket) -> dict[str, SlaClockState]:
    rows = session.scalars(select(SlaClockState).where(SlaClockState.ticket_id == ticket.id)
                           .execution_options(populate_existing=True))  # fmt: skip
    return {row.clock: row for row in rows}


def _state(session: Session, ticket: Ticket, clock: str) -> SlaClockState:
    insert = upsert_insert(session.get_bind().dialect.name)
    session.execute(insert(SlaClockState).values(ticket_id=ticket.id, clock=clock, page_attempts=0)
                    .on_conflict_do_nothing())  # fmt: skip
    return session.scalars(select(SlaClockState).where(SlaClockState.ticket_id == ticket.id,
                                                       SlaClockState.clock == clock)
                           .execution_options(populate_existing=True)).one()  # fmt: skip


def _record(session: Session, ticket: Ticket, clock: str, due: datetime, level: int, now: datetime) -> bool:
    """True when this call fired the level, False when someone already had."""
    insert = upsert_insert(session.get_bind().dialect.name)
    statement = (insert(SlaEscalation).values(ticket_id=ticket.id, clock=clock, deadline_at=due, level=level, at=now)
                 .on_conflict_do_nothing().returning(SlaEscalation.id))  # fmt: skip
    return session.execute(statement).scalar_one_or_none() is not None


def _fired(session: Session, ticket: Ticket, clock: str, due: datetime) -> set[int]:
    where = (SlaEscalation.ticket_id == ticket.id, SlaEscalation.clock == clock, SlaEscalation.deadline_at == due)
    return set(session.scalars(select(SlaEscalation.level).where(*where)))


def breached(ticket: Ticket, clock: str, now: datetime) -> bool:
    due = rules.due_at(ticket, clock)
    return rules.running(ticket, clock) and due is not None and due <= now


def _begin(state: SlaClockState, due: datetime) -> None:
    """The ladder counts from this breach. After a clock met, a new breach is a new ladder; a deadline
    moved by an urgency change keeps the acknowledgement of the breach it continues."""
    if state.breach_deadline_at == due:
        return
    if state.settled_at is not None:
        state.acknowledged_at = state.acknowledged_by = state.settled_at = state.page_level = None
    state.breach_deadline_at = due


def _announce(session: Session, ticket: Ticket, state: SlaClockState, index: int, ladder: ladders.Ladder,
              slack: SlackConfig, now: datetime, paging: bool) -> None:  # fmt: skip
    clock, due, level = state.clock, state.breach_deadline_at, ladder[index]
    mentions = ladders.mentions_for(level, ticket.claimed_by)
    channel = ladders.channel_for(level, slack)
    if index == 0:  # the breach in the escalation channel, keyed and worded as before the ladder
        breach = rules.Alert(due, clock, "breach", 0)
        text = alerts.escalation_text(ticket, alerts.alert_text(ticket, breach, now))
        key = alerts.alert_key(ticket, breach)
    else:
        text = alerts.level_text(ticket, clock, due, index, len(ladder), level.page and paging, now)
        key = f"sla:{ticket.id}:{clock}:level:{int(due.timestamp())}:{index}"
        outbox.queue_thread_note(session, ticket, text, key, note="alert")
        session.add(TicketEvent(ticket_id=ticket.id, at=now, type="sla_escalation", actor="earshot",
                                data={"clock": clock, "level": index, "deadline_at": iso(due),
                                      "paged": bool(level.page and paging)}))  # fmt: skip
        text = alerts.escalation_text(ticket, text)
    outbox.queue_escalation(session, ticket, text, key, channel, mentions, clock=clock)
    if level.page and paging and state.page_level is None:
        state.page_level, state.page_summary = index, alerts.page_summary(ticket, clock, due)
        pages.want(session, state, "triggered", now)


def climb(session: Session, ticket: Ticket, sla: SlaConfig, slack: SlackConfig, now: datetime,
          paging: bool = False) -> list[tuple[str, int]]:  # fmt: skip
    """Fire the (locked) ticket's escalation levels due at `now`; returns the (clock, level) this call fired.
    `paging`: whether pages can be sent (integrations.paging configured)."""
    ladder = ladders.ladder_for(sla, slack)
    states, fired_now = _states(session, ticket), []
    for clock in rules.CLOCKS:
        if not breached(ticket, clock, now):
            if clock in states:  # met, paused or moved later: nothing to climb until it breaches again
                states[clock].next_level_at = None
            continue
        state = states.get(clock) or _state(session, ticket, clock)
        due = rules.due_at(ticket, clock)
        _begin(state, due)
        fired = _fired(session, ticket, clock, due)
        acknowledged = state.acknowledged_at is not None
        for index in ladders.due_levels(ladder, due, now, fired, acknowledged):
            if _record(session, ticket, clock, due, index, now):
                _announce(session, ticket, state, index, ladder, slack, now, paging)
                fired_now.append((clock, index))
            fired.add(index)
        state.next_level_at = ladders.next_level_at(ladder, due, fired, acknowledged)
    return fired_now


def unacknowledged(ticket: Ticket, clock: str | None = None) -> bool:
    """A breached clock of the ticket (`clock`, or any) escalates and nobody acknowledged it: the
    **Acknowledge** button shows."""
    return ticket.status != "resolved" and any(
        state.breach_deadline_at is not None and state.settled_at is None and state.acknowledged_at is None
        and clock in (None, state.clock) for state in ticket.clock_states)  # fmt: skip


def acknowledge(session: Session, ticket: Ticket, actor: str, now: datetime) -> list[str]:
    """Someone owns the breach: no further levels for its clocks, the page acknowledged. Returns the clocks."""
    done = []
    for clock, state in _states(session, ticket).items():
        if state.breach_deadline_at is None or state.settled_at is not None or state.acknowledged_at is not None:
            continue
        state.acknowledged_at, state.acknowledged_by, state.next_level_at = now, actor[:64], None
        session.add(TicketEvent(ticket_id=ticket.id, at=now, type="acknowledged", actor=actor[:64],
                                data={"clock": clock, "deadline_at": iso(state.breach_deadline_at)}))  # fmt: skip
        if state.page_wanted == "triggered":
            pages.want(session, state, "acknowledged", now)
        done.append(clock)
    return done


def _settled(ticket: Ticket, clock: str) -> datetime | None:
    """When the clock stopped for good: met, or the ticket resolved; None while it may still climb."""
    return getattr(ticket, f"{clock}_met_at") or ticket.resolution_met_at


def after_change(session: Session, ticket: Ticket) -> None:
    """After a clock change: a clock met (or the ticket resolved) settles its ladder and resolves its
    page; a clock still escalating has its next level folded into `next_deadline_at`."""
    if ticket.id is None or not any(getattr(ticket, flag) for flag in BREACH_FLAGS):
        return  # no clock ever breached: nothing escalates (the common case costs no query)
    waiting = []
    for clock, state in _states(session, ticket).items():
        settled = _settled(ticket, clock)
        if settled is not None and state.settled_at is None and state.breach_deadline_at is not None:
            state.settled_at, state.next_level_at = settled, None
            if state.page_wanted in ("triggered", "acknowledged"):
                pages.want(session, state, "resolved", settled)
        elif state.next_level_at is not None and state.acknowledged_at is None and rules.running(ticket, clock):
            waiting.append(state.next_level_at)
    if waiting:
        ticket.next_deadline_at = min(filter(None, (ticket.next_deadline_at, *waiting)))
