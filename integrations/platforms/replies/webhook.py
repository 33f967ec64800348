"""Replies for sources with no platform client: a signed POST to `REPLY_WEBHOOK_URL`.

Body `{"ticket_id", "source", "in_reply_to", "text", "idempotency_key"}`, signed exactly as
the generic inbound webhook is verified (`X-Earshot-Timestamp`, `X-Earshot-Signature`). A 2xx
means sent; its JSON `{"id": …}` names the reply (else the idempotency key does). The receiver
dedupes on `idempotency_key`, so an ambiguous send is simply sent again: `find_sent` is None.
"""

import logging
import time

import requests

from integrations.platforms import generic
from integrations.platforms.replies.config import ReplyConfig
from integrations.platforms.replies.outcome import OutboundReply, SendResult, Sent
from integrations.platforms.replies.transport import Transport, finish, json_body

log = logging.getLogger(__name__)


def signed_request(secret: str, reply: OutboundReply, now: float) -> tuple[bytes, dict[str, str]]:
    """The body and headers of the webhook POST for `reply`."""
    payload = {"ticket_id": reply.ticket_id, "source": reply.source, "in_reply_to": reply.in_reply_to,
               "text": reply.text, "idempotency_key": reply.idempotency_key}  # fmt: skip
    return generic.signed_post(secret, payload, now)


class WebhookReplyClient:
    source = "webhook"

    def __init__(self, config: ReplyConfig, http: requests.Session | None = None, clock=time.time):
        if not config.reply_webhook_url or not config.reply_webhook_secret:
            raise ValueError("replies for other sources need REPLY_WEBHOOK_URL and its secret")
        self.config = config
        self.clock = clock
        self.transport = Transport("reply webhook", config, http, clock)

    def send(self, reply: OutboundReply) -> SendResult:
        body, headers = signed_request(self.config.reply_webhook_secret, reply, self.clock())
        try:
            response = self.transport.request("POST", self.config.reply_webhook_url, data=body, headers=headers)
        except requests.RequestException as error:
            return finish(log, reply, self.transport.unanswered(error))
        if 200 <= response.status_code < 300:
            answer = json_body(response)
            named = answer.get("id") if isinstance(answer, dict) else None
            return finish(log, reply, Sent(str(named) if named not in (None, "") else reply.idempotency_key))
        return finish(log, reply, self.transport.by_status(response, ""))

    def find_sent(self, reply: OutboundReply) -> str | None:
        return None  # the receiver dedupes on the idempotency key: sending again is safe

    def close(self) -> None:
        self.transport.http.close()
