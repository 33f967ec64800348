"""Data lifecycle (issue 21): platform deletions, erasure on request, and who did what.

After an erasure no table (every row of every table, dumped as text) and no message in the Slack
stand-in holds the customer's text, handle or name; the ticket and the report figures stay; a
second run changes nothing."""

import json
from urllib.parse import urlencode

from sqlalchemy import select

from core.settings import split_api_token
from core.timeutil import utcnow
from integrations.platforms import meta, x
from service import create_app
from store.db import session_for, transaction
from store.schema import Base, Mention, MentionTombstone, Ticket, TicketEvent
from tests.conftest import API_TOKEN, make_settings, run_jobs
from tests.slack_support import jobs, open_ticket, post_signed, standin, standin_messages  # noqa: F401 (fixtures)
from tests.test_webhooks_x import CONSUMER_SECRET, tweet, x_signature
from tickets import erasure, lifecycle
from workers import deliver, queues

TEXT = "@acme my card was charged twice, order 5512, call me on 0601020304"
FOLLOW_UP = "@acme still nothing, I live at 12 Rue des Lilas"
NAMED_TOKEN = "alice:alice-token-0123456789abcdef"


def _dump(database_url: str) -> str:
    """Every row of every table, as text."""
    with session_for(database_url) as session:
        return "\n".join(repr(tuple(row)) for table in Base.metadata.sorted_tables
                         for row in session.execute(select(table)))  # fmt: skip


def _slack_dump(standin: str) -> str:
    return json.dumps([standin_messages(standin, c) for c in ("#support", "#support-escalations")])


def _figures(client) -> tuple:
    auth = {"Authorization": f"Bearer {API_TOKEN}"}
    summary = client.get("/api/v1/sla/summary?window=90d", headers=auth).get_json()
    tickets = client.get("/api/v1/tickets", headers=auth).get_json()["tickets"]
    return summary["overall"], summary["by_urgency"], summary["by_source"], sorted(
        (t["id"], t["status"], t["urgency"], json.dumps(t["sla"], sort_keys=True)) for t in tickets)


def _ticket_with_follow_up(database_url, app_config) -> int:
    ticket_id = open_ticket(database_url, app_config, text=TEXT, url="https://x.com/jane/status/1")
    with transaction(database_url) as session:
        ticket = session.get(Ticket, ticket_id)
        follow = Mention(source="x", external_id="tw-follow", author_id="u42", author_handle="@jane",
                         author_name="Jane", text=FOLLOW_UP, created_at=utcnow(), processed_at=utcnow(),
                         needs_reply=True, urgency="normal", signals=[], embedding=b"\x00\x01")  # fmt: skip
        session.add(follow)
        session.flush()
        lifecycle.attach_follow_up(session, ticket, follow, app_config, utcnow(), None)
    return ticket_id


def _assert_gone(database_url, standin, *secrets):
    rows, slack = _dump(database_url), _slack_dump(standin)
    for secret in secrets:
        assert secret not in rows, secret
        assert secret not in slack, secret


def test_erasure_on_request_leaves_no_copy_and_keeps_the_figures(settings, app_config, jobs, standin, app):
    client = app.test_client()
    ticket_id = _ticket_with_follow_up(settings.database_url, app_config)
    deliver.drain(["#support"])
    shown = _slack_dump(standin)
    assert TEXT.replace("&", "&amp;")[:30] in shown and "@jane" in shown and FOLLOW_UP[:20] in shown
    before = _figures(client)

    auth = {"Authorization": f"Bearer {API_TOKEN}"}
    answer = client.delete("/api/v1/customers/x/u42", headers=auth)
    assert answer.status_code == 202 and answer.get_json() == {"mentions": 2, "tickets": 1}
    deliver.drain(["#support"])

    _assert_gone(settings.database_url, standin, TEXT, FOLLOW_UP, "@jane", "Jane", "u42", "x.com/jane")
    assert "[erased on request]" in _slack_dump(standin)
    assert _figures(client) == before
    with session_for(settings.database_url) as session:
        assert session.get(Ticket, ticket_id) is not None
        [event] = session.scalars(select(TicketEvent).where(TicketEvent.type == "erased")).all()
        assert event.actor == "api" and event.data == {"reason": "request", "mentions": 2}

    again = client.delete("/api/v1/customers/x/u42", headers=auth)
    assert again.status_code == 202 and again.get_json() == {"mentions": 0, "tickets": 0}
    assert _figures(client) == before
    with session_for(settings.database_url) as session:
        assert len(session.scalars(select(TicketEvent).where(TicketEvent.type == "erased")).all()) == 1


