"""Outbox delivery against the stand-in over HTTP: inert text, one parent per ticket, priority, pacing."""

import json
import time

import pytest
from redis import Redis
from sqlalchemy import select

from integrations.slack import delivery
from store.db import transaction
from store.schema import SlackMessage, Ticket
from tests.slack_support import (  # noqa: F401  (fixtures)
    add_fault,
    get_ticket,
    jobs,
    open_ticket,
    parents,
    standin,
    standin_messages,
)
from tickets import outbox
from workers import deliver, queues

ON_CALL = "<!subteam^S0ONCALL>"
HOSTILE = "<!channel> <!here> <@U123> <https://evil.example|your refund> & ok"


@pytest.fixture
def config_data():
    return {
        "slack": {"default_channel": "#support", "escalation_channel": "#support-escalations",
                  "escalation_mentions": [ON_CALL]},
        "routes": [{"match": {"urgency": ["critical"]}, "channel": "#support-critical"}],
    }  # fmt: skip


def _rows(database_url, **where):
    with transaction(database_url) as session:
        return list(session.scalars(select(SlackMessage).filter_by(**where).order_by(SlackMessage.id)))


def test_hostile_mention_reaches_slack_inert(settings, app_config, jobs, standin):
    ticket_id = open_ticket(settings.database_url, app_config, text=HOSTILE + " " + "x" * 4000)
    deliver.drain(["#support"])
    [posted] = parents(standin, "#support")
    texts = [posted["text"], json.dumps(posted["blocks"])]
    for text in texts:
        assert not any(live in text for live in ("<!channel", "<!here", "<@U123", "<https://evil"))
    assert "&lt;!channel&gt; &lt;!here&gt; &lt;@U123&gt; &lt;https://evil.example|your refund&gt; &amp; ok" in texts[1]
    assert all(len(b["text"]["text"]) <= 3000 for b in posted["blocks"] if b["type"] == "section")
    assert posted["metadata"] == {"event_type": "earshot_ticket", "event_payload": {"ticket_id": str(ticket_id)}}
    ticket = get_ticket(settings.database_url, ticket_id)
    assert ticket.slack_ts == posted["ts"] and ticket.slack_channel_id.startswith("C")


def test_rate_limits_and_server_errors_end_with_one_parent_each(settings, app_config, jobs, standin):
    ids = [open_ticket(settings.database_url, app_config) for _ in range(3)]
    add_fault(standin, method="chat.postMessage", status=429, retry_after=1, count=3)
    add_fault(standin, method="chat.postMessage", status=503, count=1)
    add_fault(standin, method="chat.postMessage", status=500, count=1, apply=True)  # posted, answer lost
    deliver.drain(["#support"], timeout=30)
    posted = parents(standin, "#support")
    assert sorted(int(m["metadata"]["event_payload"]["ticket_id"]) for m in posted) == ids
    assert all(row.sent_at is not None for row in _rows(settings.database_url, kind="parent"))


def test_crash_between_post_and_record_still_one_parent(settings, app_config, jobs, standin, monkeypatch):
    ticket_id = open_ticket(settings.database_url, app_config)
    record = delivery.record_sent
    crashes = []

    def crash_once(*args):
        if not crashes:
            crashes.append(1)
            raise RuntimeError("worker died after posting")
        record(*args)

    monkeypatch.setattr(delivery, "record_sent", crash_once)
    try:
        deliver.deliver_channel("#support")
    except RuntimeError:
        pass
    assert len(parents(standin, "#support")) == 1
    deliver.drain(["#support"])  # as the next job (or deliver_pending) would
    [posted] = parents(standin, "#support")
    assert get_ticket(settings.database_url, ticket_id).slack_ts == posted["ts"]
    [row] = _rows(settings.database_url, kind="parent")
    assert row.attempts == 2 and row.slack_ts == posted["ts"]


def _wait_until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition did not come true in time"
        time.sleep(0.01)


def test_critical_goes_first_in_a_backed_up_channel(settings, app_config, jobs, standin, redis_url, monkeypatch):
    monkeypatch.setattr(deliver, "SEND_INTERVAL_SECONDS", 1.0)
    for _ in range(50):
        open_ticket(settings.database_url, app_config, urgency="normal", channel="#busy")
    add_fault(standin, method="chat.postMessage", status=429, retry_after=1, count=1)
    assert 0.9 < deliver.deliver_channel("#busy") <= 1.0  # rate limited: rescheduled, not slept
    critical = open_ticket(settings.database_url, app_config, urgency="critical", channel="#busy")
    assert deliver.deliver_channel("#busy") > 0  # still inside Retry-After: nothing sent
    assert parents(standin, "#busy") == []
    gate = deliver.ChannelGate(Redis.from_url(redis_url), "#busy")
    _wait_until(lambda: gate.wait_seconds() == 0)  # Retry-After is over
    assert 0.9 < deliver.deliver_channel("#busy") <= 1.0  # sent one, paced to 1 msg/s
    assert deliver.deliver_channel("#busy") > 0
    [first] = parents(standin, "#busy")
    assert first["metadata"]["event_payload"]["ticket_id"] == str(critical)


def test_thread_notes_wait_for_the_parent_and_updates_coalesce(settings, app_config, jobs, standin):
    ticket_id = open_ticket(settings.database_url, app_config)
    with transaction(settings.database_url) as session:
        ticket = session.get(Ticket, ticket_id)
        outbox.queue_thread_note(session, ticket, "Follow-up from @jane: <!here> still waiting", "follow-up:1")
        outbox.queue_thread_note(session, ticket, "duplicate key is ignored", "follow-up:1")
        outbox.queue_ticket_update(session, ticket)
        outbox.queue_ticket_update(session, ticket)
    add_fault(standin, method="chat.postMessage", status=500, count=1)
    deliver.drain(["#support"], timeout=20)
    messages = standin_messages(standin, "#support")
    [parent] = [m for m in messages if "thread_ts" not in m or m["thread_ts"] == m["ts"]]
    [note] = [m for m in messages if m.get("thread_ts") == parent["ts"] and m["ts"] != parent["ts"]]
    assert "&lt;!here&gt;" in note["text"] and "<!here>" not in note["text"]
    updates = _rows(settings.database_url, kind="update")
    assert len(updates) == 1 and updates[0].last_error == "superseded by the parent message"


