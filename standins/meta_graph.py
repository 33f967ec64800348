"""A local stand-in for the Graph API calls Earshot makes to reply as the Page.

    python -m standins.meta_graph --port 8003

`POST /{version}/{comment-id}/comments` (Facebook) and `/replies` (Instagram) with `message`;
`GET` of the same edges (`fields`, `limit`, cursor `after`); `GET /{version}/me`. The token is
taken from `Authorization: Bearer|OAuth` or `access_token`; errors have Graph's shape
(`{"error": {"message", "type", "code", "fbtrace_id"}}`), throttling included (HTTP 400, code 32,
`X-Business-Use-Case-Usage`). The page at `/` lists the replies; faults come from
`POST /_standin/faults` (standins.faults).
"""

import argparse
import json
import math
from datetime import UTC, datetime

from flask import Flask, jsonify, request

from integrations.platforms.replies.config import DEFAULT_META_STANDIN_PORT, STANDIN_META_TOKEN
from integrations.platforms.replies.limits import limit_for
from standins.faults import Fault, Recorder, install_controls, post_with_faults, serve, start_in_thread

PAGE = {"id": "104000000000001", "name": "Acme"}
INSTAGRAM_ACCOUNT = {"id": "17841400000000001", "username": "acme"}
EDGES = {"comments": "facebook", "replies": "instagram"}
_PAGE = """<!doctype html><title>Meta stand-in</title><h1>Replies posted on the Meta stand-in</h1>
{% for r in replies %}<p><b>{{ r.platform }} {{ r.id }}</b> on comment {{ r.parent }} at {{ r.created_time }}<br>
{{ r.message }}</p>{% else %}<p>No replies yet.</p>{% endfor %}"""


def graph_error(status: int, code: int, message: str, headers=None, **extra):
    error = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AStandInTrace", **extra}
    return jsonify(error=error), status, headers or {}


def refusal(fault: Fault):
    if fault.kind == "rate_limit":
        usage = {PAGE["id"]: [{"type": "pages", "call_count": 100, "total_cputime": 10, "total_time": 10,
                               "estimated_time_to_regain_access": math.ceil(fault.retry_after / 60)}]}  # fmt: skip
        return graph_error(400, 32, "Page request limit reached", {"X-Business-Use-Case-Usage": json.dumps(usage)})
    if fault.kind == "duplicate":
        return graph_error(400, 506, "Duplicate status message")
    if fault.kind == "denied":
        return graph_error(403, 200, "(#200) Permissions error")
    return graph_error(500, 2, "An unexpected error has occurred. Please retry your request later.", is_transient=True)


def _params() -> dict:
    params = dict(request.args.items())
    params.update(request.form.items())
    if request.is_json and isinstance(request.get_json(silent=True), dict):
        params.update(request.get_json())
    return params


def _token() -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value if scheme in ("Bearer", "OAuth") and value else _params().get("access_token")


def _public(stored: dict) -> dict:
    author = {"id": PAGE["id"], "name": PAGE["name"]} if stored["platform"] == "facebook" else dict(INSTAGRAM_ACCOUNT)
    item = {"id": stored["id"], "from": author}
    if stored["platform"] == "facebook":
        return {**item, "message": stored["message"], "created_time": stored["created_time"]}
    return {**item, "text": stored["message"], "username": INSTAGRAM_ACCOUNT["username"],
            "timestamp": stored["created_time"]}  # fmt: skip


def _record(recorder: Recorder, parent: str, platform: str, message: str):
    number = len(recorder.replies) + 1
    reply_id = f"{parent}_{9000 + number}" if platform == "facebook" else str(17900000000000000 + number)
    recorder.replies.append({"id": reply_id, "parent": parent, "platform": platform, "message": message,
                             "created_time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")})  # fmt: skip
    return jsonify(id=reply_id)


def _post(recorder: Recorder, parent: str, platform: str):
    message = _params().get("message")
    if not isinstance(message, str) or not message.strip():
        return graph_error(400, 100, "(#100) The parameter message is required")
    if len(message) > limit_for(platform):
        return graph_error(400, 100, "(#100) The message is too long")
    return post_with_faults(recorder, lambda: _record(recorder, parent, platform, message), refusal)


def _list(recorder: Recorder, parent: str, platform: str):
    params = _params()
    limit = min(max(int(params.get("limit") or 25), 1), 100)
    start = int(params.get("after") or 0)
    with recorder.lock:
        found = [_public(r) for r in recorder.replies if r["parent"] == parent and r["platform"] == platform]
    chunk = found[start : start + limit]
    paging = {"cursors": {"before": str(start), "after": str(start + len(chunk))}}
    if start + limit < len(found):
        paging["next"] = f"{request.base_url}?limit={limit}&after={start + limit}"
    return jsonify(data=chunk, paging=paging)


def create_app(token: str = STANDIN_META_TOKEN) -> Flask:
    recorder = Recorder()
    app = Flask(__name__)
    app.config["RECORDER"] = recorder
    install_controls(app, recorder, _PAGE)

    @app.before_request
    def check_auth():
        if request.path.startswith("/v") and _token() != token:
            return graph_error(400, 190, "Invalid OAuth access token - Cannot parse access token")
        fault = recorder.take_fault("GET") if request.method == "GET" and request.path.startswith("/v") else None
        return refusal(fault) if fault is not None else None

    @app.get("/<version>/me")
    def me(version):
        return jsonify(**PAGE, instagram_business_account={"id": INSTAGRAM_ACCOUNT["id"]})

    @app.route("/<version>/<object_id>/<edge>", methods=["GET", "POST"])
    def edge(version, object_id, edge):
        if edge not in EDGES:
            return graph_error(400, 100, f"(#100) Tried accessing nonexisting field ({edge})")
        if request.method == "POST":
            return _post(recorder, object_id, EDGES[edge])
        return _list(recorder, object_id, EDGES[edge])

    return app


def start_meta_standin_in_thread(port: int = 0, **options):
    """The Meta stand-in on 127.0.0.1; returns (base URL, server). The Graph base is base URL + "/v21.0/"."""
    return start_in_thread(create_app(**options), "meta-standin", port)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Local Graph API stand-in for Earshot's replies")
    parser.add_argument("--port", type=int, default=DEFAULT_META_STANDIN_PORT)
    serve(create_app(), parser.parse_args(argv).port, "Meta stand-in")


if __name__ == "__main__":
    main()
