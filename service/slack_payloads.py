"""Slack's interactivity payloads (the form field `payload` of `/slack/actions`), read strictly.

Two types come: `block_actions` (a button or menu of a message) and `view_submission` (the reply
modal's **Send reply**). Every field is checked for its JSON type before it is used: a number
where Slack sends a string, an object where it sends a list, a missing `view`, an unknown
`callback_id` or a `private_metadata` that is no ticket id answers 400 (ApiError), never 500.
"""

import json
import re
from dataclasses import dataclass

from integrations.slack import reply_modal
from integrations.slack.actions import ACTIONS, REPLY_ACTIONS
from service.errors import ApiError

USER = re.compile(r"^[UW][A-Z0-9]{2,30}$")
BLOCK_ACTIONS, VIEW_SUBMISSION = "block_actions", "view_submission"
TRIGGER_ID_LENGTH = 255  # Slack's are ~40 characters; anything much longer is not one


@dataclass(frozen=True)
class Click:
    """A block_actions payload: who used which action on what (`target`: a ticket id, or a reply id)."""

    user: str
    action_id: str
    target: int
    choice: str | None
    name: str | None
    trigger_id: str | None


@dataclass(frozen=True)
class Submission:
    """The reply modal's view_submission."""

    user: str
    name: str | None
    ticket_id: int
    text: str
    resolve_after: bool


def payload_of(form) -> dict:
    try:
        payload = json.loads(form.get("payload", ""))
    except (ValueError, RecursionError):  # RecursionError: nested too deep to parse
        raise ApiError(400, "payload must be a JSON object (block_actions or view_submission)") from None
    if not isinstance(payload, dict):
        raise ApiError(400, "payload must be a JSON object (block_actions or view_submission)")
    return payload


def _object(value, field: str) -> dict:
    if not isinstance(value, dict):
        raise ApiError(400, f"{field} must be a JSON object", field=field)
    return value


def _id(raw, field: str, what: str) -> int:
    if not isinstance(raw, str) or not (raw.isascii() and raw.isdigit()) or len(raw) > 18:  # a signed 64-bit id
        raise ApiError(400, f"{field} must carry a {what} id", field=field)
    return int(raw)


def _user(payload: dict) -> str:
    user = _object(payload.get("user"), "user").get("id")
    if not isinstance(user, str) or not USER.fullmatch(user):
        raise ApiError(400, "user.id is not a Slack user id", field="user.id")
    return user


def user_name(payload: dict) -> str | None:
    """The Slack user's name (`user.username`, else `user.name`) when the payload carries a sane one."""
    for key in ("username", "name"):
        name = payload["user"].get(key)
        if isinstance(name, str) and name.strip() and len(name) <= 80 and name.isprintable():
            return name.strip()
    return None


def _trigger_id(payload: dict) -> str | None:
    trigger = payload.get("trigger_id")
    if trigger is None:
        return None
    if not isinstance(trigger, str) or not trigger or len(trigger) > TRIGGER_ID_LENGTH or not trigger.isprintable():
        raise ApiError(400, "trigger_id must be Slack's trigger id string", field="trigger_id")
    return trigger


def _user_pick(action: dict, action_id: str) -> str:
    """A users_select (`ticket_assign`): `<ticket id>:<the user picked>`, the ticket from its block_id
    (`ticket:<id>`), since Slack's user picker carries no value."""
    block_id, picked = action.get("block_id"), action.get("selected_user")
    if not isinstance(block_id, str) or not block_id.startswith("ticket:"):
        raise ApiError(400, f"{action_id} must come from a ticket's block (block_id ticket:<id>)",
                       field="actions[0].block_id")  # fmt: skip
    if not isinstance(picked, str) or not USER.fullmatch(picked):
        raise ApiError(400, "selected_user must be a Slack user id", field="actions[0].selected_user")
    return f"{block_id.removeprefix('ticket:')}:{picked}"


def _value(action: dict, action_id) -> str:
    known = ACTIONS.get(action_id) if isinstance(action_id, str) else None
    if known is not None and known.users:
        return _user_pick(action, action_id)
    return action["selected_option"]["value"] if "selected_option" in action else action["value"]


def parse_click(payload: dict) -> Click:
    """A block_actions payload; the value of a ticket's action carries `<ticket id>[:<choice>]`, a
    thread note's (REPLY_ACTIONS) `<reply id>`; a user picker's, its block_id and `selected_user`."""
    user = _user(payload)
    try:
        action = payload["actions"][0]
        action_id = action["action_id"]
        value = _value(action, action_id)
    except (KeyError, IndexError, TypeError, AttributeError):
        raise ApiError(400, "payload must be a block_actions JSON object with user.id and actions[0]") from None
    if not isinstance(action_id, str):  # a number, list, object or null is no action Slack sends
        raise ApiError(400, "actions[0].action_id must be a string", field="actions[0].action_id")
    if not isinstance(value, str):
        raise ApiError(400, "the action's value must be a string carrying an id", field="actions[0].value")
    raw_id, _, choice = value.partition(":")
    target = _id(raw_id, "actions[0].value", "ticket or reply")
    known = ACTIONS.get(action_id)
    if known is not None and known.users and not USER.fullmatch(choice):
        raise ApiError(400, "selected_user must be a Slack user id", field="actions[0].selected_user")
    if known is not None and known.choices and choice not in known.choices:
        raise ApiError(400, f"{known.choosing} must be one of {', '.join(known.choices)}",
                       field="actions[0].selected_option")  # fmt: skip
    if choice and action_id in REPLY_ACTIONS:  # a reply's button carries its id alone
        raise ApiError(400, "the action's value must be a reply id", field="actions[0].value")
    return Click(user, action_id, target, choice or None, user_name(payload), _trigger_id(payload))


def _text(values: dict) -> str:
    box = _object(_object(values.get(reply_modal.REPLY_BLOCK), "view.state.values.reply").get(reply_modal.REPLY_INPUT),
                  "view.state.values.reply.text")  # fmt: skip
    text = box.get("value")
    if text is None:  # what Slack sends for a box left empty
        return ""
    if not isinstance(text, str):
        raise ApiError(400, "view.state.values.reply.text.value must be a string", field="view.state.values")
    return text


def _resolve_after(values: dict) -> bool:
    block = values.get(reply_modal.RESOLVE_BLOCK)
    if block is None:  # the checkbox is optional: a view without it resolves nothing
        return False
    box = _object(_object(block, "view.state.values.resolve").get(reply_modal.RESOLVE_INPUT),
                  "view.state.values.resolve.resolve")  # fmt: skip
    selected = box.get("selected_options") or []
    if not isinstance(selected, list) or not all(isinstance(option, dict) for option in selected):
        raise ApiError(400, "selected_options must be a list of objects", field="view.state.values")
    return any(option.get("value") == reply_modal.RESOLVE_VALUE for option in selected)


def parse_submission(payload: dict) -> Submission:
    user = _user(payload)
    view = _object(payload.get("view"), "view")
    callback_id = view.get("callback_id")
    if callback_id != reply_modal.CALLBACK_ID:
        shown = repr(callback_id[:64]) if isinstance(callback_id, str) else f"of type {type(callback_id).__name__}"
        raise ApiError(400, f"unknown view callback_id {shown}", field="view.callback_id")
    ticket_id = _id(view.get("private_metadata"), "view.private_metadata", "ticket")
    values = _object(_object(view.get("state"), "view.state").get("values"), "view.state.values")
    return Submission(user, user_name(payload), ticket_id, _text(values), _resolve_after(values))