def test_escalation_pings_on_call_and_links_the_thread(settings, app_config, jobs, standin, config_data):
    ticket_id = open_ticket(settings.database_url, app_config, urgency="high")
    deliver.drain(["#support"])
    with transaction(settings.database_url) as session:
        outbox.queue_escalation(session, session.get(Ticket, ticket_id), "SLA breached <!channel>", "breach:1",
                                app_config.slack.escalation_channel, app_config.slack.escalation_mentions)
    deliver.drain([config_data["slack"]["escalation_channel"]])
    [posted] = standin_messages(standin, config_data["slack"]["escalation_channel"])
    text = json.dumps(posted["blocks"])
    assert text.count(ON_CALL) == 1 and "&lt;!channel&gt;" in text
    assert f"/archives/{get_ticket(settings.database_url, ticket_id).slack_channel_id}/p" in text


def test_a_parent_slack_refuses_as_malformed_goes_in_a_simpler_form(settings, app_config, jobs, standin):
    first, second = open_ticket(settings.database_url, app_config), open_ticket(settings.database_url, app_config)
    add_fault(standin, method="chat.postMessage", status=200, error="invalid_blocks", count=1)
    deliver.drain(["#support"])
    simpler, full = parents(standin, "#support")
    assert [m["metadata"]["event_payload"]["ticket_id"] for m in (simpler, full)] == [str(first), str(second)]
    assert "Slack refused the full message (invalid_blocks)" in json.dumps(simpler["blocks"])
    assert [b["type"] for b in simpler["blocks"]] == ["context", "section", "actions"], "the buttons stay"
    [row] = _rows(settings.database_url, ticket_id=first, kind="parent")
    assert row.failed_at is None and row.sent_at is not None and row.payload["delivery"]["form"] == "plain"


def test_commit_enqueues_delivery_and_pending_repair_finds_the_rest(settings, app_config, jobs, redis_url):
    open_ticket(settings.database_url, app_config, channel="#billing")
    open_ticket(settings.database_url, app_config, channel="#support")
    slack_queue = queues.queue(queues.SLACK, redis_url)
    assert [job.func_name for job in slack_queue.jobs] == [deliver.DISPATCH_JOB], "one dispatcher for both commits"
    slack_queue.empty()
    Redis.from_url(redis_url).delete(deliver.DISPATCH_FLAG)  # as if Redis had lost the job and its flag
    assert deliver.deliver_pending() == 2
    assert [job.func_name for job in slack_queue.jobs] == [deliver.DISPATCH_JOB]


def test_dispatcher_paces_every_channel_without_waiting_on_a_throttled_one(
    settings, app_config, jobs, standin, monkeypatch
):
    monkeypatch.setattr("workers.deliver.SEND_INTERVAL_SECONDS", 0.3)
    monkeypatch.setattr("workers.deliver.DISPATCH_BUDGET_SECONDS", 3.0)
    for _ in range(3):
        open_ticket(settings.database_url, app_config, channel="#one")
        open_ticket(settings.database_url, app_config, channel="#two")
    # The first post of the run is throttled for 30 s, whichever channel it is for.
    add_fault(standin, method="chat.postMessage", status=429, retry_after=30, count=1)
    started = time.monotonic()
    deliver.dispatch()
    posted = sorted([len(parents(standin, "#one")), len(parents(standin, "#two"))])
    assert posted == [0, 3], "the other channel is served, paced, while one waits out its Retry-After"
    assert time.monotonic() - started < 5


def test_redis_down_does_not_fail_the_commit(settings, app_config, jobs, monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    ticket_id = open_ticket(settings.database_url, app_config)
    assert _rows(settings.database_url, ticket_id=ticket_id, kind="parent")[0].sent_at is None


def test_second_worker_leaves_a_locked_channel_to_the_first(settings, app_config, jobs, redis_url, standin):
    open_ticket(settings.database_url, app_config)
    gate = deliver.ChannelGate(Redis.from_url(redis_url), "#support")
    assert gate.acquire()
    assert deliver.deliver_channel("#support") is None
    assert parents(standin, "#support") == []
    gate.release()
    assert gate.take_dirty()  # the holder is told to look again


def test_the_dispatcher_makes_way_for_a_queued_reply(settings, app_config, jobs, standin, redis_url, monkeypatch):
    """A reply to a customer (or a page) queued for the io worker goes before the rest of a Slack run."""
    monkeypatch.setattr("workers.deliver.SEND_INTERVAL_SECONDS", 1.0)  # paced: all six would take 5 s
    monkeypatch.setattr("workers.deliver.DISPATCH_BUDGET_SECONDS", 30.0)
    for _ in range(6):
        open_ticket(settings.database_url, app_config, channel="#one")
    queues.queue(queues.SLACK, redis_url).empty()
    queues.queue(queues.REPLIES, redis_url).enqueue("workers.replies.send_reply", 1)
    started = time.monotonic()
    deliver.dispatch()
    assert time.monotonic() - started < 3
    assert 1 <= len(parents(standin, "#one")) < 6  # one pass served the channel, then it made way
    assert [job.func_name for job in queues.queue(queues.SLACK, redis_url).jobs] == [deliver.DISPATCH_JOB]
