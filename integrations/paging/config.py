"""Where pages go and with which credentials, read once from the environment.

Variables (all optional; a malformed one raises ConfigError naming the variable, never its value):

- `PAGERDUTY_ROUTING_KEY` — the 32-character integration key of an Events API v2 integration.
- `PAGERDUTY_EVENTS_URL` — default `https://events.pagerduty.com/v2/enqueue`.
- `ONCALL_WEBHOOK_URL` — other on-call tools: trigger/acknowledge/resolve events are POSTed here,
  signed like the generic webhook; `ONCALL_WEBHOOK_SECRET` (default `WEBHOOK_SECRET`) is the key.

With neither `PAGERDUTY_ROUTING_KEY` nor `ONCALL_WEBHOOK_URL`, paging is OFF (`enabled` is False): a
level with `page: true` still posts its Slack messages, and nobody is paged. `make run` (launcher.py)
starts the local PagerDuty stand-in (standins.pagerduty, port `PAGERDUTY_STANDIN_PORT`, default 8004)
and sets `PAGERDUTY_EVENTS_URL` and the development key STANDIN_ROUTING_KEY explicitly for the
processes it starts, so a newcomer sees pages; nothing else defaults to the stand-in.

Secrets are kept out of `repr`; `secrets()` lists them for log redaction. The object also serves
integrations.platforms.replies.transport.Transport (timeouts, `max_retry_after`, `secrets()`).
"""

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from core.settings import ConfigError

DEFAULT_PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
DEFAULT_PAGERDUTY_STANDIN_PORT = 8004
# The development key `make run` gives its processes for the local stand-in: not a secret.
STANDIN_ROUTING_KEY = "earshotstandinroutingkey00000000"
_ROUTING_KEY = re.compile(r"^[A-Za-z0-9]{32}$")


@dataclass(frozen=True)
class PagingConfig:
    pagerduty_events_url: str = DEFAULT_PAGERDUTY_EVENTS_URL
    pagerduty_routing_key: str | None = field(default=None, repr=False)
    oncall_webhook_url: str | None = None
    oncall_webhook_secret: str | None = field(default=None, repr=False)
    source: str = "earshot"  # PagerDuty `payload.source`
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    max_retry_after: float = 900.0
    pagerduty_standin: bool = False

    @property
    def enabled(self) -> bool:
        """Whether any target is configured: without one, nobody is paged."""
        return bool(self.pagerduty_routing_key or self.oncall_webhook_url)

    def secrets(self) -> tuple[str, ...]:
        """Every credential this configuration holds, for redaction."""
        values = (self.pagerduty_routing_key, self.oncall_webhook_secret)
        return tuple(value for value in values if value and value != STANDIN_ROUTING_KEY)


def _value(env, name: str) -> str | None:
    return (env.get(name) or "").strip() or None


def _http_url(env, name: str, default: str | None = None) -> str:
    raw = _value(env, name) or default
    parts = urlsplit(raw or "")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{name} must be an http(s) URL")  # its value may hold a token: never shown
    return raw


def standin_port(env) -> int:
    """The port of the local PagerDuty stand-in that `make run` starts (PAGERDUTY_STANDIN_PORT)."""
    raw = _value(env, "PAGERDUTY_STANDIN_PORT")
    if raw is None:
        return DEFAULT_PAGERDUTY_STANDIN_PORT
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise ConfigError(f"PAGERDUTY_STANDIN_PORT must be a port number between 1 and 65535, got {raw!r}")
    return int(raw)


def _pagerduty(env) -> dict:
    key = _value(env, "PAGERDUTY_ROUTING_KEY")
    if key is None:
        return {}  # paging through PagerDuty is off
    if not _ROUTING_KEY.match(key):
        raise ConfigError("PAGERDUTY_ROUTING_KEY must be the 32-character integration key (letters and digits)")
    url = _http_url(env, "PAGERDUTY_EVENTS_URL", DEFAULT_PAGERDUTY_EVENTS_URL)
    return {"pagerduty_routing_key": key, "pagerduty_events_url": url,
            "pagerduty_standin": key == STANDIN_ROUTING_KEY}  # fmt: skip


def _webhook(env) -> dict:
    if _value(env, "ONCALL_WEBHOOK_URL") is None:
        return {}
    secret = _value(env, "ONCALL_WEBHOOK_SECRET") or _value(env, "WEBHOOK_SECRET")
    if secret is None:
        raise ConfigError("ONCALL_WEBHOOK_SECRET (or WEBHOOK_SECRET) is required with ONCALL_WEBHOOK_URL")
    return {"oncall_webhook_url": _http_url(env, "ONCALL_WEBHOOK_URL"), "oncall_webhook_secret": secret}


def from_environ(env) -> PagingConfig:
    """The paging configuration of an environment mapping (`os.environ` at start)."""
    return PagingConfig(**_pagerduty(env), **_webhook(env))
