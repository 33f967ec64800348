"""A local stand-in for Slack's Web API, with a browser page whose buttons really work.

    python -m standins.slack --port 8001 --app-url http://127.0.0.1:8000 --signing-secret S

Implements the methods Earshot uses with Slack's JSON shapes, keeps messages
in memory, creates channels on first use, and can be told to fail
(`POST /_standin/faults`): standins.slack_api. The page at `/` shows channels
and threads; its buttons post signed interactivity payloads to the app's
`/slack/actions`: standins.slack_page. A modal the app opens (`views.open`) shows on
the page as a form whose submit posts a signed `view_submission`: standins.slack_modals.

The stand-in signs whatever its page sends, so no other web site may make it
send anything: it answers only to loopback host names (a DNS-rebinding name
is refused), and its `/_standin/*` posts take JSON only, with an `Origin` and
`Sec-Fetch-Site`, when a browser sends them, naming the stand-in itself. An
HTML form on another site cannot send JSON, and a script there cannot either
without a CORS preflight, which the stand-in never grants.
"""

import argparse
import os
import threading
from urllib.parse import urlsplit

from flask import Flask, jsonify, request
from werkzeug.serving import WSGIRequestHandler, make_server

from standins.slack_api import Workspace, add_api_routes, add_control_routes
from standins.slack_mrkdwn import mrkdwn
from standins.slack_page import add_interactive_routes, add_modal_routes, add_page_routes

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")


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


def create_standin_app(app_url: str, signing_secret: str) -> Flask:
    """The stand-in's app; its buttons and commands go to the Earshot app at `app_url`."""
    ws = Workspace()
    app = Flask(__name__)
    app.jinja_env.filters["mrkdwn"] = mrkdwn
    app.config["WORKSPACE"] = ws
    app.before_request(_foreign_refusal)
    add_api_routes(app, ws)
    add_control_routes(app, ws)
    add_interactive_routes(app, ws, app_url, signing_secret)
    add_modal_routes(app, ws, app_url, signing_secret)
    add_page_routes(app, ws)
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
