"""The buttons and menus of a ticket's parent message, in one registry: the block builder
(integrations.slack.blocks) draws them from it and the interactivity endpoint (service/slack.py)
applies them from it, so adding one is one entry in ACTIONS. A button either changes the ticket
(`apply`) or opens a modal (`opens`, a view for `views.open`: **Reply**).

The buttons of a thread note act on one of the ticket's replies (the failure note's **Retry**):
REPLY_ACTIONS, whose value is the reply id.

An action id and the value it carries (`<ticket id>`, or `<ticket id>:<choice>` for a menu, or
`<reply id>`) are the contract with Slack (messages already posted keep theirs): never rename one.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from core.config import AppConfig
from core.tiers import TIERS
from integrations.platforms.replies import ReplyConfig
from integrations.slack import reply_modal
from store.schema import Reply, Ticket
from tickets import assignment, escalations, lifecycle, replies

# (session, ticket, the Slack user id, now, the configuration, the menu's choice or None)
Apply = Callable[[Session, Ticket, str, datetime, AppConfig, str | None], None]
# (session, ticket, the platforms' reply configuration) -> the view that `views.open` shows
Opens = Callable[[Session, Ticket, ReplyConfig], dict]


@dataclass(frozen=True)
class Action:
    label: str  # a button's text, a menu's placeholder
    apply: Apply | None  # None for a button that only opens a modal
    style: str | None = None  # a button's: "primary" or "danger"
    choices: tuple[str, ...] = ()  # a menu's options; a button has none
    choosing: str = ""  # what a menu's choice is, for the error about a choice it does not offer
    users: bool = False  # a users_select: the choice is the Slack user picked (`selected_user`)
    current: Callable[[Ticket], str | None] | None = None  # a menu's choice shown as made
    opens: Opens | None = None  # a button that opens a modal instead of changing the ticket
    shown: Callable[[Ticket], bool] | None = None  # whether the message offers it now; None: always


def _claim(session, ticket, user, now, config, choice) -> None:
    lifecycle.claim(session, ticket, user, now)


def _responded(session, ticket, user, now, config, choice) -> None:
    lifecycle.mark_responded(session, ticket, user, now, config)


def _resolve(session, ticket, user, now, config, choice) -> None:
    lifecycle.resolve(session, ticket, user, now)


def _not_complaint(session, ticket, user, now, config, choice) -> None:
    lifecycle.not_complaint(session, ticket, user, now)


def _set_urgency(session, ticket, user, now, config, choice) -> None:
    lifecycle.set_urgency(session, ticket, choice, user, now, config)


def _wait(session, ticket, user, now, config, choice) -> None:
    replies.wait_for_customer(session, ticket, user, now, config.sla)


def _assign(session, ticket, user, now, config, choice) -> None:
    assignment.reassign(session, ticket, choice, user, now)


def _acknowledge(session, ticket, user, now, config, choice) -> None:
    if escalations.acknowledge(session, ticket, user, now):  # clicked twice, or met meanwhile: nothing to stop
        lifecycle.changed(session, ticket)


def _not_waiting(ticket: Ticket) -> bool:
    return ticket.paused_at is None  # already waiting: the clocks are paused until the customer writes


SET_URGENCY = "ticket_set_urgency"
REPLY, WAIT = "ticket_reply", "ticket_wait"
ACKNOWLEDGE = "ticket_ack"  # on the parent and on escalation messages while a breach is unacknowledged
ASSIGN = "ticket_assign"  # a users_select: its block_id carries the ticket (`ticket:<id>`), it has no value
# In the order the message shows them: the buttons, then the menu.
ACTIONS: dict[str, Action] = {
    "ticket_claim": Action("Claim", _claim, style="primary"),
    ACKNOWLEDGE: Action("Acknowledge", _acknowledge, shown=escalations.unacknowledged),
    REPLY: Action("Reply", None, opens=reply_modal.reply_view),
    "ticket_responded": Action("Responded", _responded),
    WAIT: Action("Waiting on customer", _wait, shown=_not_waiting),
    "ticket_resolve": Action("Resolve", _resolve),
    "ticket_not_complaint": Action("Not a complaint", _not_complaint, style="danger"),
    SET_URGENCY: Action("Set urgency", _set_urgency, choices=TIERS, choosing="urgency",
                        current=lambda ticket: ticket.urgency),
    ASSIGN: Action("Assign to…", _assign, users=True, current=lambda ticket: ticket.claimed_by),
}
BUTTONS = tuple(action_id for action_id, action in ACTIONS.items() if not action.choices and not action.users)


@dataclass(frozen=True)
class ReplyAction:
    label: str
    apply: Callable[[Session, Reply, str, datetime], None]  # (session, reply, the Slack user id, now)


REPLY_RETRY = "ticket_reply_retry"
REPLY_ACTIONS: dict[str, ReplyAction] = {
    REPLY_RETRY: ReplyAction("Retry", replies.retry_reply),
}
