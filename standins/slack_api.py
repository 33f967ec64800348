"""The Slack stand-in's Web API: a workspace in memory (channels, messages, opened modals, pending
faults), the methods Earshot uses with Slack's JSON shapes (`views.open`: standins.slack_modals),
and the `/_standin/*` knobs that tests and tools use to make it fail, reset it and read what was
posted or opened."""

import hashlib
import json
import threading
import time
from dataclasses import dataclass

from flask import Flask, jsonify, request

from standins import slack_modals

BOT_USER = "UEARSHOTBOT"


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
            self.views: dict[str, dict] = {}  # view id -> {view, user, errors, typed}: modals open now
            self.triggers: dict[str, dict] = {}  # trigger id -> {user, at, used}
            self.view_seq = 0
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

    def views_open(self, p):
        return slack_modals.views_open(self.ws, p)


def _params() -> dict:
    params = dict(request.args.items())
    params.update(request.form.items())
    if request.is_json:
        params.update(request.get_json(silent=True) or {})
    return params


def _fault_response(fault: Fault):
    if fault.status == 429:
        return jsonify(ok=False, error="ratelimited"), 429, {"Retry-After": str(fault.retry_after)}
    if fault.status >= 500:
        return "<html><body>upstream error</body></html>", fault.status, {"Content-Type": "text/html"}
    return jsonify(ok=False, error=fault.error or "fatal_error"), fault.status


def add_api_routes(app: Flask, ws: Workspace) -> None:
    """`/api/<method>`, answered from `ws` (a fault waiting for the method answers first)."""
    api = Api(ws)

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


def add_control_routes(app: Flask, ws: Workspace) -> None:
    """`/_standin/faults`, `reset`, `messages` and `version`: the knobs of tests and tools."""

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

    @app.get("/_standin/views")
    def views():
        """The modals open now, oldest first: [{view, user, errors}]."""
        with ws.lock:
            found = [{"view": v["view"], "user": v["user"], "errors": dict(v["errors"])} for v in ws.views.values()]
        return jsonify(views=found)

    @app.post("/_standin/triggers")
    def trigger():
        """A trigger id for {user}, as a click would give one (for tools and tests driving the app directly)."""
        spec = request.get_json(silent=True)
        user = spec.get("user") if isinstance(spec, dict) else None
        if not isinstance(user, str) or not user:
            return jsonify(error="user is required"), 400
        with ws.lock:
            return jsonify(trigger_id=slack_modals.issue_trigger(ws, user))

    @app.get("/_standin/version")
    def version():
        return jsonify(version=ws.version)
