"""The Slack stand-in's modals: trigger ids, `views.open`, and the `view_submission` a modal's
submit button sends, as Slack does them.

A trigger id is handed out with each click the page forwards (and by `POST /_standin/triggers`,
for tests and tools). Like Slack's, it opens one view, within TRIGGER_SECONDS of the click; a
trigger id the stand-in never handed out is `invalid_trigger_id`. An opened view is kept (with
the user it was opened for) until its submission is accepted or it is closed; the page shows it
as a form. Field errors the app answers (`response_action: errors`) are kept with it and shown
under their blocks, with what was typed, as Slack keeps a modal's state.

Everything here runs under the workspace's lock (standins.slack_api.Workspace).
"""

import json
import time

TRIGGER_SECONDS = 3.0  # Slack honours a trigger id for 3 seconds
VIEW_TYPES = ("modal",)
MAX_BLOCKS = 100  # Slack's limit for a modal


def issue_trigger(ws, user: str) -> str:
    trigger = f"{time.time_ns()}.{len(ws.triggers) + 1}.standin"
    ws.triggers[trigger] = {"user": user, "at": time.monotonic(), "used": False}
    return trigger


def _trigger_error(ws, trigger) -> str | None:
    issued = ws.triggers.get(trigger) if isinstance(trigger, str) else None
    if issued is None:
        return "invalid_trigger_id"
    if issued["used"]:
        return "exchanged_trigger_id"
    if time.monotonic() - issued["at"] > TRIGGER_SECONDS:
        return "expired_trigger_id"
    return None


def _view_error(view) -> str | None:
    if not isinstance(view, dict) or view.get("type") not in VIEW_TYPES:
        return "invalid_arguments"
    blocks = view.get("blocks")
    if not isinstance(blocks, list) or not blocks or len(blocks) > MAX_BLOCKS:
        return "invalid_arguments"
    if not isinstance(view.get("title"), dict):
        return "invalid_arguments"
    return None


def views_open(ws, p: dict) -> dict:
    """Slack's `views.open`: {trigger_id, view} -> {"ok": true, "view": the view as opened, with its id}."""
    view = p.get("view")
    if isinstance(view, str):
        view = json.loads(view)  # a form-encoded call sends it as JSON text; ValueError is invalid_arguments
    error = _trigger_error(ws, p.get("trigger_id")) or _view_error(view)
    if error:
        return {"ok": False, "error": error}
    issued = ws.triggers[p["trigger_id"]]
    issued["used"] = True
    ws.view_seq += 1
    opened = {**view, "id": f"V{ws.view_seq:09d}", "team_id": "T0STANDIN", "app_id": "A0EARSHOT",
              "state": {"values": {}}, "hash": f"{time.time():.6f}.standin"}  # fmt: skip
    ws.views[opened["id"]] = {"view": opened, "user": issued["user"], "errors": {}, "typed": {}}
    return {"ok": True, "view": opened}


def _inputs(view: dict):
    for block in view.get("blocks", []):
        if block.get("type") == "input" and isinstance(block.get("element"), dict) and block.get("block_id"):
            yield str(block["block_id"]), block["element"]


def state_values(view: dict, typed: dict[str, str]) -> dict:
    """`view.state.values` from the page's form: a box is `<block_id>/<action_id>`, a ticked
    checkbox `<block_id>/<action_id>/<option value>`."""
    values = {}
    for block_id, element in _inputs(view):
        action_id, kind = element.get("action_id"), element.get("type")
        name = f"{block_id}/{action_id}"
        if kind == "plain_text_input":
            state = {"type": kind, "value": typed.get(name) or None}  # Slack sends null for an empty box
        elif kind == "checkboxes":
            ticked = [option for option in element.get("options", []) if f"{name}/{option.get('value')}" in typed]
            state = {"type": kind, "selected_options": ticked}
        else:
            continue
        values[block_id] = {action_id: state}
    return values


def submission_payload(ws, view_id: str, user: str, typed: dict[str, str]) -> dict:
    """What Slack posts (as the form field `payload`) when a modal's submit button is pressed."""
    view = ws.views[view_id]["view"]
    return {
        "type": "view_submission",
        "team": {"id": "T0STANDIN"},
        "user": {"id": user, "username": user.lower(), "team_id": "T0STANDIN"},
        "api_app_id": "A0EARSHOT",
        "trigger_id": issue_trigger(ws, user),
        "view": {**view, "state": {"values": state_values(view, typed)}},
        "response_urls": [],
    }


def take_answer(ws, view_id: str, typed: dict[str, str], status: int, text: str) -> str:
    """Apply the app's answer to a submission as Slack does; returns what the page says about it.
    An empty 200 (or `response_action: clear`) closes the modal; `errors` keeps it open with them."""
    opened = ws.views.get(view_id)
    if opened is None:
        return "the modal was closed meanwhile"
    if status != 200:
        opened["errors"] = {}
        return f"the app answered HTTP {status}: {text[:200]}"
    try:
        answer = json.loads(text) if text.strip() else {}
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        return f"the app answered 200 with a body Slack would not take: {text[:200]}"
    action = answer.get("response_action")
    if action == "errors" and isinstance(answer.get("errors"), dict):
        opened["errors"], opened["typed"] = {str(k): str(v) for k, v in answer["errors"].items()}, dict(typed)
        return "the form has errors: " + "; ".join(opened["errors"].values())
    if action in (None, "clear"):
        del ws.views[view_id]
        return "sent; the modal closed"
    return f"response_action {str(action)[:40]!r} is not supported by the stand-in"
