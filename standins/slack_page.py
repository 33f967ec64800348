"""The Slack stand-in's browser page: channels and threads as Slack would show them, whose
buttons and `/earshot` box post signed requests to the app, as Slack's interactivity does.
A modal the app opened (`views.open`, standins.slack_modals) shows as a form above the channels,
for the user it was opened for; its submit button posts a signed `view_submission`."""

import json
import re
import time
import urllib.error
import urllib.request
from urllib.parse import urlencode

from flask import Flask, abort, jsonify, make_response, redirect, render_template, request

from integrations.slack import signature
from standins import slack_modals
from standins.slack_api import Workspace

DEFAULT_AGENT = "U0AGENT01"
_MENTIONED = re.compile(r"<@([UW][A-Z0-9]{2,})>")
FORWARD_TIMEOUT = 5


def _json_fields() -> dict[str, str]:
    """The posted JSON object, whose values are strings."""
    fields = request.get_json(silent=True)
    if not isinstance(fields, dict) or not all(isinstance(value, str) for value in fields.values()):
        abort(make_response(jsonify(error="send a JSON object of strings"), 400))
    return fields


def _channels_view(ws: Workspace) -> list[dict]:
    view = []
    for cid, name in sorted(ws.names.items(), key=lambda item: item[1]):
        messages = ws.messages[cid]
        top = [m for m in messages if m.get("thread_ts") in (None, m["ts"])]
        threads = {m["ts"]: [r for r in messages if r.get("thread_ts") == m["ts"] and r["ts"] != m["ts"]] for m in top}
        view.append({"id": cid, "name": name, "messages": list(reversed(top)), "threads": threads})
    return view


def known_users(ws: Workspace, user: str) -> list[str]:
    """The users a user picker offers: the page's user, the default agent, and everyone a message
    mentions (an assigned ticket names its owner), as a small workspace's member list would."""
    seen = {DEFAULT_AGENT, user}
    for messages in ws.messages.values():
        for message in messages:
            seen.update(_MENTIONED.findall(json.dumps(message.get("blocks") or []) + message.get("text", "")))
    return sorted(seen)


def _forward(app_url: str, secret: str, path: str, fields: dict) -> tuple[int, str]:
    """Sign a form body as Slack does and post it to the app."""
    body = urlencode(fields).encode()
    headers = signature.signed_headers(secret, body, int(time.time()))
    forwarded = urllib.request.Request(app_url.rstrip("/") + path, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(forwarded, timeout=FORWARD_TIMEOUT) as answer:
            return answer.status, answer.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")
    except OSError as error:
        return 0, f"the app did not answer: {error}"


def block_actions_payload(channel: dict, message: dict, user: str, action: dict, trigger_id: str) -> dict:
    """What Slack posts (as the form field `payload`) when a button or select is used."""
    return {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "team_id": "T0STANDIN"},
        "team": {"id": "T0STANDIN"},
        "channel": channel,
        "container": {"type": "message", "message_ts": message["ts"], "channel_id": channel["id"]},
        "message": {"ts": message["ts"], "text": message.get("text", "")},
        "actions": [{**action, "action_ts": f"{time.time():.6f}"}],
        "trigger_id": trigger_id,
        "response_url": "",
    }


