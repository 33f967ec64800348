"""Paging other on-call tools: a signed POST to `ONCALL_WEBHOOK_URL` per paging event.

Body `{"event": "trigger"|"acknowledge"|"resolve", "dedup_key", "ticket_id", "clock", "level",
"summary"}`, signed exactly as the generic inbound webhook is verified (`X-Earshot-Timestamp`,
`X-Earshot-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>." + body)>`, by
integrations.platforms.generic.sign). A 2xx means sent; 429, 408, 5xx and network failures are
retried (the receiver dedupes on `dedup_key` and `event`); other statuses are refused for good.
"""

import logging
import time

import requests

from integrations.paging.config import PagingConfig
from integrations.paging.outcome import PageResult, as_page_result, log_result
from integrations.platforms import generic
from integrations.platforms.replies.outcome import Sent
from integrations.platforms.replies.transport import Transport

log = logging.getLogger(__name__)
EVENTS = ("trigger", "acknowledge", "resolve")


class OncallWebhookClient:
    name = "oncall webhook"

    def __init__(self, config: PagingConfig, http: requests.Session | None = None, clock=time.time):
        if not config.oncall_webhook_url or not config.oncall_webhook_secret:
            raise ValueError("the on-call webhook needs ONCALL_WEBHOOK_URL and its secret")
        self.config = config
        self.clock = clock
        self.transport = Transport("oncall webhook", config, http, clock)

    def send(self, event: str, dedup_key: str, ticket_id, clock: str, level: int | None = None,
             summary: str = "") -> PageResult:  # fmt: skip
        if event not in EVENTS:
            raise ValueError(f"event must be one of {', '.join(EVENTS)}")
        payload = {"event": event, "dedup_key": dedup_key, "ticket_id": str(ticket_id), "clock": clock,
                   "level": level, "summary": summary}  # fmt: skip
        body, headers = generic.signed_post(self.config.oncall_webhook_secret, payload, self.clock())
        try:
            response = self.transport.request("POST", self.config.oncall_webhook_url, data=body, headers=headers)
        except requests.RequestException as error:
            result = as_page_result(self.transport.unanswered(error))
        else:
            ok = 200 <= response.status_code < 300
            result = Sent(dedup_key) if ok else as_page_result(self.transport.by_status(response, ""))
        return log_result(log, self.name, event, dedup_key, result)

    def trigger(self, dedup_key: str, ticket_id, clock: str, level: int, summary: str) -> PageResult:
        return self.send("trigger", dedup_key, ticket_id, clock, level, summary)

    def acknowledge(self, dedup_key: str, ticket_id, clock: str, level: int | None = None) -> PageResult:
        return self.send("acknowledge", dedup_key, ticket_id, clock, level)

    def resolve(self, dedup_key: str, ticket_id, clock: str, level: int | None = None) -> PageResult:
        return self.send("resolve", dedup_key, ticket_id, clock, level)

    def close(self) -> None:
        self.transport.http.close()
