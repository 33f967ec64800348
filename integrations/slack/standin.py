"""A local stand-in for Slack's Web API, with a browser page whose buttons really work.

    python -m integrations.slack.standin --port 8001 --app-url http://127.0.0.1:8000 --signing-secret S

Implements the methods Earshot uses with Slack's JSON shapes, keeps messages
in memory, creates channels on first use, and can be told to fail
(`POST /_standin/faults`). The page at `/` shows channels and threads; its
buttons post signed interactivity payloads to the app's `/slack/actions`.

The stand-in signs whatever its page sends, so no other web site may make it
send anything: it answers only to loopback host names (a DNS-rebinding name
is refused), and its `/_standin/*` posts take JSON only, with an `Origin` and
`Sec-Fetch-Site`, when a browser sends them, naming the stand-in itself. An
HTML form on another site cannot send JSON, and a script there cannot either
without a CORS preflight, which the stand-in never grants.
"""

import argparse
import hashlib
import json
import os
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from flask import Flask, abort, jsonify, make_response, redirect, render_template, request
from werkzeug.serving import WSGIRequestHandler, make_server

from integrations.slack import signature
from integrations.slack.render import mrkdwn

BOT_USER = "UEARSHOTBOT"
DEFAULT_AGENT = "U0AGENT01"
FORWARD_TIMEOUT = 5
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")


@dataclass
class Fault:
    status: int
    retry_after: int
    count: int
    error: str
    apply: bool  # the call takes effect, then the answer fails (a lost response)


class Workspace:
    """Channels, messages and pending faults; every access under one lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            self.names: dict[str, str] = {}  # id -> name
            self.messages: dict[str, list[dict]] = {}  # channel id -> messages, oldest first
            self.faults: dict[str, list[Fault]] = {}
            self.notices: list[str] = []
            self.version = 0
            self.last_ts = 0.0

    def channel_id(self, ref: str) -> str | None:
        if ref in self.names:
            return ref
        name = ref.lstrip("#").lower()
        if not name or ref[:1] in ("C", "G") and not ref.startswith("#"):
            return None  # an id we never handed out
        cid = "C" + hashlib.sha1(name.encode()).hexdigest()[:10].upper()
        self.names.setdefault(cid, name)
        self.messages.setdefault(cid, [])
        return cid

    def next_ts(self) -> str:
        now = max(time.time(), self.last_ts + 0.000001)
        self.last_ts = now
        return f"{now:.6f}"

    def find(self, cid: str, ts: str) -> dict | None:
        return next((m for m in self.messages.get(cid, []) if m["ts"] == ts), None)

    def take_fault(self, method: str) -> Fault | None:
        queue = self.faults.get(method) or []
        if not queue:
            return None
        fault = queue[0]
        fault.count -= 1
        if fault.count <= 0:
            queue.pop(0)
        return fault


def _truthy(value) -> bool:
    return value in (True, 1, "1", "true", "True")


def _json_field(value):
    if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
        return json.loads(value)
    return value


class Api:
    """The Web API methods; each takes the merged parameters and returns Slack's JSON."""

    def __init__(self, ws: Workspace):
        self.ws = ws

    def _public(self, message: dict, with_metadata: bool) -> dict:
        return {k: v for k, v in message.items() if k != "metadata" or with_metadata}

    def auth_test(self, p):
        return {"ok": True, "url": "http://standin.local/", "team": "Earshot stand-in", "user": "earshot",
                "team_id": "T0STANDIN", "user_id": BOT_USER, "bot_id": "B0EARSHOT"}  # fmt: skip

    def chat_postMessage(self, p):
        cid = self.ws.channel_id(str(p.get("channel", "")))
        if cid is None:
            return {"ok": False, "error": "channel_not_found"}
        if not p.get("text") and not p.get("blocks"):
            return {"ok": False, "error": "no_text"}
        message = {"type": "message", "user": BOT_USER, "bot_id": "B0EARSHOT", "ts": self.ws.next_ts(),
                   "text": p.get("text", ""), "blocks": _json_field(p.get("blocks")) or [],
                   "received_at": time.time()}  # fmt: skip
        if p.get("metadata"):
            message["metadata"] = _json_field(p["metadata"])
        thread_ts = p.get("thread_ts")
        if thread_ts:
            parent = self.ws.find(cid, thread_ts)
            if parent is None:
                return {"ok": False, "error": "thread_not_found"}
            message["thread_ts"] = thread_ts
            parent["thread_ts"] = thread_ts
            parent["reply_count"] = parent.get("reply_count", 0) + 1
        self.ws.messages[cid].append(message)
        return {"ok": True, "channel": cid, "ts": message["ts"], "message": self._public(message, False)}

    def chat_update(self, p):
        cid = str(p.get("channel", ""))
        message = self.ws.find(cid, str(p.get("ts", "")))
        if message is None:
            return {"ok": False, "error": "message_not_found" if cid in self.ws.names else "channel_not_found"}
        message["text"] = p.get("text", message["text"])
        if p.get("blocks") is not None:
            message["blocks"] = _json_field(p["blocks"])
        message["edited"] = {"user": BOT_USER, "ts": self.ws.next_ts()}
        return {"ok": True, "channel": cid, "ts": message["ts"], "text": message["text"],
                "message": self._public(message, False)}  # fmt: skip

    def chat_postEphemeral(self, p):
        cid = self.ws.channel_id(str(p.get("channel", "")))
        if cid is None:
            return {"ok": False, "error": "channel_not_found"}
        self.ws.notices.append(f"(only visible to {p.get('user')}) {p.get('text', '')}")
        return {"ok": True, "message_ts": self.ws.next_ts()}

    def chat_getPermalink(self, p):
        cid, ts = str(p.get("channel", "")), str(p.get("message_ts", ""))
        if self.ws.find(cid, ts) is None:
            return {"ok": False, "error": "message_not_found"}
        return {"ok": True, "channel": cid, "permalink": f"{request.host_url}archives/{cid}/p{ts.replace('.', '')}"}

    def conversations_list(self, p):
        channels = [{"id": cid, "name": name, "is_channel": True} for cid, name in sorted(self.ws.names.items())]
        return {"ok": True, "channels": channels, "response_metadata": {"next_cursor": ""}}

    def _page(self, messages: list[dict], p) -> dict:
        limit = max(1, min(int(p.get("limit") or 100), 1000))
        start = int(p.get("cursor") or 0)
        chunk = messages[start : start + limit]
        more = start + limit < len(messages)
        metadata = _truthy(p.get("include_all_metadata"))
        return {"ok": True, "messages": [self._public(m, metadata) for m in chunk], "has_more": more,
                "response_metadata": {"next_cursor": str(start + limit) if more else ""}}  # fmt: skip

    def conversations_history(self, p):
        cid = str(p.get("channel", ""))
        if cid not in self.ws.names:
            return {"ok": False, "error": "channel_not_found"}
        oldest, latest = float(p.get("oldest") or 0), float(p.get("latest") or "inf")
        top = [m for m in self.ws.messages[cid] if m.get("thread_ts") in (None, m["ts"])]
        return self._page([m for m in reversed(top) if oldest <= float(m["ts"]) <= latest], p)

    def conversations_replies(self, p):
        cid, ts = str(p.get("channel", "")), str(p.get("ts", ""))
        parent = self.ws.find(cid, ts)
        if parent is None:
            return {"ok": False, "error": "thread_not_found"}
        replies = [m for m in self.ws.messages[cid] if m.get("thread_ts") == ts and m["ts"] != ts]
        return self._page([parent, *replies], p)


