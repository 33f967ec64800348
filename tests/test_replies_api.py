"""`POST /api/v1/tickets/{id}/replies` and the ticket's `replies`, sent through the X stand-in over HTTP;
first responses reported as verified (a reply that went out) or marked (a Responded click)."""

import re
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from core.timeutil import parse_instant, utcnow
from service import create_app
from standins.x_api import start_x_standin_in_thread
from store.db import session_for, transaction
from store.schema import Reply, Ticket, TicketEvent
from tests.conftest import API_TOKEN, make_settings, run_jobs
from tests.seeding import seed_ticket
from tests.slack_support import open_ticket, post_signed, submission_body
from tests.test_dashboard import log_in
from tools.faults_replies import PLATFORM_CREDENTIALS
from workers import context, queues

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
TWEET = "1790000000000000042"


@pytest.fixture(autouse=True)
def _no_platform_credentials(monkeypatch):
    """Replies go to the stand-ins, and other sources have nowhere to go, whatever this machine sets."""
    for name in PLATFORM_CREDENTIALS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def x_standin(monkeypatch, worker_env):
    url, server = start_x_standin_in_thread()
    monkeypatch.setenv("X_STANDIN_PORT", url.rsplit(":", 1)[1])
    context.reset()  # the workers' reply configuration is read once per process
    yield url
    server.shutdown()


def reply(client, ticket_id, headers=AUTH, **body):
    return client.post(f"/api/v1/tickets/{ticket_id}/replies", json=body, headers=headers)


def ticket_body(client, ticket_id) -> dict:
    return client.get(f"/api/v1/tickets/{ticket_id}", headers=AUTH).get_json()


def replies_stored(database_url: str) -> int:
    with session_for(database_url) as session:
        return session.scalar(select(func.count()).select_from(Reply))


def test_a_reply_is_queued_then_sent_once_through_the_x_standin(client, settings, app_config, x_standin):
    import requests

    ticket_id = open_ticket(settings.database_url, app_config, external_id=TWEET)
    answer = reply(client, ticket_id, text="So sorry, Jane: the refund is on its way.")
    assert answer.status_code == 202, answer.get_json()
    queued = answer.get_json()
    assert queued["id"].isdigit() and queued["text"] == "So sorry, Jane: the refund is on its way."
    shown = (queued["status"], queued["external_id"], queued["sent_at"], queued["actor"])
    assert shown == ("queued", None, None, "api")
    assert ticket_body(client, ticket_id)["replies"] == [queued]
    assert requests.get(f"{x_standin}/_standin/replies").json()["replies"] == []

    run_jobs(settings.redis_url, queues.REPLIES)

    [posted] = requests.get(f"{x_standin}/_standin/replies").json()["replies"]
    assert posted["in_reply_to"] == TWEET and posted["sent_text"] == queued["text"]
    body = ticket_body(client, ticket_id)
    [sent] = body["replies"]
    assert (sent["id"], sent["status"], sent["external_id"]) == (queued["id"], "sent", posted["id"])
    assert body["status"] == "responded"
    assert body["sla"]["first_response"]["met_at"] == sent["sent_at"]  # the clock stopped when it was sent
    assert [e["type"] for e in body["events"] if e["type"].startswith("reply")] == ["reply_queued", "reply_sent"]
    listing = client.get("/api/v1/tickets", headers=AUTH).get_json()["tickets"]
    [listed] = [t for t in listing if t["id"] == str(ticket_id)]
    assert listed["replies"] == [sent]
    run_jobs(settings.redis_url, queues.REPLIES)  # nothing left to send: still one post
    assert len(requests.get(f"{x_standin}/_standin/replies").json()["replies"]) == 1
    summary = client.get("/api/v1/sla/summary", headers=AUTH).get_json()
    assert summary["first_responses"] == {"verified": 1, "marked": 0}


def test_resolve_after_sending(client, settings, app_config, x_standin):
    ticket_id = open_ticket(settings.database_url, app_config, external_id=TWEET)
    assert reply(client, ticket_id, text="Fixed now, thanks for your patience.", resolve=True).status_code == 202
    assert ticket_body(client, ticket_id)["status"] == "open"
    run_jobs(settings.redis_url, queues.REPLIES)
    assert ticket_body(client, ticket_id)["status"] == "resolved"