def test_forget_command_erases_linked_handles_and_records_the_slack_user(settings, app_config, jobs, standin, app):
    client = app.test_client()
    ticket_id = open_ticket(settings.database_url, app_config, text=TEXT)
    with transaction(settings.database_url) as session:
        session.add(Mention(source="facebook", external_id="fb-1", author_id="fb-9001", author_name="Jane Doe",
                            text="@acme answer me please", created_at=utcnow(), processed_at=utcnow()))  # fmt: skip
    deliver.drain(["#support"])

    def command(text):
        body = urlencode({"text": text, "user_id": "U0AGENT01"}).encode()
        return post_signed(client, "/slack/commands", body).get_json()["text"]

    assert "Linked" in command("link x:u42 facebook:fb-9001")
    assert "Usage" in command("forget")
    assert "3 mention(s)" not in (said := command("forget x:u42")) and "2 mention(s) on 1 ticket(s)" in said
    deliver.drain(["#support"])
    _assert_gone(settings.database_url, standin, TEXT, "@acme answer me please", "@jane", "Jane", "fb-9001", "u42")
    assert "0 mention(s)" in command("forget x:u42")
    with session_for(settings.database_url) as session:
        [event] = session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id,
                                                            TicketEvent.type == "erased")).all()  # fmt: skip
        assert event.actor == "U0AGENT01"


def test_a_sent_thread_note_is_rewritten_in_slack(settings, app_config, jobs, standin):
    ticket_id = _ticket_with_follow_up(settings.database_url, app_config)
    deliver.drain(["#support"])
    with transaction(settings.database_url) as session:
        follow = session.scalar(select(Mention).where(Mention.external_id == "tw-follow"))
        assert erasure.erase_mentions(session, [follow.id], erasure.DELETED, "platform", utcnow()).mentions == 1
    deliver.drain(["#support"])
    messages = standin_messages(standin, "#support")
    replies = [m for m in messages if m.get("thread_ts") not in (None, m["ts"])]
    assert replies and all(FOLLOW_UP not in json.dumps(m) for m in replies)
    assert any("[deleted by its author]" in m["text"] for m in replies)
    # The first mention was not deleted: the ticket still shows it and its author.
    assert TEXT[:20] in json.dumps(messages) and "@jane" in json.dumps(messages)
    with session_for(settings.database_url) as session:
        assert session.get(Ticket, ticket_id).author_handle == "@jane"


# Platform deletions through the webhooks.


def _x_client(settings, app_config):
    settings = make_settings(settings.database_url, settings.redis_url, x_consumer_secret=CONSUMER_SECRET)
    return create_app(settings, app_config).test_client()


def _post_x(client, payload):
    body = json.dumps(payload).encode()
    return client.post("/webhooks/x", data=body, headers={
        "Content-Type": "application/json", "X-Twitter-Webhooks-Signature": x_signature(CONSUMER_SECRET, body)})


def _deleted(tweet_id, user_id="6253282"):
    return {"tweet_delete_events": [{"status": {"id": tweet_id, "user_id": user_id}, "timestamp_ms": "1700000000000"}]}