def _params() -> dict:
    params = dict(request.args.items())
    params.update(request.form.items())
    if request.is_json:
        params.update(request.get_json(silent=True) or {})
    return params


def _foreign_refusal():
    """None for a request of the stand-in's own page or of a local program; else the refusal.
    Local programs (tests, tools) send no Origin; a browser always does with a POST."""
    hostname = urlsplit("//" + request.host).hostname or ""
    if hostname not in LOOPBACK_NAMES and not hostname.endswith(".localhost"):
        return jsonify(error="the stand-in answers on loopback names only (127.0.0.1, localhost)"), 403
    if request.method != "POST" or not request.path.startswith("/_standin/"):
        return None
    if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        return jsonify(error="a request from another site"), 403
    origin = request.headers.get("Origin")
    if origin is not None and origin != request.host_url.rstrip("/"):
        return jsonify(error="a request from another site"), 403
    if not request.is_json:
        return jsonify(error="send JSON (Content-Type: application/json)"), 415
    return None


def _json_fields() -> dict[str, str]:
    """The posted JSON object, whose values are strings."""
    fields = request.get_json(silent=True)
    if not isinstance(fields, dict) or not all(isinstance(value, str) for value in fields.values()):
        abort(make_response(jsonify(error="send a JSON object of strings"), 400))
    return fields


def _fault_response(fault: Fault):
    if fault.status == 429:
        return jsonify(ok=False, error="ratelimited"), 429, {"Retry-After": str(fault.retry_after)}
    if fault.status >= 500:
        return "<html><body>upstream error</body></html>", fault.status, {"Content-Type": "text/html"}
    return jsonify(ok=False, error=fault.error or "fatal_error"), fault.status