@pytest.mark.parametrize(
    "body, field",
    [({"text": ""}, "text"), ({"text": " \n "}, "text"), ({"text": "é" * 281}, "text"),
     ({"text": "🙂" * 141}, "text"), ({"text": 42}, "text"), ({"text": None}, "text"), ({}, "text"),
     ({"text": ["hi"]}, "text"), ({"text": "ok", "resolve": "yes"}, "resolve")],
    ids=["empty", "blank", "281-characters", "emoji-over-280-weighted", "number", "null", "missing", "list",
         "resolve-not-boolean"],
)  # fmt: skip
def test_bad_text_is_a_400_naming_the_field_and_queues_nothing(client, settings, app_config, body, field):
    ticket_id = open_ticket(settings.database_url, app_config, external_id=TWEET)
    answer = client.post(f"/api/v1/tickets/{ticket_id}/replies", json=body, headers=AUTH)
    assert answer.status_code == 400 and answer.get_json()["field"] == field, answer.get_json()
    assert replies_stored(settings.database_url) == 0


def test_a_body_that_is_not_json_is_a_400(client, settings, app_config):
    ticket_id = open_ticket(settings.database_url, app_config, external_id=TWEET)
    for data, content_type in (("text=hi", "application/x-www-form-urlencoded"), ("{not json", "application/json")):
        answer = client.post(f"/api/v1/tickets/{ticket_id}/replies", data=data, content_type=content_type,
                             headers=AUTH)  # fmt: skip
        assert answer.status_code == 400 and "error" in answer.get_json()
    assert reply(client, ticket_id, text="x" * 280).status_code == 202  # X's limit exactly


@pytest.mark.parametrize("ticket_id, status", [("424242", 404), ("99999999999999999999", 400), ("abc", 400)])
def test_unknown_or_malformed_ticket(client, ticket_id, status):
    assert reply(client, ticket_id, text="hello").status_code == status


def test_refusals_are_409_or_422_and_queue_nothing(client, settings):
    now = utcnow()
    with transaction(settings.database_url) as session:
        resolved = seed_ticket(session, now, status="resolved").id
        forum = seed_ticket(session, now, source="forum").id
    answer = reply(client, resolved, text="hello again")
    assert answer.status_code == 409 and answer.get_json()["error"] == "ticket is resolved"
    answer = reply(client, forum, text="hello")  # no client for it, and no REPLY_WEBHOOK_URL
    assert answer.status_code == 422 and "REPLY_WEBHOOK_URL" in answer.get_json()["error"]
    assert replies_stored(settings.database_url) == 0


def test_the_api_token_name_is_the_actor(database_url, redis_url, app_config):
    named = create_app(make_settings(database_url, redis_url, api_tokens=(f"helpdesk-bot:{API_TOKEN}",)), app_config)
    client = named.test_client()
    ticket_id = open_ticket(database_url, app_config, external_id=TWEET)
    assert reply(client, ticket_id, text="On it.").get_json()["actor"] == "helpdesk-bot"
    with session_for(database_url) as session:
        [(stored, event_actor)] = session.execute(
            select(Reply.actor, TicketEvent.actor).join(TicketEvent, TicketEvent.ticket_id == Reply.ticket_id)
            .where(TicketEvent.type == "reply_queued")
        ).all()  # fmt: skip
    assert stored == event_actor == "helpdesk-bot"


def test_a_worker_holding_a_reply_still_shows_queued(client, settings):
    now = utcnow()
    with transaction(settings.database_url) as session:
        ticket_id = seed_ticket(session, now).id
        for n, status in enumerate(("sending", "unknown", "failed", "sent")):
            session.add(Reply(ticket_id=ticket_id, source="x", in_reply_to="1", text=f"r{n}", actor="U1", status=status,
                              idempotency_key=f"k{n}", last_error="refused" if status == "failed" else None,
                              external_id="99" if status == "sent" else None, sent_at=now if status == "sent" else None,
                              created_at=now))  # fmt: skip
    shown = [(r["status"], r["error"], r["external_id"]) for r in ticket_body(client, ticket_id)["replies"]]
    assert shown == [("queued", None, None), ("queued", None, None), ("failed", "refused", None), ("sent", None, "99")]


