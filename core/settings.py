"""Settings from the environment, read once through strict converters.

A value that makes no sense raises ConfigError naming the variable, so a
process refuses to start with one clear line instead of failing in a request.
In production (EARSHOT_PRODUCTION=true) the public development secrets below
are refused: the webhook secret and the Slack signing secret must be set, and
to something else.
"""

import os
import re
from dataclasses import dataclass, field
from urllib.parse import unquote, urlparse, urlsplit


class ConfigError(Exception):
    """A configuration mistake; its message is the one line shown to operators."""


DEV_WEBHOOK_SECRET = "earshot-dev-webhook-secret"
DEV_SLACK_SIGNING_SECRET = "earshot-dev-slack-signing-secret"
DEFAULT_DATABASE_URL = "sqlite:///instance/earshot.db"


def _port(env, name: str, default: int) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        port = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a port number, got {raw!r}") from None
    if not 1 <= port <= 65535:
        raise ConfigError(f"{name} must be between 1 and 65535, got {port}")
    return port


def _optional(env, name: str) -> str | None:
    raw = env.get(name, "").strip()
    return raw or None


def _url(env, name: str, default: str | None, schemes: tuple[str, ...]) -> str | None:
    raw = _optional(env, name) or default
    if raw is None:
        return None
    scheme = urlparse(raw).scheme.split("+")[0]
    if scheme not in schemes:
        raise ConfigError(f"{name} must be a {'/'.join(schemes)} URL, got scheme {scheme!r}")
    return raw


def _boolean(env, name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


@dataclass(frozen=True)
class Settings:
    port: int = 8000
    slack_standin_port: int = 8001
    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str | None = None
    slack_bot_token: str | None = None
    slack_signing_secret: str = DEV_SLACK_SIGNING_SECRET
    slack_api_url: str = "https://slack.com/api/"
    webhook_secret: str = DEV_WEBHOOK_SECRET
    x_consumer_secret: str | None = None
    x_oauth2_client_secret: str | None = None
    meta_app_secret: str | None = None
    meta_verify_token: str | None = None
    config_path: str | None = None
    api_tokens: tuple[str, ...] = field(default_factory=tuple)
    production: bool = False
    secure_cookies: bool = False

    @property
    def uses_slack_standin(self) -> bool:
        return self.slack_bot_token is None

    def secrets(self) -> list[str]:
        """Every secret value, so the log filter can redact them."""
        values = [
            self.slack_bot_token,
            self.slack_signing_secret,
            self.webhook_secret,
            self.x_consumer_secret,
            self.x_oauth2_client_secret,
            self.meta_app_secret,
            self.meta_verify_token,
            *self.api_tokens,
        ]
        return [v for v in [*values, *_url_passwords(self.database_url, self.redis_url)] if v and len(v) >= 6]


def _url_passwords(*urls: str | None) -> list[str]:
    """The passwords in database and Redis URLs, as written (percent-encoded) and decoded."""
    found = []
    for url in urls:
        try:
            password = urlsplit(url).password if url else None
        except ValueError:
            continue
        if password:
            found += [password, unquote(password)]
    return found


def load_settings(env=None) -> Settings:
    env = os.environ if env is None else env
    production = _boolean(env, "EARSHOT_PRODUCTION", False)
    token = _optional(env, "SLACK_BOT_TOKEN")
    signing = _optional(env, "SLACK_SIGNING_SECRET")
    if token and not signing:
        raise ConfigError("SLACK_SIGNING_SECRET is required when SLACK_BOT_TOKEN is set")
    webhook_secret = _optional(env, "WEBHOOK_SECRET")
    if production and webhook_secret in (None, DEV_WEBHOOK_SECRET):
        raise ConfigError("WEBHOOK_SECRET is required in production (EARSHOT_PRODUCTION=true), not the dev default")
    if production and signing in (None, DEV_SLACK_SIGNING_SECRET):
        # The stand-in too: with the public default anyone could sign /slack/* requests.
        raise ConfigError(
            "SLACK_SIGNING_SECRET is required in production (EARSHOT_PRODUCTION=true), not the dev default"
        )
    meta_secret, meta_token = _optional(env, "META_APP_SECRET"), _optional(env, "META_VERIFY_TOKEN")
    if bool(meta_secret) != bool(meta_token):
        # One without the other would leave /webhooks/meta answering 404 with no hint why.
        raise ConfigError("META_APP_SECRET and META_VERIFY_TOKEN must be set together (or neither)")
    tokens = tuple(t.strip() for t in env.get("EARSHOT_API_TOKENS", "").split(",") if t.strip())
    if any(len(split_api_token(t)[1]) < 16 for t in tokens):
        raise ConfigError("EARSHOT_API_TOKENS entries must be at least 16 characters long")
    config_path = _optional(env, "EARSHOT_CONFIG")
    if config_path and not os.path.isfile(config_path):
        raise ConfigError(f"EARSHOT_CONFIG names {config_path!r}, which is not a readable file")
    return Settings(
        port=_port(env, "PORT", 8000),
        slack_standin_port=_port(env, "SLACK_STANDIN_PORT", 8001),
        database_url=_url(env, "DATABASE_URL", DEFAULT_DATABASE_URL, ("sqlite", "postgresql")),
        redis_url=_url(env, "REDIS_URL", None, ("redis", "rediss", "unix")),
        slack_bot_token=token,
        slack_signing_secret=signing or DEV_SLACK_SIGNING_SECRET,
        slack_api_url=_url(env, "SLACK_API_URL", "https://slack.com/api/", ("http", "https")),
        webhook_secret=webhook_secret or DEV_WEBHOOK_SECRET,
        x_consumer_secret=_optional(env, "X_CONSUMER_SECRET"),
        x_oauth2_client_secret=_optional(env, "X_OAUTH2_CLIENT_SECRET"),
        meta_app_secret=meta_secret,
        meta_verify_token=meta_token,
        config_path=config_path,
        api_tokens=tokens,
        production=production,
        secure_cookies=_boolean(env, "EARSHOT_SECURE_COOKIES", production),
    )


API_TOKEN_NAME = re.compile(r"[A-Za-z0-9_.@-]{1,48}")
DEFAULT_TOKEN_NAME = "api"


def split_api_token(entry: str) -> tuple[str, str]:
    """An EARSHOT_API_TOKENS entry as (name, token): `name:token` names who uses it (recorded as the
    actor of what they do through the API); a bare token is named "api". A bare token therefore must
    not look like `name:rest` (a name of letters, digits, `_.@-`, then a colon)."""
    name, sep, token = entry.partition(":")
    if sep and token and API_TOKEN_NAME.fullmatch(name):
        return name, token
    return DEFAULT_TOKEN_NAME, entry
