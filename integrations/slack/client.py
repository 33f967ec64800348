"""The one place that decides which Slack Web API Earshot talks to."""

from slack_sdk import WebClient

from core.settings import Settings

STANDIN_TOKEN = "xoxb-standin"
TIMEOUT_SECONDS = 10


def api_base_url(settings: Settings) -> str:
    if settings.uses_slack_standin:
        return f"http://127.0.0.1:{settings.slack_standin_port}/api/"
    return settings.slack_api_url


def web_client(settings: Settings) -> WebClient:
    # No built-in retries: a retried chat.postMessage could post twice. Delivery
    # retries itself, after checking whether the earlier attempt reached Slack.
    return WebClient(
        token=settings.slack_bot_token or STANDIN_TOKEN,
        base_url=api_base_url(settings),
        timeout=TIMEOUT_SECONDS,
        retry_handlers=[],
    )


def thread_url(settings: Settings, channel_id: str, ts: str) -> str:
    """A link to a message without calling Slack (slash commands must answer within 3 s)."""
    host = f"http://127.0.0.1:{settings.slack_standin_port}" if settings.uses_slack_standin else "https://slack.com"
    return f"{host}/archives/{channel_id}/p{ts.replace('.', '')}"
