"""One paging event sent to every configured target (PagerDuty, the on-call webhook): what the
escalation job calls. `Page` names a ticket's clock at a level; its `dedup_key` is
triage.escalation's `earshot-<ticket id>-<clock>`, the same for the trigger and the resolve.

`Pager.trigger/acknowledge/resolve(page)` answer {target name: PageResult}; the caller retries the
targets that answered Retry after their `after_seconds` (sending again is safe: one key, one alert).
"""

from dataclasses import dataclass, field

from integrations.paging.config import PagingConfig
from integrations.paging.outcome import PageResult
from integrations.paging.pagerduty import SEVERITY_OF_TIER, PagerDutyClient
from integrations.paging.webhook import OncallWebhookClient
from triage.escalation import dedup_key


@dataclass(frozen=True)
class Page:
    ticket_id: int | str
    clock: str  # "first_response", "next_response" or "resolution"
    level: int  # the escalation level's index
    summary: str = ""
    urgency: str = "high"  # the ticket's tier, mapped to PagerDuty's severity
    details: dict = field(default_factory=dict)  # PagerDuty custom_details: never customer text
    links: tuple[dict, ...] = ()  # [{"href": ..., "text": ...}], e.g. the dashboard's ticket

    @property
    def dedup_key(self) -> str:
        return dedup_key(self.ticket_id, self.clock)


class Pager:
    def __init__(self, config: PagingConfig, http=None):
        self.pagerduty = PagerDutyClient(config, http) if config.pagerduty_routing_key else None
        self.webhook = OncallWebhookClient(config, http) if config.oncall_webhook_url else None

    def trigger(self, page: Page, only: tuple[str, ...] | None = None) -> dict[str, PageResult]:
        """Page on-call; `only` limits it to the named targets (a retry of those that failed)."""
        results = {}
        if self.pagerduty and (only is None or self.pagerduty.name in only):
            results[self.pagerduty.name] = self.pagerduty.trigger(
                page.dedup_key, page.summary, SEVERITY_OF_TIER.get(page.urgency, "error"),
                custom_details={"ticket_id": str(page.ticket_id), "clock": page.clock, "level": page.level,
                                **page.details},
                links=list(page.links))  # fmt: skip
        if self.webhook and (only is None or self.webhook.name in only):
            results[self.webhook.name] = self.webhook.trigger(page.dedup_key, page.ticket_id, page.clock,
                                                              page.level, page.summary)  # fmt: skip
        return results

    def acknowledge(self, page: Page, only: tuple[str, ...] | None = None) -> dict[str, PageResult]:
        return self._follow_up("acknowledge", page, only)

    def resolve(self, page: Page, only: tuple[str, ...] | None = None) -> dict[str, PageResult]:
        return self._follow_up("resolve", page, only)

    def _follow_up(self, action: str, page: Page, only) -> dict[str, PageResult]:
        results = {}
        if self.pagerduty and (only is None or self.pagerduty.name in only):
            results[self.pagerduty.name] = getattr(self.pagerduty, action)(page.dedup_key)
        if self.webhook and (only is None or self.webhook.name in only):
            results[self.webhook.name] = self.webhook.send(action, page.dedup_key, page.ticket_id, page.clock,
                                                           page.level)  # fmt: skip
        return results

    def close(self) -> None:
        for client in (self.pagerduty, self.webhook):
            if client is not None:
                client.close()
