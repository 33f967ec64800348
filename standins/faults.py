"""What the platform stand-ins (X, Meta) share: recorded replies, injected faults, serving.

Faults are queued with `POST /_standin/faults` (JSON, loopback only, guarded like the Slack
stand-in's `/_standin` endpoints):

    {"kind": "rate_limit" | "error_before" | "error_after" | "slow" | "duplicate" | "denied",
     "count": 1, "method": "POST" | "GET", "retry_after": 60, "delay": 2.0}

`error_before` answers 500 without recording; `error_after` records the reply, then answers 500
(the post took effect, the answer was lost); `slow` records it and answers after `delay` seconds
(beyond a client's read timeout); `rate_limit` answers 429 (or the platform's throttling error)
with its reset headers; `duplicate` and `denied` are the platform's refusals.
"""

import threading
import time
from dataclasses import dataclass

from flask import Flask, jsonify, render_template_string, request
from werkzeug.serving import WSGIRequestHandler, make_server

from standins.slack import _foreign_refusal as foreign_refusal

KINDS = ("rate_limit", "error_before", "error_after", "slow", "duplicate", "denied")
REFUSALS = ("rate_limit", "error_before", "duplicate", "denied")  # answered before anything is recorded


@dataclass
class Fault:
    kind: str
    count: int = 1
    method: str = "POST"
    retry_after: int = 60
    delay: float = 2.0


class Recorder:
    """Posted replies, oldest first, and queued faults; every access under one lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            self.replies: list[dict] = []
            self.faults: list[Fault] = []

    def take_fault(self, method: str) -> Fault | None:
        with self.lock:
            fault = next((f for f in self.faults if f.method == method), None)
            if fault is not None:
                fault.count -= 1
                if fault.count <= 0:
                    self.faults.remove(fault)
            return fault


def fault_from(spec) -> Fault:
    """A fault of a JSON spec; ValueError names what is wrong."""
    if not isinstance(spec, dict) or spec.get("kind") not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    if spec.get("method", "POST") not in ("POST", "GET"):
        raise ValueError("method must be POST or GET")
    try:
        fault = Fault(spec["kind"], int(spec.get("count", 1)), spec.get("method", "POST"),
                      int(spec.get("retry_after", 60)), float(spec.get("delay", 2.0)))  # fmt: skip
    except (TypeError, ValueError):
        raise ValueError("count and retry_after must be integers, delay a number of seconds") from None
    if fault.count < 1 or fault.retry_after < 0 or not 0 <= fault.delay <= 60:
        raise ValueError("count must be at least 1, retry_after at least 0, delay within 0-60 s")
    return fault


def post_with_faults(recorder: Recorder, record, refuse):
    """Answer a posting request through the next POST fault: `record()` stores the reply and
    returns the success answer; `refuse(fault)` is the platform's error answer for a fault."""
    fault = recorder.take_fault("POST")
    if fault is not None and fault.kind in REFUSALS:
        return refuse(fault)
    with recorder.lock:
        answer = record()
    if fault is not None and fault.kind == "error_after":
        return refuse(fault)
    if fault is not None and fault.kind == "slow":
        time.sleep(fault.delay)
    return answer


def install_controls(app: Flask, recorder: Recorder, page: str | None = None) -> None:
    """The loopback guard, the `/_standin/*` endpoints (faults, reset, recorded replies) and, given a
    Jinja template `page`, the page at `/` showing the replies newest first."""
    app.before_request(foreign_refusal)
    if page is not None:

        @app.get("/")
        def replies_page():
            with recorder.lock:
                shown = list(reversed(recorder.replies))
            return render_template_string(page, replies=shown)

    @app.post("/_standin/faults")
    def add_fault():
        try:
            fault = fault_from(request.get_json(silent=True))
        except ValueError as error:
            return jsonify(error=str(error)), 400
        with recorder.lock:
            recorder.faults.append(fault)
        return jsonify(ok=True)

    @app.post("/_standin/reset")
    def reset():
        recorder.reset()
        return jsonify(ok=True)

    @app.get("/_standin/replies")
    def replies():
        with recorder.lock:
            return jsonify(replies=[dict(reply) for reply in recorder.replies])


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args):
        pass


def start_in_thread(app: Flask, name: str, port: int = 0):
    """Serve `app` on 127.0.0.1 (a free port by default); returns (base URL, server).
    Call `server.shutdown()` to stop it."""
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=_QuietHandler)
    threading.Thread(target=server.serve_forever, name=name, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server


def serve(app: Flask, port: int, label: str) -> None:
    """Serve `app` in the foreground until Ctrl-C (the stand-ins' `python -m` entry)."""
    server = make_server("127.0.0.1", port, app, threaded=True)
    print(f"{label}: http://127.0.0.1:{server.server_port}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
