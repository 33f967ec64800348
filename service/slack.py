"""Slack's requests: interactivity (`/slack/actions`) and the `/earshot` command.

Both are signed; the signature is checked on the raw body before the form is
read. An action changes the ticket in the request (a quick write) and leaves
the `chat.update` to the outbox, so Slack gets its answer well within 3 s.
An action on a ticket that does not exist answers 404 JSON (Slack shows the
button as failed); a malformed payload answers 400 (service.slack_payloads): a
field of the wrong JSON type (an `action_id` that is a number, a `value` that is
an object), an unknown `action_id` or view `callback_id`, a payload nested too
deep to parse, a NUL character in any field.

**Reply** opens the reply modal (`views.open`, with the click's `trigger_id`,
which Slack honours for 3 s: so the call is made in the request, outside any
transaction). Its `view_submission` queues the reply (tickets.replies) and
answers an empty 200, which closes the modal; text the platform would refuse, or
a ticket that cannot be answered, answers 200 with `response_action: errors`,
which Slack shows under the box.
"""

import time
from contextlib import contextmanager

from flask import Blueprint, current_app, jsonify, request
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy import event

from core.timeutil import utcnow
from integrations.platforms import replies as platform_replies
from integrations.platforms.mention import SignatureError
from integrations.slack import commands, reply_modal, signature
from integrations.slack.actions import ACTIONS, REPLY_ACTIONS, Action
from integrations.slack.client import web_client
from service.errors import ApiError
from service.slack_payloads import (
    BLOCK_ACTIONS,
    USER,
    VIEW_SUBMISSION,
    Click,
    parse_click,
    parse_submission,
    payload_of,
)
from store.db import read_session, transaction
from store.schema import Reply, Ticket, TicketEvent
from tickets import replies

bp = Blueprint("slack", __name__, url_prefix="/slack")
VIEWS_OPEN_TIMEOUT = 2.5  # seconds: a trigger_id is good for 3 s, so a slower answer is useless anyway


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


@contextmanager
def _named(session, name: str | None):
    """The actor stays the user id (claimed_by, <@U…> mentions); the audit log shows the name too."""
    added: list[TicketEvent] = []

    def _added(_session, obj) -> None:
        if isinstance(obj, TicketEvent):
            added.append(obj)

    event.listen(session, "transient_to_pending", _added)
    try:
        yield
    finally:
        event.remove(session, "transient_to_pending", _added)
    if name:
        for row in added:
            row.data = {**(row.data or {}), "actor_name": name[:64]}


def _apply(session, ticket: Ticket, click: Click) -> None:
    action = ACTIONS.get(click.action_id)
    if action is None or action.apply is None:
        raise ApiError(400, f"unknown action_id {click.action_id[:64]!r}", field="actions[0].action_id")
    action.apply(session, ticket, click.user, utcnow(), current_app.config["EARSHOT"], click.choice)


def _ticket_action(click: Click):
    with transaction(current_app.config["SETTINGS"].database_url) as session:
        ticket = session.get(Ticket, click.target, with_for_update=True)
        if ticket is None:
            raise ApiError(404, f"no ticket {click.target}")
        with _named(session, click.name):
            _apply(session, ticket, click)
    return "", 200


def _reply_action(click: Click):
    """A thread note's button (Retry): its value is the reply id."""
    with transaction(current_app.config["SETTINGS"].database_url) as session:
        reply = session.get(Reply, click.target)
        if reply is None:
            raise ApiError(404, f"no reply {click.target}")
        session.get(Ticket, reply.ticket_id, with_for_update=True)  # one change to a ticket at a time
        session.refresh(reply, with_for_update=True)  # the worker may have moved it meanwhile
        with _named(session, click.name):
            REPLY_ACTIONS[click.action_id].apply(session, reply, click.user, utcnow())
    return "", 200


def _open_modal(click: Click, action: Action):
    if click.trigger_id is None:
        raise ApiError(400, "trigger_id is required to open a form", field="trigger_id")
    settings = current_app.config["SETTINGS"]
    with read_session(settings.database_url) as session:
        ticket = session.get(Ticket, click.target)
        if ticket is None:
            raise ApiError(404, f"no ticket {click.target}")
        view = action.opens(session, ticket, current_app.config["REPLIES"])
    client = web_client(settings)
    client.timeout = VIEWS_OPEN_TIMEOUT
    try:
        client.views_open(trigger_id=click.trigger_id, view=view)
    except SlackApiError as error:
        raise ApiError(502, f"Slack did not open the form: {error.response.get('error', 'unknown error')}") from None
    except (SlackClientError, OSError):
        raise ApiError(502, "Slack did not answer views.open in time") from None
    return "", 200


def _field_error(message: str):
    return jsonify(response_action="errors", errors={reply_modal.REPLY_BLOCK: message}), 200


def _submission(payload: dict):
    found = parse_submission(payload)
    try:
        with transaction(current_app.config["SETTINGS"].database_url) as session:
            ticket = session.get(Ticket, found.ticket_id, with_for_update=True)
            if ticket is None:
                return _field_error(f"Ticket #{found.ticket_id} no longer exists.")
            problem = platform_replies.refusal(ticket.source, current_app.config["REPLIES"]) or (
                platform_replies.validate(ticket.source, found.text))  # fmt: skip
            if problem:
                return _field_error(problem)
            with _named(session, found.name):
                replies.queue_reply(session, ticket, found.text, found.user, utcnow(),
                                    resolve_after=found.resolve_after)  # fmt: skip
    except replies.ReplyRefused as refused:  # raised out of the transaction: it rolls back
        return _field_error(f"Cannot send: {refused}.")
    return "", 200


@bp.post("/actions")
def actions():
    payload = payload_of(_verified_form())
    kind = payload.get("type")
    if kind == VIEW_SUBMISSION:
        return _submission(payload)
    if kind != BLOCK_ACTIONS:
        raise ApiError(400, "only block_actions and view_submission payloads are handled", field="type")
    click = parse_click(payload)
    if click.action_id in REPLY_ACTIONS:
        return _reply_action(click)
    action = ACTIONS.get(click.action_id)
    if action is not None and action.opens is not None:
        return _open_modal(click, action)
    return _ticket_action(click)


def _command_user(form) -> str | None:
    user = form.get("user_id", "")
    return user if USER.fullmatch(user) else None


@bp.post("/commands")
def slash_command():
    form = _verified_form()
    settings = current_app.config["SETTINGS"]
    with transaction(settings.database_url) as session:
        answer = commands.answer(session, settings, form.get("text", ""), utcnow(), actor=_command_user(form),
                                 config=current_app.config["EARSHOT"])  # fmt: skip
    return jsonify(answer)
