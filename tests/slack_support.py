"""Shared setup for the Slack tests: the stand-in over HTTP, the job environment, tickets."""

import json
import time
from datetime import timedelta
from urllib.parse import urlencode
from urllib.request import Request, urlopen

import pytest
import yaml
from slack_sdk import WebClient

from core.timeutil import utcnow
from integrations.slack.signature import signed_headers
from standins.slack import start_standin_in_thread
from store.db import transaction
from store.schema import Mention, Ticket
from tests.conftest import SLACK_SIGNING_SECRET
from tickets import lifecycle
from workers import context


@pytest.fixture
def standin(live_app):
    base_url, server = start_standin_in_thread(live_app, SLACK_SIGNING_SECRET)
    yield base_url
    server.shutdown()


@pytest.fixture
def api_standin():
    """The stand-in alone, for tests of its Web API (its buttons lead nowhere)."""
    base_url, server = start_standin_in_thread("http://127.0.0.1:9", SLACK_SIGNING_SECRET)
    yield base_url
    server.shutdown()


@pytest.fixture
def jobs(settings, standin, config_data, tmp_path, monkeypatch):
    """The environment delivery jobs read (workers.context), pointed at this test's services."""
    config_file = tmp_path / "earshot.yaml"
    config_file.write_text(yaml.safe_dump(config_data))
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SLACK_STANDIN_PORT", standin.rsplit(":", 1)[1])
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SLACK_SIGNING_SECRET)
    monkeypatch.setenv("EARSHOT_CONFIG", str(config_file))
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.setattr("workers.deliver.SEND_INTERVAL_SECONDS", 0.02)  # keep tests fast; pacing has its own test
    context.reset()
    yield context.app_context()
    context.reset()


def web_client(standin_url: str) -> WebClient:
    return WebClient(token="xoxb-test", base_url=standin_url + "/api/", retry_handlers=[])


def standin_messages(standin_url: str, channel: str) -> list[dict]:
    with urlopen(f"{standin_url}/_standin/messages?{urlencode({'channel': channel})}", timeout=5) as answer:
        return json.loads(answer.read())["messages"]


def parents(standin_url: str, channel: str) -> list[dict]:
    return [m for m in standin_messages(standin_url, channel) if m.get("thread_ts") in (None, m["ts"])]


def add_fault(standin_url: str, **spec) -> None:
    request = Request(f"{standin_url}/_standin/faults", data=json.dumps(spec).encode(),
                      headers={"Content-Type": "application/json"}, method="POST")  # fmt: skip
    urlopen(request, timeout=5).close()


def open_ticket(database_url: str, app_config, *, urgency="normal", text="@acme my booking vanished",
                channel="#support", external_id=None, url=None, followers=1200, source="x") -> int:  # fmt: skip
    """A classified mention and its ticket, through the lead's lifecycle."""
    now = utcnow()
    with transaction(database_url) as session:
        mention = Mention(
            source=source,
            external_id=external_id or f"tw-{time.time_ns()}",
            author_id="u42",
            author_handle="@jane",
            author_name="Jane",
            author_followers=followers,
            text=text,
            url=url,
            created_at=now - timedelta(minutes=1),
            processed_at=now,
            complaint=0.9,
            severity=3,
            needs_reply=True,
            urgency=urgency,
            signals=["money taken"],
        )
        session.add(mention)
        session.flush()
        ticket = lifecycle.open_ticket(session, mention, channel, app_config, now)
        return ticket.id


def get_ticket(database_url: str, ticket_id: int) -> Ticket:
    with transaction(database_url) as session:
        return session.get(Ticket, ticket_id)


def action_body(action_id: str, value: str, user: str = "U0AGENT01", selected: bool = False,
                trigger_id: str | None = None) -> bytes:  # fmt: skip
    action = {"action_id": action_id, "block_id": "ticket:x"}
    if selected:
        action.update(type="static_select", selected_option={"value": value})
    else:
        action.update(type="button", value=value)
    payload = {"type": "block_actions", "user": {"id": user}, "actions": [action],
               "channel": {"id": "C1"}, "message": {"ts": "1.0"}}  # fmt: skip
    if trigger_id is not None:
        payload["trigger_id"] = trigger_id
    return urlencode({"payload": json.dumps(payload)}).encode()


def submission_body(ticket_id, text, resolve: bool = False, user: str = "U0AGENT01", **view) -> bytes:
    """The reply modal's view_submission, as Slack posts it; `view` overrides fields of the view."""
    values = {"reply": {"text": {"type": "plain_text_input", "value": text}},
              "resolve": {"resolve": {"type": "checkboxes",
                                      "selected_options": [{"value": "resolve"}] if resolve else []}}}  # fmt: skip
    payload = {"type": "view_submission", "user": {"id": user, "username": "agent"}, "trigger_id": "1.2.x",
               "view": {"id": "V1", "callback_id": "ticket_reply", "private_metadata": str(ticket_id),
                        "state": {"values": values}, **view}}  # fmt: skip
    return urlencode({"payload": json.dumps(payload)}).encode()


def post_signed(client, path: str, body: bytes, secret: str = SLACK_SIGNING_SECRET, timestamp: int | None = None):
    headers = signed_headers(secret, body, int(time.time()) if timestamp is None else timestamp)
    return client.post(path, data=body, headers=headers)
