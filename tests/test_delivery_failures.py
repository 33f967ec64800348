"""Never undeliverable: a channel Slack refuses, a message it finds malformed, an hour-long outage.
Against the stand-in over HTTP, on SQLite and PostgreSQL."""

import json
import re
from datetime import timedelta
from urllib.request import Request, urlopen

import pytest
import time_machine
from sqlalchemy import select

from core.timeutil import utcnow
from store.db import transaction
from store.schema import SlackMessage, Ticket, TicketEvent
from tests.conftest import API_TOKEN
from tests.slack_support import (  # noqa: F401  (fixtures)
    add_fault,
    get_ticket,
    jobs,
    open_ticket,
    parents,
    standin,
    standin_messages,
)
from tickets import lifecycle, outbox
from workers import deliver

ON_CALL = "<!subteam^S0ONCALL>"
NOWHERE = "C0NOSUCH1"  # a channel id the stand-in never handed out: channel_not_found
ESCALATIONS = "#support-escalations"


@pytest.fixture
def config_data():
    return {
        "slack": {"default_channel": "#support", "escalation_channel": ESCALATIONS, "escalation_mentions": [ON_CALL]},
        "routes": [{"match": {"urgency": ["critical"]}, "channel": NOWHERE}],
    }


@pytest.fixture
def dispatch(monkeypatch):
    """Deliver everything deliverable now, across channels, as the dispatcher job does."""
    monkeypatch.setattr(deliver, "DISPATCH_BUDGET_SECONDS", 20.0)
    return deliver.dispatch


