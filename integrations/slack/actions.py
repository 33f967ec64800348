"""The buttons and menus of a ticket's parent message, in one registry: the block builder
(integrations.slack.blocks) draws them from it and the interactivity endpoint (service/slack.py)
applies them from it, so adding one is one entry in ACTIONS.

An action id and the value it carries (`<ticket id>`, or `<ticket id>:<choice>` for a menu) are
the contract with Slack (messages already posted keep theirs): never rename one.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from core.config import AppConfig
from core.tiers import TIERS
from store.schema import Ticket
from tickets import lifecycle

# (session, ticket, the Slack user id, now, the configuration, the menu's choice or None)
Apply = Callable[[Session, Ticket, str, datetime, AppConfig, str | None], None]


@dataclass(frozen=True)
class Action:
    label: str  # a button's text, a menu's placeholder
    apply: Apply
    style: str | None = None  # a button's: "primary" or "danger"
    choices: tuple[str, ...] = ()  # a menu's options; a button has none
    choosing: str = ""  # what a menu's choice is, for the error about a choice it does not offer
    current: Callable[[Ticket], str | None] | None = None  # a menu's choice shown as made


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


SET_URGENCY = "ticket_set_urgency"
# In the order the message shows them: the buttons, then the menu.
ACTIONS: dict[str, Action] = {
    "ticket_claim": Action("Claim", _claim, style="primary"),
    "ticket_responded": Action("Responded", _responded),
    "ticket_resolve": Action("Resolve", _resolve),
    "ticket_not_complaint": Action("Not a complaint", _not_complaint, style="danger"),
    SET_URGENCY: Action("Set urgency", _set_urgency, choices=TIERS, choosing="urgency",
                        current=lambda ticket: ticket.urgency),
}
BUTTONS = tuple(action_id for action_id, action in ACTIONS.items() if not action.choices)