def add_interactive_routes(app: Flask, ws: Workspace, app_url: str, signing_secret: str) -> None:
    """`/_standin/click` and `/_standin/command`: the page's buttons and `/earshot` box, signed and forwarded."""

    @app.post("/_standin/click")
    def click():
        """A button or select of the page: {channel, ts, user, block_id, action_id, value | selected};
        answers {"status": the app's HTTP status, "notice": what the page shows}."""
        form = _json_fields()
        user = form.get("user") or DEFAULT_AGENT
        with ws.lock:
            message = ws.find(form.get("channel", ""), form.get("ts", ""))
            name = ws.names.get(form.get("channel", ""))
        if message is None:
            return jsonify(status=None, notice="message not found"), 404
        action = {"action_id": form.get("action_id", ""), "block_id": form.get("block_id", "")}
        if form.get("selected_user"):
            action.update(type="users_select", selected_user=form["selected_user"])
        elif form.get("selected"):
            action.update(type="static_select", selected_option={"value": form["selected"]})
        else:
            action.update(type="button", value=form.get("value", ""))
        with ws.lock:  # a click may open a modal: its trigger id opens one, for this user
            trigger_id = slack_modals.issue_trigger(ws, user)
        payload = block_actions_payload({"id": form["channel"], "name": name}, message, user, action, trigger_id)
        status, text = _forward(app_url, signing_secret, "/slack/actions", {"payload": json.dumps(payload)})
        return jsonify(status=status, notice=f"{action['action_id']}: HTTP {status} {text[:200]}")

    @app.post("/_standin/command")
    def command():
        """`/earshot <text>` from the page: {text, user}; the answer joins the page's notices."""
        form = _json_fields()
        user = form.get("user") or DEFAULT_AGENT
        fields = {"command": "/earshot", "text": form.get("text", ""), "user_id": user,
                  "channel_id": "C0COMMANDS", "team_id": "T0STANDIN", "response_url": ""}  # fmt: skip
        status, text = _forward(app_url, signing_secret, "/slack/commands", fields)
        try:
            answer = json.loads(text).get("text", text)
        except (ValueError, AttributeError):  # not JSON, or JSON that is not an object
            answer = text
        with ws.lock:
            ws.notices.append(f"/earshot {fields['text']} -> HTTP {status}\n{answer}")
            ws.version += 1
        return jsonify(status=status, answer=answer)


def add_modal_routes(app: Flask, ws: Workspace, app_url: str, signing_secret: str) -> None:
    """`/_standin/submit` and `/_standin/close`: an opened modal's buttons (standins.slack_modals)."""

    @app.post("/_standin/submit")
    def submit():
        """A modal's submit button: {view_id, user, <block_id>/<action_id>: typed, …}; the app's answer
        closes the modal or keeps it open with its field errors. Answers {"status", "notice"}."""
        form = _json_fields()
        view_id = form.get("view_id", "")
        with ws.lock:
            opened = ws.views.get(view_id)
            if opened is None:
                return jsonify(status=None, notice="no such modal is open"), 404
            payload = slack_modals.submission_payload(ws, view_id, opened["user"], form)
        status, text = _forward(app_url, signing_secret, "/slack/actions", {"payload": json.dumps(payload)})
        with ws.lock:
            notice = slack_modals.take_answer(ws, view_id, form, status, text)
            ws.version += 1
        return jsonify(status=status, notice=f"{payload['view'].get('callback_id')}: {notice}")

    @app.post("/_standin/close")
    def close():
        """A modal's close button: {view_id}."""
        form = _json_fields()
        with ws.lock:
            closed = ws.views.pop(form.get("view_id", ""), None)
            ws.version += 1
        return jsonify(status=None, notice="modal closed" if closed else "no such modal is open")


def add_page_routes(app: Flask, ws: Workspace) -> None:
    """`/`, the page, and `/archives/…`, the links Earshot builds to a message."""

    @app.get("/archives/<cid>/<ts>")
    def archive(cid, ts):
        return redirect(f"/#m{ts.lstrip('p')}", 302)

    @app.get("/")
    def page():
        with ws.lock:
            channels = _channels_view(ws)
            notices = list(reversed(ws.notices[-5:]))
            current = ws.version
            user = request.args.get("user", DEFAULT_AGENT)
            modals = [{"id": view_id, **opened} for view_id, opened in ws.views.items() if opened["user"] == user]
            users = known_users(ws, user)
        return render_template("slack.html", channels=channels, notices=notices, version=current, modals=modals,
                               notice=request.args.get("notice"), user=user, users=users)