def _channels_view(ws: Workspace) -> list[dict]:
    view = []
    for cid, name in sorted(ws.names.items(), key=lambda item: item[1]):
        messages = ws.messages[cid]
        top = [m for m in messages if m.get("thread_ts") in (None, m["ts"])]
        threads = {m["ts"]: [r for r in messages if r.get("thread_ts") == m["ts"] and r["ts"] != m["ts"]] for m in top}
        view.append({"id": cid, "name": name, "messages": list(reversed(top)), "threads": threads})
    return view


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


def block_actions_payload(channel: dict, message: dict, user: str, action: dict) -> dict:
    """What Slack posts (as the form field `payload`) when a button or select is used."""
    return {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "team_id": "T0STANDIN"},
        "team": {"id": "T0STANDIN"},
        "channel": channel,
        "container": {"type": "message", "message_ts": message["ts"], "channel_id": channel["id"]},
        "message": {"ts": message["ts"], "text": message.get("text", "")},
        "actions": [{**action, "action_ts": f"{time.time():.6f}"}],
        "trigger_id": f"standin.{time.time_ns()}",
        "response_url": "",
    }


def create_standin_app(app_url: str, signing_secret: str) -> Flask:
    ws = Workspace()
    api = Api(ws)
    app = Flask(__name__)
    app.jinja_env.filters["mrkdwn"] = mrkdwn
    app.config["WORKSPACE"] = ws
    app.before_request(_foreign_refusal)

    @app.route("/api/<method>", methods=["GET", "POST"])
    def web_api(method):
        if not request.headers.get("Authorization", "").startswith("Bearer "):
            return jsonify(ok=False, error="not_authed")
        handler = getattr(api, method.replace(".", "_"), None)
        if handler is None or method.startswith("_"):
            return jsonify(ok=False, error="unknown_method")
        with ws.lock:
            fault = ws.take_fault(method)
            if fault is not None and not fault.apply:
                return _fault_response(fault)
            try:
                result = handler(_params())
            except (ValueError, TypeError):
                result = {"ok": False, "error": "invalid_arguments"}
            ws.version += 1
        return _fault_response(fault) if fault is not None else jsonify(result)

    @app.post("/_standin/faults")
    def add_fault():
        spec = request.get_json(silent=True) or {}
        if not isinstance(spec.get("method"), str):
            return jsonify(error="method is required"), 400
        fault = Fault(int(spec.get("status", 500)), int(spec.get("retry_after", 1)), int(spec.get("count", 1)),
                      str(spec.get("error", "")), bool(spec.get("apply", False)))  # fmt: skip
        with ws.lock:
            ws.faults.setdefault(spec["method"], []).append(fault)
        return jsonify(ok=True)

    @app.post("/_standin/reset")
    def reset():
        ws.reset()
        return jsonify(ok=True)

    @app.get("/_standin/messages")
    def messages():
        with ws.lock:
            ref = request.args.get("channel", "")
            cid = ref if ref in ws.names else ws.channel_id(ref) if ref.startswith("#") else None
            found = [dict(m) for m in ws.messages.get(cid or "", [])]
        return jsonify(channel=cid, messages=found)

    @app.get("/_standin/version")
    def version():
        return jsonify(version=ws.version)

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
        if form.get("selected"):
            action.update(type="static_select", selected_option={"value": form["selected"]})
        else:
            action.update(type="button", value=form.get("value", ""))
        payload = block_actions_payload({"id": form["channel"], "name": name}, message, user, action)
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

    @app.get("/archives/<cid>/<ts>")
    def archive(cid, ts):
        return redirect(f"/#m{ts.lstrip('p')}", 302)

    @app.get("/")
    def page():
        with ws.lock:
            channels = _channels_view(ws)
            notices = list(reversed(ws.notices[-5:]))
            current = ws.version
        return render_template("standin.html", channels=channels, notices=notices, version=current,
                               notice=request.args.get("notice"), user=request.args.get("user", DEFAULT_AGENT))

    return app


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args):  # tests and benchmarks make thousands of calls
        pass


def start_standin_in_thread(app_url: str, signing_secret: str, port: int = 0):
    """Serve the stand-in on 127.0.0.1 (a free port by default); returns (base URL, server).

    The API is at base URL + "/api/"; call `server.shutdown()` to stop it.
    """
    app = create_standin_app(app_url, signing_secret)
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="slack-standin", daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Local Slack Web API stand-in for Earshot")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--app-url", default="http://127.0.0.1:8000")
    parser.add_argument("--signing-secret", default=os.environ.get("SLACK_SIGNING_SECRET"),
                        help="defaults to $SLACK_SIGNING_SECRET (keeps it out of the process list)")
    options = parser.parse_args(argv)
    if not options.signing_secret:
        parser.error("--signing-secret or SLACK_SIGNING_SECRET is required")
    server = make_server("127.0.0.1", options.port, create_standin_app(options.app_url, options.signing_secret),
                         threaded=True)  # fmt: skip
    print(f"Slack stand-in: http://127.0.0.1:{server.server_port}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
