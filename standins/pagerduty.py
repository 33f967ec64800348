"""A local stand-in for PagerDuty's Events API v2, for development, tests and fault drills.

    python -m standins.pagerduty --port 8004

`POST /v2/enqueue` validates an event as PagerDuty does (`400 {"status": "invalid event",
"message": "Event object is invalid", "errors": [...]}` for a missing or wrong `routing_key`,
`event_action`, `dedup_key`, `payload.summary`, `payload.source` or `payload.severity`) and answers
`202 {"status": "success", "message": "Event processed", "dedup_key": …}`. Alerts are kept per
`dedup_key` with their state: a trigger joins the open alert of its key (or opens one; after a
resolve, a new one), acknowledge and resolve move the open alert and are dropped when there is
none. `/` lists the alerts, `GET /_standin/incidents` returns them as JSON, and faults come from
`POST /_standin/faults` (standins.faults: `rate_limit` answers 429, `error_before`/`error_after`
500, `slow` answers late). Routing keys are never stored or shown.
"""

import argparse
import uuid
from datetime import UTC, datetime

from flask import Flask, jsonify, render_template_string, request

from integrations.paging.config import DEFAULT_PAGERDUTY_STANDIN_PORT
from standins.faults import Fault, Recorder, install_controls, post_with_faults, serve, start_in_thread

ACTIONS = ("trigger", "acknowledge", "resolve")
SEVERITIES = ("critical", "error", "warning", "info")
STATE_OF = {"acknowledge": "acknowledged", "resolve": "resolved"}
_PAGE = """<!doctype html><title>PagerDuty stand-in</title><h1>Alerts on the PagerDuty stand-in</h1>
<table border=1 cellpadding=4><tr><th>dedup_key</th><th>state</th><th>severity</th><th>summary</th>
<th>triggers</th><th>opened</th></tr>
{% for a in alerts %}<tr><td>{{ a.dedup_key }}</td><td>{{ a.state }}</td><td>{{ a.severity }}</td>
<td>{{ a.summary }}</td><td>{{ a.triggers }}</td><td>{{ a.created_at }}</td></tr>
{% else %}<tr><td colspan=6>No alerts yet.</td></tr>{% endfor %}</table>"""


class AlertRecorder(Recorder):
    """Accepted events (as `replies`, oldest first), alerts and queued faults, under one lock."""

    def reset(self):
        super().reset()
        with self.lock:
            self.alerts: list[dict] = []

    def open_alert(self, dedup_key: str) -> dict | None:
        return next((a for a in reversed(self.alerts) if a["dedup_key"] == dedup_key and a["state"] != "resolved"),
                    None)  # fmt: skip


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def invalid(errors: list[str]):
    return jsonify(status="invalid event", message="Event object is invalid", errors=errors), 400


def refusal(fault: Fault):
    if fault.kind == "rate_limit":
        body = {"status": "throttle event", "message": "Requests for this service are arriving too quickly."}
        return jsonify(body), 429, {"Retry-After": str(fault.retry_after)}
    if fault.kind in ("duplicate", "denied"):
        return invalid(["The event was refused by the stand-in's injected fault"])
    return jsonify(status="error", message="Internal server error"), 500


def _errors(event) -> list[str]:
    if not isinstance(event, dict):
        return ["Event object must be a JSON object"]
    errors = []
    key = event.get("routing_key")
    if not isinstance(key, str) or not key:
        errors.append("'routing_key' is missing or blank")
    elif len(key) != 32:
        errors.append("Length of 'routing_key' is incorrect (should be 32 characters)")
    action = event.get("event_action")
    if action not in ACTIONS:
        errors.append("'event_action' is missing or invalid (trigger, acknowledge or resolve)")
    dedup = event.get("dedup_key")
    if dedup is not None and (not isinstance(dedup, str) or not 0 < len(dedup) <= 255):
        errors.append("'dedup_key' must be a string of at most 255 characters")
    if action in ("acknowledge", "resolve") and not dedup:
        errors.append("'dedup_key' is missing or blank")
    if action == "trigger":
        errors += _payload_errors(event.get("payload"))
    return errors


def _payload_errors(payload) -> list[str]:
    if not isinstance(payload, dict):
        return ["'payload' is missing or blank"]
    errors = []
    summary = payload.get("summary")
    if not isinstance(summary, str) or not summary.strip():
        errors.append("'payload.summary' is missing or blank")
    elif len(summary) > 1024:
        errors.append("'payload.summary' is longer than 1024 characters")
    if not isinstance(payload.get("source"), str) or not payload["source"].strip():
        errors.append("'payload.source' is missing or blank")
    if payload.get("severity") not in SEVERITIES:
        errors.append("'payload.severity' is missing or invalid (critical, error, warning or info)")
    return errors


def _apply(recorder: AlertRecorder, event: dict):
    """Record the event and its effect on the alerts (the caller holds the lock); answer 202."""
    action, dedup_key = event["event_action"], event.get("dedup_key") or uuid.uuid4().hex
    payload = event.get("payload") or {}
    recorder.replies.append({"event_action": action, "dedup_key": dedup_key, "at": _now(),
                             "summary": payload.get("summary"), "custom_details": payload.get("custom_details"),
                             "links": event.get("links") or []})  # fmt: skip
    alert = recorder.open_alert(dedup_key)
    if action == "trigger" and alert is None:
        recorder.alerts.append({"dedup_key": dedup_key, "state": "triggered", "summary": payload["summary"],
                                "severity": payload["severity"], "source": payload["source"], "triggers": 1,
                                "created_at": _now(), "updated_at": _now()})  # fmt: skip
    elif action == "trigger":
        alert.update(triggers=alert["triggers"] + 1, updated_at=_now())
    elif alert is not None:  # acknowledge or resolve; without an open alert PagerDuty drops it
        alert.update(state=STATE_OF[action], updated_at=_now())
    return jsonify(status="success", message="Event processed", dedup_key=dedup_key), 202


def create_app() -> Flask:
    recorder = AlertRecorder()
    app = Flask(__name__)
    app.config["RECORDER"] = recorder
    install_controls(app, recorder)

    @app.post("/v2/enqueue")
    def enqueue():
        event = request.get_json(silent=True, force=True)
        errors = _errors(event)
        if errors:
            return invalid(errors)
        return post_with_faults(recorder, lambda: _apply(recorder, event), refusal)

    @app.get("/_standin/incidents")
    def incidents():
        with recorder.lock:
            return jsonify(incidents=[dict(alert) for alert in recorder.alerts])

    @app.get("/")
    def page():
        with recorder.lock:
            alerts = [dict(alert) for alert in reversed(recorder.alerts)]
        return render_template_string(_PAGE, alerts=alerts)

    return app


def start_pagerduty_standin_in_thread(port: int = 0):
    """The PagerDuty stand-in on 127.0.0.1; returns (base URL, server). Events go to base URL + "/v2/enqueue"."""
    return start_in_thread(create_app(), "pagerduty-standin", port)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Local PagerDuty Events API v2 stand-in for Earshot's paging")
    parser.add_argument("--port", type=int, default=DEFAULT_PAGERDUTY_STANDIN_PORT)
    serve(create_app(), parser.parse_args(argv).port, "PagerDuty stand-in")


if __name__ == "__main__":
    main()