def log_in(client) -> None:
    form = client.get("/dashboard/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    assert client.post("/dashboard/login", data={"csrf_token": token, "token": API_TOKEN}).status_code == 302


def _rows(database_url, **where):
    with transaction(database_url) as session:
        return list(session.scalars(select(SlackMessage).filter_by(**where).order_by(SlackMessage.id)))


def _ticket_parent(messages, ticket_id):
    return [m for m in messages if (m.get("metadata") or {}).get("event_payload", {}).get("ticket_id") == str(ticket_id)
            and m.get("metadata", {}).get("event_type") == "earshot_ticket"]  # fmt: skip


def _notices(standin_url, channel=ESCALATIONS, words="fails"):
    return [m for m in standin_messages(standin_url, channel) if words in m["text"]]


def test_a_route_slack_refuses_still_puts_the_ticket_in_front_of_people(settings, app_config, jobs, standin,
                                                                       dispatch, client):  # fmt: skip
    first = open_ticket(settings.database_url, app_config, urgency="critical", channel=NOWHERE)
    dispatch()
    [posted] = _ticket_parent(standin_messages(standin, "#support"), first)
    assert f"Routed to {NOWHERE}, which Slack refused: channel_not_found." in json.dumps(posted["blocks"])
    assert any(b["type"] == "actions" for b in posted["blocks"]), "agents can work it from there"
    ticket = get_ticket(settings.database_url, first)
    assert ticket.channel == "#support" and ticket.slack_ts == posted["ts"]
    with transaction(settings.database_url) as session:
        [moved] = session.scalars(select(TicketEvent).filter_by(ticket_id=first, type="slack_rerouted")).all()
        assert moved.data["from"] == NOWHERE and moved.data["to"] == "#support"
    [notice] = _notices(standin)
    assert NOWHERE in notice["text"] and "channel_not_found" in notice["text"] and ON_CALL in json.dumps(notice)

    # The next ticket routed there goes the same way; people were told once for the episode.
    second = open_ticket(settings.database_url, app_config, urgency="critical", channel=NOWHERE)
    with transaction(settings.database_url) as session:  # and the first ticket's thread goes on where it is
        outbox.queue_thread_note(session, session.get(Ticket, first), "Follow-up from @jane: still waiting", "f-1")
    dispatch()
    assert _ticket_parent(standin_messages(standin, "#support"), second)
    assert len(_notices(standin)) == 1, "once per failing episode, not per message"
    thread = [m for m in standin_messages(standin, "#support") if m.get("thread_ts") == posted["ts"]]
    assert any("still waiting" in m["text"] for m in thread)
    health = client.get("/healthz")
    assert health.status_code == 200, "a degraded Slack does not turn /healthz red"
    assert health.json["slack"] == "failing" and health.json["slack_failing_channels"] == [NOWHERE]
    log_in(client)
    page = client.get("/dashboard").get_data(as_text=True)
    card = re.search(r'<div class="kpi alert" id="kpi-slack".*?</div></div>', page)
    assert card and "failing" in card.group(0) and NOWHERE in card.group(0)


@pytest.mark.parametrize("error", ["not_in_channel", "is_archived"])
def test_a_channel_the_app_may_not_post_in_sends_the_parent_to_the_default_channel(
    settings,
    app_config,
    jobs,
    standin,
    dispatch,
    error,  # noqa: F811
):
    ticket_id = open_ticket(settings.database_url, app_config, channel="#billing")
    add_fault(standin, method="chat.postMessage", status=200, error=error, count=1)
    dispatch()
    [posted] = _ticket_parent(standin_messages(standin, "#support"), ticket_id)
    assert f"Routed to #billing, which Slack refused: {error}." in posted["text"]
    assert _ticket_parent(standin_messages(standin, "#billing"), ticket_id) == []


class TestTheDefaultChannelRefusedToo:
    @pytest.fixture
    def config_data(self):
        return {"slack": {"default_channel": "C0NOSUCH2", "escalation_channel": ESCALATIONS}}

    def test_the_parent_goes_to_the_escalation_channel(self, settings, app_config, jobs, standin, dispatch):
        ticket_id = open_ticket(settings.database_url, app_config, channel=NOWHERE)
        dispatch()
        [posted] = _ticket_parent(standin_messages(standin, ESCALATIONS), ticket_id)
        note = f"Routed to {NOWHERE}, which Slack refused: channel_not_found, then C0NOSUCH2 (channel_not_found)."
        assert note in json.dumps(posted["blocks"])
        assert get_ticket(settings.database_url, ticket_id).channel == ESCALATIONS


def test_a_parent_refused_in_every_form_is_given_up_and_people_are_told(settings, app_config, jobs, standin,
                                                                        dispatch):  # fmt: skip
    ticket_id = open_ticket(settings.database_url, app_config)
    add_fault(standin, method="chat.postMessage", status=200, error="invalid_blocks", count=3)  # full, plain, text
    dispatch()
    [row] = _rows(settings.database_url, ticket_id=ticket_id, kind="parent")
    assert row.failed_at is not None and row.last_error == "invalid_blocks"
    [told] = _notices(standin, words="was given up")
    assert f"Ticket #{ticket_id}" in told["text"] and "invalid_blocks" in told["text"]


@pytest.mark.parametrize("resolved", [False, True])
def test_transient_failures_give_up_only_on_a_closed_tickets_messages(settings, app_config, jobs, standin, resolved):
    ticket_id = open_ticket(settings.database_url, app_config)
    with transaction(settings.database_url) as session:
        row = session.scalar(select(SlackMessage).filter_by(ticket_id=ticket_id, kind="parent"))
        row.attempts = deliver_attempts = 11  # eleven tries failed already (about 20 minutes)
        if resolved:
            lifecycle.resolve(session, session.get(Ticket, ticket_id), "U1", utcnow())
    add_fault(standin, method="chat.postMessage", status=503, count=1)
    deliver.deliver_channel("#support")
    [row] = _rows(settings.database_url, ticket_id=ticket_id, kind="parent")
    assert row.attempts == deliver_attempts + 1 and row.sent_at is None
    if resolved:
        assert row.failed_at is not None
    else:
        assert row.failed_at is None and row.next_attempt_at > utcnow() + timedelta(seconds=250), "capped backoff"


def test_a_message_in_backoff_does_not_hold_up_its_channel(settings, app_config, jobs, standin):
    waiting = open_ticket(settings.database_url, app_config)
    with transaction(settings.database_url) as session:
        session.scalar(select(SlackMessage).filter_by(ticket_id=waiting, kind="parent")).attempts = 8
    add_fault(standin, method="chat.postMessage", status=503, count=1)
    deliver.deliver_channel("#support")  # fails: this message now waits 256 s
    fresh = open_ticket(settings.database_url, app_config)
    deliver.deliver_channel("#support")
    [posted] = parents(standin, "#support")
    assert posted["metadata"]["event_payload"]["ticket_id"] == str(fresh)


def _parent_row(database_url, ticket_id) -> SlackMessage:
    [row] = _rows(database_url, ticket_id=ticket_id, kind="parent")
    return row


def test_an_hour_long_slack_outage_loses_nothing(settings, app_config, jobs, standin, dispatch, client):
    """Simulated time: every try fails for an hour, each after its backoff; then Slack is back."""
    start = utcnow()
    with time_machine.travel(start, tick=True) as traveller:
        assert client.get("/healthz").json["slack"] == "ok"
        ticket_id = open_ticket(settings.database_url, app_config)
        add_fault(standin, method="chat.postMessage", status=503, count=100_000)
        tries, noted = 0, False
        while utcnow() - start < timedelta(hours=1):
            deliver.deliver_channel("#support")
            tries += 1
            row = _parent_row(settings.database_url, ticket_id)
            assert row.failed_at is None and row.sent_at is None, f"given up after {tries} tries"
            if not noted and utcnow() - start > timedelta(minutes=30):
                with transaction(settings.database_url) as session:
                    ticket = session.get(Ticket, ticket_id)
                    outbox.queue_thread_note(session, ticket, "Follow-up from @jane: hello??", "outage-1")
                noted = True
                health = client.get("/healthz")
                assert health.status_code == 200 and health.json["slack"] == "failing"
                assert health.json["slack_failing_messages"] == 1
                assert health.json["slack_oldest_failing_seconds"] >= 1800
            traveller.move_to(row.next_attempt_at + timedelta(milliseconds=5))
        assert 15 <= tries <= 30, "a capped backoff: about every 5 minutes once it is long"
        assert _parent_row(settings.database_url, ticket_id).attempts == tries
        urlopen(Request(f"{standin}/_standin/reset", data=b"{}", method="POST",
                        headers={"Content-Type": "application/json"}), timeout=5).close()  # Slack is back  # fmt: skip
        traveller.move_to(_parent_row(settings.database_url, ticket_id).next_attempt_at + timedelta(milliseconds=5))
        dispatch()
        [posted] = parents(standin, "#support")
        assert posted["metadata"]["event_payload"]["ticket_id"] == str(ticket_id)
        thread = [m for m in standin_messages(standin, "#support") if m.get("thread_ts") == posted["ts"]]
        assert [m["text"] for m in thread if m["ts"] != posted["ts"]] == ["Follow-up from @jane: hello??"]
        failing = _notices(standin, words="has been failing since")
        recovered = _notices(standin, words="works again")
        assert len(failing) == 1 and len(recovered) == 1, "told once that it fails, once that it works again"
        assert client.get("/healthz").json["slack"] == "ok"