def test_x_delete_event_erases_the_mention_and_keeps_the_ticket(settings, app_config, worker_env):
    client = _x_client(settings, app_config)
    said = "@acme you charged me twice and nobody answers, this is theft"
    created = {"for_user_id": "3001969357", "tweet_create_events": [tweet("1111", said, screen_name="jane_doe")]}
    assert _post_x(client, created).status_code == 200
    run_jobs(settings.redis_url, queues.CLASSIFY)
    with session_for(settings.database_url) as session:
        tickets = session.scalars(select(Ticket)).all()
    assert _post_x(client, _deleted("1111")).status_code == 200
    assert _post_x(client, _deleted("1111")).status_code == 200  # delivered twice: harmless
    rows = _dump(settings.database_url)
    assert said not in rows and "jane_doe" not in rows and "6253282" not in rows
    with session_for(settings.database_url) as session:
        [mention] = session.scalars(select(Mention)).all()
        assert mention.text == "[deleted by its author]" and mention.erased_reason == "deleted"
        assert mention.embedding is None and mention.url is None and mention.extra == {}
        assert len(session.scalars(select(Ticket)).all()) == len(tickets)
        assert session.scalars(select(MentionTombstone)).all() == []


def test_a_deletion_before_its_mention_wins(settings, app_config, worker_env):
    client = _x_client(settings, app_config)
    assert _post_x(client, _deleted("2222")).status_code == 200  # unknown yet: harmless, remembered
    created = {"for_user_id": "3001969357", "tweet_create_events": [tweet("2222", "@acme refund me now")]}
    answer = _post_x(client, created)
    assert answer.status_code == 200 and answer.get_json() == {"accepted": 0, "duplicates": 1}
    run_jobs(settings.redis_url, queues.CLASSIFY)
    with session_for(settings.database_url) as session:
        assert session.scalars(select(Mention)).all() == []
        assert session.scalars(select(Ticket)).all() == []


def test_created_and_deleted_in_one_payload_ends_erased(settings, app_config, worker_env):
    client = _x_client(settings, app_config)
    payload = {"for_user_id": "3001969357", "tweet_create_events": [tweet("3333", "@acme where is my parcel")],
               **_deleted("3333")}  # fmt: skip
    assert _post_x(client, payload).status_code == 200
    run_jobs(settings.redis_url, queues.CLASSIFY)
    with session_for(settings.database_url) as session:
        [mention] = session.scalars(select(Mention)).all()
        assert mention.erased_at is not None and mention.ticket_id is None
        assert session.scalars(select(Ticket)).all() == []


def test_parsers_read_deletions():
    assert x.deletions(_deleted("123")) == [("x", "123")]
    assert x.deletions({"tweet_delete_events": [{"status": {"id": 123}}, {"status": {"id": "abc"}}, "junk"]}) == [
        ("x", "123")]
    assert x.deletions({"tweet_create_events": []}) == [] and x.parse(_deleted("123")) == []
    page = {"object": "page", "entry": [{"id": "p1", "time": 1700000000, "changes": [
        {"field": "feed", "value": {"item": "comment", "verb": "remove", "comment_id": "p1_c9", "post_id": "p1_9"}},
        {"field": "feed", "value": {"item": "status", "verb": "remove", "post_id": "p1_8"}},
        {"field": "feed", "value": {"item": "comment", "verb": "hide", "comment_id": "p1_c7", "post_id": "p1_9"}},
    ]}]}  # fmt: skip
    assert meta.deletions(page) == [("facebook", "p1_c9"), ("facebook", "p1_8")]
    assert meta.parse(page) == []
    insta = {"object": "instagram", "entry": [{"id": "ig1", "time": 1700000000, "changes": [
        {"field": "comments", "value": {"id": "17865", "verb": "remove", "text": "gone", "from": {"id": "5"}}}]}]}
    assert meta.deletions(insta) == [("instagram", "17865")] and meta.parse(insta) == []


def test_api_token_names():
    assert split_api_token("alice:alice-token-0123456789abcdef") == ("alice", "alice-token-0123456789abcdef")
    assert split_api_token("bare-token-0123456789abcdef") == ("api", "bare-token-0123456789abcdef")
    assert split_api_token("bad name:token-0123456789abcdef") == ("api", "bad name:token-0123456789abcdef")


