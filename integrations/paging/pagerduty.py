"""PagerDuty's Events API v2: `trigger`, `acknowledge` and `resolve` one alert by its `dedup_key`
(`POST {PAGERDUTY_EVENTS_URL}` with `routing_key`, `event_action`, `dedup_key`, `payload`).

Each answers a PageResult (integrations.paging.outcome): `Sent` on 202; `Retry(after)` on 429,
5xx, 408 or any network failure, timeouts included: PagerDuty applies events with one `dedup_key`
to one alert, so sending again cannot page twice; `Failed` (permanent) on 400 (an invalid event,
with PagerDuty's `errors`) and any other refusal. HTTP and its classification are
integrations.platforms.replies.transport's; the routing key never reaches a log line or a reason.
"""

import logging
import time

import requests

from integrations.paging.config import PagingConfig
from integrations.paging.outcome import PageResult, as_page_result, log_result
from integrations.platforms.replies.outcome import Failed, Sent
from integrations.platforms.replies.transport import Transport, json_body

log = logging.getLogger(__name__)
SEVERITIES = ("critical", "error", "warning", "info")
SEVERITY_OF_TIER = {"critical": "critical", "high": "error", "normal": "warning", "low": "info"}
MAX_SUMMARY = 1024
MAX_DEDUP_KEY = 255


class PagerDutyClient:
    name = "pagerduty"

    def __init__(self, config: PagingConfig, http: requests.Session | None = None, clock=time.time):
        if not config.pagerduty_routing_key:
            raise ValueError("PagerDuty paging needs PAGERDUTY_ROUTING_KEY")
        self.config = config
        self.transport = Transport("pagerduty", config, http, clock)

    def trigger(self, dedup_key: str, summary: str, severity: str = "error", source: str | None = None,
                custom_details: dict | None = None, links: list[dict] | None = None) -> PageResult:  # fmt: skip
        """Open (or add to) the alert of `dedup_key`; severity is one of SEVERITIES."""
        if severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {', '.join(SEVERITIES)}")
        payload = {"summary": (summary or "Earshot escalation")[:MAX_SUMMARY], "severity": severity,
                   "source": source or self.config.source}  # fmt: skip
        if custom_details:
            payload["custom_details"] = custom_details
        event = {"payload": payload, "client": "Earshot"}
        if links:
            event["links"] = [{"href": link["href"], "text": link.get("text", "")} for link in links]
        return self.send("trigger", dedup_key, event)

    def acknowledge(self, dedup_key: str) -> PageResult:
        return self.send("acknowledge", dedup_key, {})

    def resolve(self, dedup_key: str) -> PageResult:
        return self.send("resolve", dedup_key, {})

    def send(self, action: str, dedup_key: str, extra: dict) -> PageResult:
        if not dedup_key or len(dedup_key) > MAX_DEDUP_KEY:
            raise ValueError(f"dedup_key must have 1 to {MAX_DEDUP_KEY} characters")
        body = {"routing_key": self.config.pagerduty_routing_key, "event_action": action, "dedup_key": dedup_key,
                **extra}  # fmt: skip
        try:
            response = self.transport.request("POST", self.config.pagerduty_events_url, json=body)
        except requests.RequestException as error:
            return log_result(log, self.name, action, dedup_key, as_page_result(self.transport.unanswered(error)))
        return log_result(log, self.name, action, dedup_key, self._answer(response, dedup_key))

    def _answer(self, response: requests.Response, dedup_key: str) -> PageResult:
        answer = json_body(response)
        answer = answer if isinstance(answer, dict) else {}
        if response.status_code == 202 or 200 <= response.status_code < 300:
            return Sent(str(answer.get("dedup_key") or dedup_key))
        if response.status_code == 400:
            errors = answer.get("errors")
            detail = "; ".join(str(e) for e in errors) if isinstance(errors, list) else str(answer.get("message", ""))
            return Failed(self.transport.reason(f"invalid event (HTTP 400) {detail}".strip()), permanent=True)
        return as_page_result(self.transport.by_status(response, str(answer.get("message", ""))))

    def close(self) -> None:
        self.transport.http.close()
