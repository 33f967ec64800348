"""One delivery attempt: what delivery needs from its caller, what is sent, and what came of it."""

from dataclasses import dataclass, field

from slack_sdk import WebClient

from core.config_sections import SlackConfig
from core.settings import Settings
from integrations.slack import blocks, rules


@dataclass(frozen=True)
class Courier:
    """What delivery is given by its caller (the job): the settings (the database, Slack links),
    the Slack configuration (where a refused message goes next) and the client that calls Slack."""

    settings: Settings
    slack: SlackConfig
    client: WebClient

    @property
    def database_url(self) -> str:
        return self.settings.database_url


@dataclass
class Outcome:
    status: str  # sent | idle | skipped | rate_limited | retry | rerouted | failed
    wait_seconds: float = 0.0
    message_id: int | None = None
    channel: str | None = None  # the channel tried
    error: str | None = None
    failure: str | None = None  # transient | refused (the channel) | content | gone | workspace | unknown
    persistent: bool = False  # the message is kept until delivered (an open ticket's)
    ticket_id: int | None = None


@dataclass
class Send:
    """Everything needed to call Slack for one row, read in the claiming transaction."""

    row_id: int
    kind: str
    channel: str
    dedupe_key: str
    attempts: int
    created_at: float
    message: blocks.Message
    ticket_id: int | None = None
    incident_id: int | None = None
    parent_channel_id: str | None = None
    parent_ts: str | None = None
    superseded: list[int] = field(default_factory=list)
    persistent: bool = False
    form: str = rules.FULL
