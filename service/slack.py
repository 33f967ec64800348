"""Slack's requests: interactivity (`/slack/actions`) and the `/earshot` command.

Both are signed; the signature is checked on the raw body before the form is
read. An action changes the ticket in the request (a quick write) and leaves
the `chat.update` to the outbox, so Slack gets its answer well within 3 s.
An action on a ticket that does not exist answers 404 JSON (Slack shows the
button as failed); a malformed payload answers 400: a field of the wrong JSON
type (an `action_id` that is a number, a `value` that is an object), an unknown
`action_id`, a payload nested too deep to parse, a NUL character in any field.
"""

import json
import re
import time

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy import event

from core.timeutil import utcnow
from integrations.platforms.mention import SignatureError
from integrations.slack import commands, signature
from integrations.slack.actions import ACTIONS
from service.errors import ApiError
from store.db import transaction
from store.schema import Ticket, TicketEvent

bp = Blueprint("slack", __name__, url_prefix="/slack")
_USER = re.compile(r"^[UW][A-Z0-9]{2,30}$")


def _verified_form() -> dict:
    body = request.get_data(cache=True)  # the raw bytes, before anything parses the form
    try:
        signature.verify(
            current_app.config["SETTINGS"].slack_signing_secret,
            request.headers.get("X-Slack-Request-Timestamp"),
            request.headers.get("X-Slack-Signature"),
            body,
            time.time(),
        )
    except SignatureError as error:
        raise ApiError(401, str(error)) from None
    if any("\x00" in key + value for key, value in request.form.items(multi=True)):  # PostgreSQL refuses NUL in text
        raise ApiError(400, "a form field contains a NUL character")
    return request.form


def _user_name(payload: dict) -> str | None:
    """The Slack user's name (`user.username`, else `user.name`) when the payload carries a sane one."""
    for key in ("username", "name"):
        name = payload["user"].get(key)
        if isinstance(name, str) and name.strip() and len(name) <= 80 and name.isprintable():
            return name.strip()
    return None


def _parse_action(form) -> tuple[str, str, int, str | None, str | None]:
    """(user id, action id, ticket id, tier, user name) from a block_actions payload."""
    try:
        payload = json.loads(form.get("payload", ""))
        user = payload["user"]["id"]
        action = payload["actions"][0]
        action_id = action["action_id"]
        value = action["selected_option"]["value"] if "selected_option" in action else action["value"]
    except (ValueError, KeyError, IndexError, TypeError, RecursionError):  # RecursionError: nested too deep
        raise ApiError(400, "payload must be a block_actions JSON object with user.id and actions[0]") from None
    if payload.get("type") != "block_actions":
        raise ApiError(400, "only block_actions payloads are handled", field="type")
    if not isinstance(user, str) or not _USER.fullmatch(user):
        raise ApiError(400, "user.id is not a Slack user id", field="user.id")
    if not isinstance(action_id, str):  # a number, list, object or null is no action Slack sends
        raise ApiError(400, "actions[0].action_id must be a string", field="actions[0].action_id")
    if not isinstance(value, str):
        raise ApiError(400, "the action's value must be a string carrying a ticket id", field="actions[0].value")
    raw_id, _, tier = value.partition(":")
    if not (raw_id.isascii() and raw_id.isdigit()) or len(raw_id) > 18:  # ids fit in a signed 64-bit column
        raise ApiError(400, "the action's value must carry a ticket id", field="actions[0].value")
    action = ACTIONS.get(action_id)
    if action is not None and action.choices and tier not in action.choices:
        raise ApiError(400, f"{action.choosing} must be one of {', '.join(action.choices)}",
                       field="actions[0].selected_option")  # fmt: skip
    return user, action_id, int(raw_id), tier or None, _user_name(payload)


def _apply(session, ticket: Ticket, action_id: str, user: str, tier: str | None) -> None:
    action = ACTIONS.get(action_id)
    if action is None:
        raise ApiError(400, f"unknown action_id {action_id[:64]!r}", field="actions[0].action_id")
    action.apply(session, ticket, user, utcnow(), current_app.config["EARSHOT"], tier)


@bp.post("/actions")
def actions():
    user, action_id, ticket_id, tier, name = _parse_action(_verified_form())
    with transaction(current_app.config["SETTINGS"].database_url) as session:
        ticket = session.get(Ticket, ticket_id, with_for_update=True)
        if ticket is None:
            raise ApiError(404, f"no ticket {ticket_id}")
        added: list[TicketEvent] = []

        def _added(_session, obj) -> None:
            if isinstance(obj, TicketEvent):
                added.append(obj)

        event.listen(session, "transient_to_pending", _added)
        try:
            _apply(session, ticket, action_id, user, tier)
        finally:
            event.remove(session, "transient_to_pending", _added)
        if name:  # the actor stays the user id (claimed_by, <@U…> mentions); the audit log shows the name too
            for row in added:
                row.data = {**(row.data or {}), "actor_name": name[:64]}
    return "", 200


def _command_user(form) -> str | None:
    user = form.get("user_id", "")
    return user if _USER.fullmatch(user) else None


@bp.post("/commands")
def slash_command():
    form = _verified_form()
    settings = current_app.config["SETTINGS"]
    with transaction(settings.database_url) as session:
        answer = commands.answer(session, settings, form.get("text", ""), utcnow(), actor=_command_user(form),
                                 config=current_app.config["EARSHOT"])  # fmt: skip
    return jsonify(answer)