def test_named_token_actions_are_recorded_under_its_name(database_url, redis_url, app_config):
    settings = make_settings(database_url, redis_url, api_tokens=(NAMED_TOKEN, API_TOKEN))
    client = create_app(settings, app_config).test_client()
    ticket_id = open_ticket(database_url, app_config, text=TEXT)
    token = split_api_token(NAMED_TOKEN)[1]
    assert client.get("/api/v1/tickets", headers={"Authorization": f"Bearer {API_TOKEN}"}).status_code == 200
    assert client.get("/api/v1/tickets", headers={"Authorization": f"Bearer {NAMED_TOKEN}"}).status_code == 401
    answer = client.delete("/api/v1/customers/x/u42", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 202
    with session_for(database_url) as session:
        [event] = session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id,
                                                            TicketEvent.type == "erased")).all()  # fmt: skip
        assert event.actor == "alice"



# Retention.


def test_retention_rule_and_config():
    from datetime import UTC, datetime, timedelta

    import pytest

    from core.config import parse_config
    from core.config_sections import RetentionConfig
    from core.settings import ConfigError
    from workers.retention import is_due

    now = datetime(2026, 6, 1, tzinfo=UTC)
    keep = RetentionConfig(resolved=timedelta(days=90), not_complaint=timedelta(days=30))
    assert is_due(now - timedelta(days=91), False, keep, now) and not is_due(now - timedelta(days=89), False, keep, now)
    assert is_due(now - timedelta(days=31), True, keep, now) and not is_due(now - timedelta(days=29), True, keep, now)
    assert not is_due(None, True, keep, now) and not is_due(now - timedelta(days=999), True, RetentionConfig(), now)
    base = {"slack": {"default_channel": "#support"}}
    assert parse_config(base).retention == RetentionConfig()
    assert parse_config({**base, "retention": {"resolved": "90d", "not_complaint": "30d"}}).retention == keep
    for bad in ({"resolved": "soon"}, {"kept": "1d"}, {"resolved": "1h"}, "90d"):
        with pytest.raises(ConfigError, match="retention"):
            parse_config({**base, "retention": bad})


def test_retention_purges_only_what_is_due(settings, app_config, jobs, standin, app):
    from datetime import timedelta

    from core.config_sections import RetentionConfig
    from workers.retention import purge_once

    client = app.test_client()
    old, recent, not_complaint = (
        open_ticket(settings.database_url, app_config, text=f"{TEXT} {n}", external_id=f"r{n}") for n in (1, 2, 3)
    )
    now = utcnow()
    with transaction(settings.database_url) as session:
        for ticket_id, days in ((old, 100), (recent, 10)):
            lifecycle.resolve(session, session.get(Ticket, ticket_id), "U0AGENT01", now - timedelta(days=days))
        lifecycle.not_complaint(session, session.get(Ticket, not_complaint), "U0AGENT01", now - timedelta(days=40))
        session.add(Mention(source="x", external_id="praise", author_id="u7", author_handle="@fan", text="love it",
                            created_at=now - timedelta(days=45), received_at=now - timedelta(days=45),
                            processed_at=now - timedelta(days=45)))  # fmt: skip
        session.add(Mention(source="x", external_id="praise-new", author_id="u8", author_handle="@newfan",
                            text="love it too", created_at=now, received_at=now, processed_at=now))  # fmt: skip
    deliver.drain(["#support"])
    before = _figures(client)
    keep = RetentionConfig(resolved=timedelta(days=90), not_complaint=timedelta(days=30))
    with transaction(settings.database_url) as session:
        assert purge_once(session, keep, utcnow(), limit=2) == 2  # bounded
    with transaction(settings.database_url) as session:
        assert purge_once(session, keep, utcnow()) == 1
        assert purge_once(session, keep, utcnow()) == 0  # nothing more is due
        erased = {m.external_id: m.erased_reason for m in session.scalars(select(Mention))}
    assert erased == {"r1": "retention", "r2": None, "r3": "retention", "praise": "retention", "praise-new": None}
    deliver.drain(["#support"])
    assert _figures(client) == before
    rows = _dump(settings.database_url)
    assert f"{TEXT} 1" not in rows and f"{TEXT} 3" not in rows and "@fan" not in rows
    assert f"{TEXT} 2" in rows and "@newfan" in rows
