"""Which client posts a reply for a mention's `source`."""

import time

import requests

from integrations.platforms.replies.config import ReplyConfig
from integrations.platforms.replies.meta import FacebookReplyClient, InstagramReplyClient
from integrations.platforms.replies.outcome import ReplyClient
from integrations.platforms.replies.webhook import WebhookReplyClient
from integrations.platforms.replies.x import XReplyClient

PLATFORM_CLIENTS = {"x": XReplyClient, "facebook": FacebookReplyClient, "instagram": InstagramReplyClient}


class NoReplyTarget(Exception):
    """Replies to this source cannot be posted anywhere; the message says what to configure."""


def refusal(source: str, config: ReplyConfig) -> str | None:
    """Why replies to `source` cannot be posted with this configuration; None when they can."""
    if source in PLATFORM_CLIENTS or config.reply_webhook_url:
        return None
    return f"Replies to {source} need REPLY_WEBHOOK_URL: no client posts to that platform directly."


def client_for(source: str, config: ReplyConfig, http: requests.Session | None = None,
               clock=time.time) -> ReplyClient:  # fmt: skip
    """The client that posts replies for `source`; raises NoReplyTarget when there is none."""
    reason = refusal(source, config)
    if reason:
        raise NoReplyTarget(reason)
    return PLATFORM_CLIENTS.get(source, WebhookReplyClient)(config, http, clock)
