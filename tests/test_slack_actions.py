"""`/slack/actions` and `/slack/commands`: signatures, ticket changes, the parent's update, manager answers."""

import json
import time
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from core.timeutil import utcnow
from integrations.slack.signature import signed_headers
from store.db import transaction
from store.schema import Label, SlaAlert, Ticket, TicketEvent
from tests.conftest import SLACK_SIGNING_SECRET
from tests.slack_support import (  # noqa: F401  (fixtures)
    action_body,
    get_ticket,
    jobs,
    open_ticket,
    parents,
    post_signed,
    standin,
)
from workers import deliver


def _events(database_url, ticket_id):
    with transaction(database_url) as session:
        rows = session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id))
        return [(event.type, event.actor) for event in rows]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Slack-Request-Timestamp": "{now}", "X-Slack-Signature": "v0=" + "0" * 64},
        {"X-Slack-Request-Timestamp": "{now}"},
        {"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=abc"},
    ],
)
@pytest.mark.parametrize("path", ["/slack/actions", "/slack/commands"])
def test_unsigned_or_wrongly_signed_requests_are_refused(client, path, headers):
    headers = {k: v.format(now=int(time.time())) for k, v in headers.items()}
    answer = client.post(path, data=action_body("ticket_claim", "1"), headers=headers,
                         content_type="application/x-www-form-urlencoded")  # fmt: skip
    assert answer.status_code == 401 and "error" in answer.get_json()


@pytest.mark.parametrize("path", ["/slack/actions", "/slack/commands"])
def test_replayed_and_foreign_signatures_are_refused(client, path):
    body = action_body("ticket_claim", "1")
    assert post_signed(client, path, body, timestamp=int(time.time()) - 301).status_code == 401
    assert post_signed(client, path, body, secret="another-secret").status_code == 401
    assert post_signed(client, path, body).status_code != 401
    headers = signed_headers(SLACK_SIGNING_SECRET, body, int(time.time()))  # signed for another body
    assert client.post(path, data=body + b"&x=1", headers=headers).status_code == 401


def test_claim_then_resolve_changes_ticket_and_updates_the_parent(settings, app_config, client, jobs, standin):
    ticket_id = open_ticket(settings.database_url, app_config)
    deliver.drain(["#support"])
    answer = post_signed(client, "/slack/actions", action_body("ticket_claim", str(ticket_id), user="U0AGENT01"))
    assert answer.status_code == 200
    ticket = get_ticket(settings.database_url, ticket_id)
    assert (ticket.status, ticket.claimed_by) == ("claimed", "U0AGENT01")
    assert ("claimed", "U0AGENT01") in _events(settings.database_url, ticket_id)
    deliver.drain(["#support"])
    [parent] = parents(standin, "#support")
    assert "Claimed by <@U0AGENT01>" in json.dumps(parent["blocks"]) and parent.get("edited")

    assert post_signed(client, "/slack/actions", action_body("ticket_resolve", str(ticket_id))).status_code == 200
    assert get_ticket(settings.database_url, ticket_id).status == "resolved"
    deliver.drain(["#support"])
    [parent] = parents(standin, "#support")
    assert "Resolved" in json.dumps(parent["blocks"]) and not any(b["type"] == "actions" for b in parent["blocks"])


def test_set_urgency_and_not_complaint_are_labels(settings, app_config, client, jobs):
    ticket_id = open_ticket(settings.database_url, app_config, urgency="normal")
    body = action_body("ticket_set_urgency", f"{ticket_id}:critical", user="U0LEAD", selected=True)
    assert post_signed(client, "/slack/actions", body).status_code == 200
    assert get_ticket(settings.database_url, ticket_id).urgency == "critical"
    assert post_signed(client, "/slack/actions", action_body("ticket_not_complaint", str(ticket_id))).status_code == 200
    with transaction(settings.database_url) as session:
        labels = [(label.kind, label.value, label.actor) for label in session.scalars(select(Label).order_by(Label.id))]
    assert labels == [("urgency", "critical", "U0LEAD"), ("complaint", "0", "U0AGENT01")]
    assert get_ticket(settings.database_url, ticket_id).status == "resolved"


def test_responded_stops_the_first_response_clock(settings, app_config, client, jobs):
    ticket_id = open_ticket(settings.database_url, app_config)
    assert post_signed(client, "/slack/actions", action_body("ticket_responded", str(ticket_id))).status_code == 200
    ticket = get_ticket(settings.database_url, ticket_id)
    assert ticket.status == "responded" and ticket.first_response_met_at is not None


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"payload=not-json", 400),
        (b"nothing=here", 400),
        (action_body("ticket_claim", "abc"), 400),
        (action_body("ticket_claim", "1", user="<!channel>"), 400),
        (action_body("ticket_set_urgency", "1:urgentest", selected=True), 400),
        (action_body("ticket_explode", "1"), 400),
        (action_body("ticket_claim", "999999"), 404),
    ],
)
def test_bad_actions_get_clear_4xx(settings, app_config, client, jobs, body, status):
    open_ticket(settings.database_url, app_config)
    answer = post_signed(client, "/slack/actions", body)
    assert answer.status_code == status and answer.get_json()["error"]


def _command(client, text):
    body = urlencode({"command": "/earshot", "text": text, "user_id": "U0LEAD"}).encode()
    answer = post_signed(client, "/slack/commands", body)
    assert answer.status_code == 200
    data = answer.get_json()
    assert data["response_type"] == "ephemeral"
    return data["text"]


def test_earshot_commands(settings, app_config, client, jobs, standin):
    critical = open_ticket(settings.database_url, app_config, urgency="critical", channel="#support-critical")
    normal = open_ticket(settings.database_url, app_config, urgency="normal")
    deliver.drain(["#support", "#support-critical"])
    now = utcnow()
    with transaction(settings.database_url) as session:
        ticket = session.get(Ticket, normal)
        ticket.first_response_met_at = ticket.created_at + timedelta(minutes=30)
        session.add(SlaAlert(ticket_id=critical, clock="first_response", kind="breach",
                             deadline_at=now - timedelta(minutes=5), at=now))  # fmt: skip
    sla = _command(client, "sla")
    assert "critical 1 · high 0 · normal 1 · low 0" in sla
    assert "Breaches, last 24 h:* 1" in sla and "p50 30 min" in sla
    breaches = _command(client, "breaches")
    slack_ts = get_ticket(settings.database_url, critical).slack_ts.replace(".", "")
    assert f"#{critical} critical" in breaches and f"/p{slack_ts}|thread>" in breaches
    detail = _command(client, f"ticket {critical}")
    assert f"*Ticket #{critical}* · open · critical" in detail and "opened by earshot" in detail
    assert "No ticket #424242" in _command(client, "ticket 424242")
    assert "Usage" in _command(client, "ticket")
    assert "`sla`" in _command(client, "help") and "Unknown command" in _command(client, "<!channel>")
    assert "&lt;!channel&gt;" in _command(client, "<!channel>")
