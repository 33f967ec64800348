"""A local stand-in for the X API v2 calls Earshot makes to reply as the brand account.

    python -m standins.x_api --port 8002

`POST /2/tweets` (a reply: `reply.in_reply_to_tweet_id`), `GET /2/users/me` and
`GET /2/users/:id/tweets` (`since_id`, `max_results`, `pagination_token`), in X's JSON shapes,
problem+json errors included. Replies are stored as X shows them: `&`, `<`, `>` escaped, links
as t.co links, the customer's @mention in front. The page at `/` lists them; faults come from
`POST /_standin/faults` (standins.faults).
"""

import argparse
import time
from datetime import UTC, datetime

from flask import Flask, jsonify, request

from integrations.platforms.replies.config import DEFAULT_X_STANDIN_PORT, STANDIN_X_TOKEN
from integrations.platforms.replies.limits import X_LIMIT, normalized, url_spans, x_weighted_length
from standins.faults import Fault, Recorder, install_controls, post_with_faults, serve, start_in_thread

BRAND_USER = {"id": "1500000000000000001", "name": "Acme", "username": "acme"}
_PAGE = """<!doctype html><title>X stand-in</title><h1>Replies posted on the X stand-in</h1>
{% for t in replies %}<p><b>{{ t.id }}</b> in reply to {{ t.in_reply_to }} at {{ t.created_at }}<br>
{{ t.sent_text }}</p>{% else %}<p>No replies yet.</p>{% endfor %}"""


def problem(status: int, title: str, detail: str, headers=None):
    body = {"title": title, "detail": detail, "type": "about:blank", "status": status}
    return jsonify(body), status, {"Content-Type": "application/problem+json", **(headers or {})}


def refusal(fault: Fault):
    if fault.kind == "rate_limit":
        reset = str(int(time.time()) + fault.retry_after)
        headers = {"x-rate-limit-limit": "100", "x-rate-limit-remaining": "0", "x-rate-limit-reset": reset}
        return problem(429, "Too Many Requests", "Too Many Requests", headers)
    if fault.kind == "duplicate":
        return problem(403, "Forbidden", "You are not allowed to create a Tweet with duplicate content.")
    if fault.kind == "denied":
        return problem(403, "Forbidden", "You are not permitted to perform this action.")
    return "<html><body>Internal error</body></html>", 500, {"Content-Type": "text/html"}


def shown_text(text: str) -> str:
    """`text` as X serves it back: links as t.co links, then `&`, `<`, `>` escaped."""
    text, pieces, position = normalized(text), [], 0
    for number, (start, end) in enumerate(url_spans(text)):
        pieces += [text[position:start], f"https://t.co/StandIn{number:03d}"]
        position = end
    text = "".join(pieces) + text[position:]
    return "@customer " + text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _authorized(token: str, oauth1_consumer_key: str | None) -> bool:
    header = request.headers.get("Authorization", "")
    if header == f"Bearer {token}":
        return True
    return bool(oauth1_consumer_key) and header.startswith("OAuth ") and "oauth_signature=" in header and (
        f'oauth_consumer_key="{oauth1_consumer_key}"' in header)  # fmt: skip


def _tweet(stored: dict) -> dict:
    return {"id": stored["id"], "text": stored["text"], "edit_history_tweet_ids": [stored["id"]],
            "author_id": BRAND_USER["id"], "conversation_id": stored["in_reply_to"], "created_at": stored["created_at"],
            "referenced_tweets": [{"type": "replied_to", "id": stored["in_reply_to"]}]}  # fmt: skip


def _record(recorder: Recorder, text: str, in_reply_to: str):
    """Store the reply (the caller holds the lock) and answer as X does: 201 with its id and text."""
    if any(normalized(r["sent_text"]) == normalized(text) for r in recorder.replies):
        return refusal(Fault("duplicate"))
    last = max([int(r["id"]) for r in recorder.replies] + [int(in_reply_to), 1800000000000000000])
    stored = {"id": str(last + 1), "text": shown_text(text), "sent_text": text, "in_reply_to": in_reply_to,
              "created_at": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")}  # fmt: skip
    recorder.replies.append(stored)
    return jsonify(data={"id": stored["id"], "text": stored["text"], "edit_history_tweet_ids": [stored["id"]]}), 201


def _post_tweet(recorder: Recorder):
    body = request.get_json(silent=True)
    text = body.get("text") if isinstance(body, dict) else None
    target = (body.get("reply") or {}).get("in_reply_to_tweet_id") if isinstance(body, dict) else None
    if not isinstance(text, str) or not text.strip():
        return problem(400, "Invalid Request", "One or more parameters to your request was invalid: text.")
    if x_weighted_length(text) > X_LIMIT:
        return problem(400, "Invalid Request", "Your Tweet text is too long.")
    if not isinstance(target, str) or not target.isdigit():
        return problem(400, "Invalid Request", "reply.in_reply_to_tweet_id must be a Tweet id.")
    return post_with_faults(recorder, lambda: _record(recorder, text, target), refusal)


def _timeline(recorder: Recorder, user_id: str):
    since = request.args.get("since_id", "0")
    size = min(max(int(request.args.get("max_results", "10")), 5), 100)
    start = int(request.args.get("pagination_token") or 0)
    with recorder.lock:
        mine = [r for r in reversed(recorder.replies) if user_id == BRAND_USER["id"] and int(r["id"]) > int(since)]
    chunk = [_tweet(r) for r in mine[start : start + size]]
    meta = {"result_count": len(chunk)}
    if chunk:
        meta.update(newest_id=chunk[0]["id"], oldest_id=chunk[-1]["id"])
    if start + size < len(mine):
        meta["next_token"] = str(start + size)
    return jsonify({"data": chunk, "meta": meta} if chunk else {"meta": meta})


def create_app(token: str = STANDIN_X_TOKEN, oauth1_consumer_key: str | None = None) -> Flask:
    recorder = Recorder()
    app = Flask(__name__)
    app.config["RECORDER"] = recorder
    install_controls(app, recorder, _PAGE)

    @app.before_request
    def check_auth():
        if request.path.startswith("/2/") and not _authorized(token, oauth1_consumer_key):
            return problem(401, "Unauthorized", "Unauthorized")
        fault = recorder.take_fault("GET") if request.method == "GET" and request.path.startswith("/2/") else None
        return refusal(fault) if fault is not None else None

    app.add_url_rule("/2/tweets", "post_tweet", lambda: _post_tweet(recorder), methods=["POST"])
    app.add_url_rule("/2/users/me", "me", lambda: jsonify(data=BRAND_USER))
    app.add_url_rule("/2/users/<user_id>/tweets", "timeline", lambda user_id: _timeline(recorder, user_id))

    return app


def start_x_standin_in_thread(port: int = 0, **options):
    """The X stand-in on 127.0.0.1; returns (base URL, server). The API base is base URL + "/2/"."""
    return start_in_thread(create_app(**options), "x-standin", port)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Local X API v2 stand-in for Earshot's replies")
    parser.add_argument("--port", type=int, default=DEFAULT_X_STANDIN_PORT)
    serve(create_app(), parser.parse_args(argv).port, "X stand-in")


if __name__ == "__main__":
    main()
