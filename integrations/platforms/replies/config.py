"""Where replies go and with which credentials, read once from the environment.

Variables (all optional; a partial or malformed set raises ConfigError naming the variable):

- `X_API_URL` — X API v2 base (default `https://api.x.com/2/`).
- `X_USER_ACCESS_TOKEN` — OAuth 2.0 user-context token of the brand account
  (scopes `tweet.read tweet.write users.read`), sent as a Bearer token; or OAuth 1.0a with all
  four of `X_CONSUMER_KEY`, `X_CONSUMER_SECRET`, `X_ACCESS_TOKEN`, `X_ACCESS_TOKEN_SECRET`.
  With neither, X replies go to the local stand-in on `X_STANDIN_PORT` (default 8002).
- `X_USER_ID` — the brand account's user id; unset: asked once from `GET /2/users/me`.
- `META_GRAPH_URL` — Graph API base (default `https://graph.facebook.com/v21.0/`).
- `META_PAGE_ACCESS_TOKEN` — the Page token (`pages_manage_engagement`, `pages_read_user_content`,
  `instagram_manage_comments`). Unset: the local stand-in on `META_STANDIN_PORT` (default 8003).
- `META_PAGE_ID`, `META_INSTAGRAM_ACCOUNT_ID` — unset: asked once from `GET /me`.
- `REPLY_WEBHOOK_URL` — where replies of other sources are POSTed; unset: they are refused.
- `REPLY_WEBHOOK_SECRET` — its HMAC key; defaults to `WEBHOOK_SECRET`.

Secrets are kept out of `repr`; `secrets()` lists them for log redaction.
"""

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from core.settings import ConfigError

DEFAULT_X_API_URL = "https://api.x.com/2/"
DEFAULT_META_GRAPH_URL = "https://graph.facebook.com/v21.0/"
DEFAULT_X_STANDIN_PORT = 8002
DEFAULT_META_STANDIN_PORT = 8003
# What the clients send to the local stand-ins, and what those accept: not secrets.
STANDIN_X_TOKEN = "earshot-standin-x-token"
STANDIN_META_TOKEN = "earshot-standin-meta-token"
_OAUTH1 = ("X_CONSUMER_KEY", "X_CONSUMER_SECRET", "X_ACCESS_TOKEN", "X_ACCESS_TOKEN_SECRET")


@dataclass(frozen=True)
class OAuth1Credentials:
    consumer_key: str = field(repr=False)
    consumer_secret: str = field(repr=False)
    access_token: str = field(repr=False)
    access_token_secret: str = field(repr=False)


@dataclass(frozen=True)
class ReplyConfig:
    x_api_url: str = DEFAULT_X_API_URL
    x_user_access_token: str | None = field(default=None, repr=False)
    x_oauth1: OAuth1Credentials | None = field(default=None, repr=False)
    x_user_id: str | None = None
    meta_graph_url: str = DEFAULT_META_GRAPH_URL
    meta_page_access_token: str | None = field(default=None, repr=False)
    meta_page_id: str | None = None
    instagram_account_id: str | None = None
    reply_webhook_url: str | None = None
    reply_webhook_secret: str | None = field(default=None, repr=False)
    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    max_retry_after: float = 900.0  # X's rate windows are 15 minutes; a longer wait is asked again
    x_standin: bool = False
    meta_standin: bool = False

    def secrets(self) -> tuple[str, ...]:
        """Every credential this configuration holds, for redaction."""
        oauth1 = self.x_oauth1
        values = (self.x_user_access_token, self.meta_page_access_token, self.reply_webhook_secret,
                  *((oauth1.consumer_key, oauth1.consumer_secret, oauth1.access_token, oauth1.access_token_secret)
                    if oauth1 else ()))  # fmt: skip
        return tuple(value for value in values if value and value not in (STANDIN_X_TOKEN, STANDIN_META_TOKEN))


def _value(env, name: str) -> str | None:
    return (env.get(name) or "").strip() or None


def _http_url(env, name: str, default: str) -> str:
    raw = _value(env, name) or default
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{name} must be an http(s) URL, got {raw!r}")
    return raw


def _base_url(env, name: str, default: str) -> str:
    raw = _http_url(env, name, default)
    return raw if raw.endswith("/") else raw + "/"


def _standin_port(env, name: str, default: int) -> int:
    raw = _value(env, name)
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise ConfigError(f"{name} must be a port number between 1 and 65535, got {raw!r}")
    return int(raw)


def _oauth1(env) -> OAuth1Credentials | None:
    given = [name for name in _OAUTH1 if _value(env, name)]
    if not given or given == ["X_CONSUMER_SECRET"]:  # the consumer secret alone serves the X webhook
        return None
    missing = [name for name in _OAUTH1 if name not in given]
    if missing:
        raise ConfigError(f"{', '.join(missing)} must be set too, for OAuth 1.0a replies on X")
    return OAuth1Credentials(*(_value(env, name) for name in _OAUTH1))


def _x_settings(env) -> dict:
    token, oauth1 = _value(env, "X_USER_ACCESS_TOKEN"), _oauth1(env)
    if token or oauth1:
        return {"x_api_url": _base_url(env, "X_API_URL", DEFAULT_X_API_URL), "x_user_access_token": token,
                "x_oauth1": None if token else oauth1, "x_user_id": _value(env, "X_USER_ID")}  # fmt: skip
    port = _standin_port(env, "X_STANDIN_PORT", DEFAULT_X_STANDIN_PORT)
    return {"x_api_url": f"http://127.0.0.1:{port}/2/", "x_user_access_token": STANDIN_X_TOKEN, "x_standin": True}


def _meta_settings(env) -> dict:
    token = _value(env, "META_PAGE_ACCESS_TOKEN")
    ids = {"meta_page_id": _value(env, "META_PAGE_ID"),
           "instagram_account_id": _value(env, "META_INSTAGRAM_ACCOUNT_ID")}  # fmt: skip
    if token:
        return {"meta_graph_url": _base_url(env, "META_GRAPH_URL", DEFAULT_META_GRAPH_URL),
                "meta_page_access_token": token, **ids}  # fmt: skip
    port = _standin_port(env, "META_STANDIN_PORT", DEFAULT_META_STANDIN_PORT)
    return {"meta_graph_url": f"http://127.0.0.1:{port}/v21.0/", "meta_page_access_token": STANDIN_META_TOKEN,
            "meta_standin": True}  # fmt: skip


def _webhook_settings(env) -> dict:
    if _value(env, "REPLY_WEBHOOK_URL") is None:
        return {}
    secret = _value(env, "REPLY_WEBHOOK_SECRET") or _value(env, "WEBHOOK_SECRET")
    if secret is None:
        raise ConfigError("REPLY_WEBHOOK_SECRET (or WEBHOOK_SECRET) is required with REPLY_WEBHOOK_URL")
    return {"reply_webhook_url": _http_url(env, "REPLY_WEBHOOK_URL", ""), "reply_webhook_secret": secret}


def from_environ(env) -> ReplyConfig:
    """The reply configuration of an environment mapping (`os.environ` at start)."""
    return ReplyConfig(**_x_settings(env), **_meta_settings(env), **_webhook_settings(env))