def _answered(session, created, kinds: tuple[str, ...], source: str = "x") -> Ticket:
    """A ticket whose first response was met 10 minutes in, with these events in this order."""
    ticket = seed_ticket(session, created, source=source, answered_after=timedelta(minutes=10))
    for n, kind in enumerate(kinds):
        session.add(TicketEvent(ticket_id=ticket.id, type=kind, actor="U1", at=created + timedelta(minutes=10 + n)))
    session.flush()
    return ticket


def test_reports_tell_verified_replies_from_responded_clicks(client, settings):
    created = utcnow() - timedelta(hours=2)
    with transaction(settings.database_url) as session:
        _answered(session, created, ("reply_sent",))
        _answered(session, created, ("public_reply", "responded"))  # the brand's own post came first
        _answered(session, created, ("responded",))
        _answered(session, created, ("responded", "reply_sent"), source="facebook")  # clicked, then replied
        _answered(session, created, ())  # answered before events were kept: neither
        seed_ticket(session, created)  # not answered
        seed_ticket(session, created - timedelta(days=3), answered_after=timedelta(days=3, hours=1),
                    claimed_by="U9")  # created before the window, clicked Responded within the last 24 h
    summary = client.get("/api/v1/sla/summary", headers=AUTH).get_json()
    assert summary["first_responses"] == {"verified": 2, "marked": 2}
    assert summary["overall"]["responded"] == 5
    only_x = client.get("/api/v1/sla/summary", query_string={"source": "x"}, headers=AUTH).get_json()
    assert only_x["first_responses"] == {"verified": 2, "marked": 1}

    said = post_signed(client, "/slack/commands", urlencode({"text": "sla", "user_id": "U0LEAD"}).encode())
    line = [text for text in said.get_json()["text"].splitlines() if "verified" in text]
    # /earshot sla counts the first responses given in the last 24 h, the older ticket's among them
    assert line and re.search(r"2 verified .* 3 marked", line[0]), line

    log_in(client)
    page = client.get("/dashboard").get_data(as_text=True)
    assert re.search(r'id="first-verified">2<', page) and re.search(r'id="first-marked">2<', page)


def test_summary_counts_nothing_without_answers(client):
    body = client.get("/api/v1/sla/summary", headers=AUTH).get_json()
    assert body["first_responses"] == {"verified": 0, "marked": 0}
    assert parse_instant(body["until"]) - parse_instant(body["since"]) == timedelta(hours=24)


def test_a_reply_from_the_slack_modal_goes_out_once_and_its_echo_is_absorbed(client, settings, app_config, x_standin):
    """The whole path: the modal's submission, the send job, the X API, the ticket, the platform's echo."""
    import requests

    from tests.test_webhooks_x import BRAND_ID, CONSUMER_SECRET, OAUTH2_SECRET, activity, tweet
    from tests.test_webhooks_x import post as post_x

    ticket_id = open_ticket(settings.database_url, app_config, external_id=TWEET)
    answer = post_signed(client, "/slack/actions", submission_body(ticket_id, "Sorry! Rebooked you on the 6 pm."))
    assert answer.status_code == 200 and not answer.data  # an empty 200 closes the modal
    run_jobs(settings.redis_url, queues.REPLIES)
    run_jobs(settings.redis_url, queues.REPLIES)  # a second pass has nothing to send

    [posted] = requests.get(f"{x_standin}/_standin/replies").json()["replies"]
    assert posted["in_reply_to"] == TWEET and posted["sent_text"] == "Sorry! Rebooked you on the 6 pm."
    body = ticket_body(client, ticket_id)
    [sent] = body["replies"]
    assert (sent["status"], sent["external_id"], sent["actor"]) == ("sent", posted["id"], "U0AGENT01")
    assert body["sla"]["first_response"]["met_at"] == sent["sent_at"]

    x_settings = make_settings(settings.database_url, settings.redis_url, x_consumer_secret=CONSUMER_SECRET,
                               x_oauth2_client_secret=OAUTH2_SECRET)  # fmt: skip
    webhook = create_app(x_settings, app_config).test_client()
    echo = activity(tweet(posted["id"], text=posted["text"], user_id=BRAND_ID, screen_name="acme",
                          in_reply_to_status_id_str=TWEET))  # fmt: skip
    answer = post_x(webhook, echo)
    assert answer.get_json() == {"accepted": 0, "duplicates": 1}  # stored at send time: never a second mention
    with session_for(settings.database_url) as session:
        assert session.scalar(select(func.count()).select_from(Ticket)) == 1
