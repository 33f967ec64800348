"""The Flask app: webhooks, Slack endpoints, API and dashboard."""

from flask import Flask

from core.config import AppConfig, load_config
from core.settings import Settings, load_settings

MAX_BODY_BYTES = 1024 * 1024


def create_app(settings: Settings | None = None, config: AppConfig | None = None) -> Flask:
    settings = settings or load_settings()
    config = config or load_config(settings.config_path)
    app = Flask(__name__)
    app.config.update(
        SETTINGS=settings,
        EARSHOT=config,
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        JSON_SORT_KEYS=False,
    )
    app.json.sort_keys = False
    # "/api/v1/tickets//0" (or %2F0) is a 404, not a 308 to a guessed path.
    app.url_map.merge_slashes = False

    from service import errors, health, webhooks

    errors.init_app(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(webhooks.bp)
    from service.slack import bp as slack_bp

    app.register_blueprint(slack_bp)
    from service import api, dashboard, metrics, openapi

    app.register_blueprint(api.bp)
    app.register_blueprint(dashboard.bp)
    app.register_blueprint(metrics.bp)
    app.register_blueprint(openapi.bp)
    return app
