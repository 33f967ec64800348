"""The Flask app: webhooks, Slack endpoints, API and dashboard.

Every body is at most 1 MiB (413 beyond). Werkzeug refuses a longer
`Content-Length` itself, but a chunked body (no `Content-Length`; gunicorn and
Werkzeug's server set `wsgi.input_terminated`) it would cut at 1 MiB without a
word, so `_refuse_long_streams` reads such a body first, one byte past the limit.
Every answer says `X-Content-Type-Options: nosniff`.

The platforms' reply configuration (integrations.platforms.replies.from_environ) is read once here,
as `app.config["REPLIES"]`: a malformed set of X or Meta variables stops the app at start.

The factory installs the after-commit handler (workers.after_commit): what the
requests commit (a button's ticket change, an erasure) is followed by its jobs
on the Redis of `settings`.
"""

import os

from flask import Flask, request
from werkzeug.exceptions import RequestEntityTooLarge

from core.config import AppConfig, load_config
from core.settings import Settings, load_settings
from integrations.platforms import replies
from workers import after_commit

MAX_BODY_BYTES = 1024 * 1024


def _refuse_long_streams() -> None:
    """413 for a body without Content-Length that goes on past MAX_BODY_BYTES; the body read is kept for the view."""
    if request.content_length is None and request.environ.get("wsgi.input_terminated"):
        # get_data stops at the limit, silently: one more byte from the server's stream tells a longer body.
        if len(request.get_data(cache=True)) >= MAX_BODY_BYTES and request.environ["wsgi.input"].read(1):
            raise RequestEntityTooLarge()


def _no_sniffing(response):
    # A body is what its Content-Type says (JSON, CSV, text), never guessed into HTML or script.
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def create_app(settings: Settings | None = None, config: AppConfig | None = None) -> Flask:
    settings = settings or load_settings()
    config = config or load_config(settings.config_path)
    app = Flask(__name__)
    app.config.update(
        SETTINGS=settings,
        EARSHOT=config,
        REPLIES=replies.from_environ(os.environ),
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        JSON_SORT_KEYS=False,
    )
    app.json.sort_keys = False
    after_commit.install(after_commit.AfterCommit(settings.redis_url))
    # "/api/v1/tickets//0" (or %2F0) is a 404, not a 308 to a guessed path.
    app.url_map.merge_slashes = False

    from service import errors, health, webhooks

    errors.init_app(app)
    app.before_request(_refuse_long_streams)
    app.after_request(_no_sniffing)
    app.register_blueprint(health.bp)
    app.register_blueprint(webhooks.bp)
    from service.slack import bp as slack_bp

    app.register_blueprint(slack_bp)
    from service import api, api_agents, dashboard, metrics, openapi

    app.register_blueprint(api.bp)
    app.register_blueprint(api_agents.bp)
    app.register_blueprint(dashboard.bp)
    app.register_blueprint(metrics.bp)
    app.register_blueprint(openapi.bp)
    return app
