"""Public replies sent by the worker (workers.replies) against the X and Meta stand-ins over HTTP:
exactly one post whatever fails (429, 500 before or after posting, a timeout, a dead worker, two
workers at once), the response clock stopped when the platform answered, refusals handed back to
an agent with Retry, the webhook's echo of the post absorbed, and waiting on the customer."""

import json
import threading
from datetime import UTC, datetime, timedelta
from urllib.request import Request, urlopen

import pytest
from sqlalchemy import func, select

from integrations.platforms.replies import OutboundReply, ReplyConfig, client_for
from integrations.platforms.replies.config import STANDIN_META_TOKEN, STANDIN_X_TOKEN
from service import create_app
from standins.meta_graph import start_meta_standin_in_thread
from standins.x_api import start_x_standin_in_thread
from store.db import session_for, transaction
from store.schema import Mention, Reply, SlackMessage, Ticket, TicketEvent
from tests.conftest import make_settings, mention, post_generic, run_jobs
from tests.test_webhooks_x import BRAND_ID, CONSUMER_SECRET, OAUTH2_SECRET, activity, tweet
from tests.test_webhooks_x import post as post_x
from tickets import lifecycle, replies
from workers import context, queues
from workers.replies import MAX_ATTEMPTS, attempt, repair_due

T0 = datetime(2026, 11, 21, 14, 0, tzinfo=UTC)  # the customer posts
QUEUED_AT = T0 + timedelta(minutes=5)  # the agent answers
CUSTOMER_POST = {"x": "1881000000000000001", "facebook": "104000000000001_555"}
TEXT = "Sorry about that, Jane! Your booking is back & confirmed: https://example.com/help/booking?id=42"
AGENT = "U0AGENT01"


class Clock:
    """The worker's clock, moved by the test: each read is one second after the previous one, so the
    instant the platform answered is told apart from the claim before it and the commit after it."""

    def __init__(self, at: datetime):
        self.now = at

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def _control(base_url: str, path: str, spec=None):
    data = json.dumps(spec).encode() if spec is not None else None
    request = Request(base_url + path, data=data, method="POST" if spec is not None else "GET",
                      headers={"Content-Type": "application/json"})  # fmt: skip
    with urlopen(request, timeout=5) as answer:
        return json.loads(answer.read())


@pytest.fixture(scope="module")
def platforms():
    x_url, x_server = start_x_standin_in_thread()
    meta_url, meta_server = start_meta_standin_in_thread()
    yield {"x": x_url, "facebook": meta_url}
    x_server.shutdown()
    meta_server.shutdown()


@pytest.fixture
def stand_ins(platforms):
    """The stand-ins with no replies and no faults."""
    for url in platforms.values():
        _control(url, "/_standin/reset", {})
    return platforms


def _recorded(stand_ins, source: str = "x") -> list[dict]:
    return _control(stand_ins[source], "/_standin/replies")["replies"]


def _fault(stand_ins, source: str, kind: str, **spec) -> None:
    _control(stand_ins[source], "/_standin/faults", {"kind": kind, **spec})


def _config(stand_ins) -> ReplyConfig:
    return ReplyConfig(x_api_url=stand_ins["x"] + "/2/", x_user_access_token=STANDIN_X_TOKEN,
                       meta_graph_url=stand_ins["facebook"] + "/v21.0/", meta_page_access_token=STANDIN_META_TOKEN,
                       connect_timeout=2.0, read_timeout=0.4)  # fmt: skip


def _open_ticket(database_url: str, app_config, source: str = "x") -> int:
    """A ticket opened by the customer's post, as triage opens it (the model is not needed here)."""
    with transaction(database_url) as session:
        post = Mention(source=source, external_id=CUSTOMER_POST[source], author_id="u42", author_handle="@jane",
                       text="@acme my booking vanished", brand="acme", created_at=T0, received_at=T0,
                       processed_at=T0, needs_reply=True, urgency="normal", signals=[])  # fmt: skip
        session.add(post)
        session.flush()
        return lifecycle.open_ticket(session, post, "#support", app_config, T0).id


def _queue(database_url: str, ticket_id: int, at: datetime = QUEUED_AT, **options) -> int:
    with transaction(database_url) as session:
        return replies.queue_reply(session, session.get(Ticket, ticket_id), TEXT, AGENT, at, **options).id


def _state(database_url: str, reply_id: int) -> tuple[Reply, Ticket, list[TicketEvent]]:
    with session_for(database_url) as session:
        reply = session.get(Reply, reply_id)
        events = list(session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == reply.ticket_id)
                                      .order_by(TicketEvent.id)))  # fmt: skip
        return reply, session.get(Ticket, reply.ticket_id), events


@pytest.fixture
def send(settings, app_config, stand_ins):
    """One attempt of the send job at the worker's clock."""

    def run(reply_id: int, clock: Clock) -> str:
        return attempt(settings.database_url, reply_id, _config(stand_ins), app_config.sla, clock)

    return run


@pytest.mark.parametrize("source", ["x", "facebook"])
def test_a_queued_reply_is_posted_once_and_stops_the_clock_when_the_platform_answered(
    settings, app_config, stand_ins, send, source
):
    ticket_id = _open_ticket(settings.database_url, app_config, source)
    reply_id = _queue(settings.database_url, ticket_id)
    assert queues.queue(queues.REPLIES, settings.redis_url).count == 1  # the after-commit handler enqueued it

    clock = Clock(T0 + timedelta(minutes=10))
    assert send(reply_id, clock) == "sent"
    assert send(reply_id, clock) == "not due"

    [posted] = _recorded(stand_ins, source)
    assert posted.get("in_reply_to", posted.get("parent")) == CUSTOMER_POST[source]
    reply, ticket, events = _state(settings.database_url, reply_id)
    assert (reply.status, reply.external_id, reply.attempts) == ("sent", posted["id"], 1)
    assert reply.sent_at == reply.claimed_at + timedelta(seconds=1)  # the read right after the post answered
    assert ticket.first_response_met_at == reply.sent_at and not ticket.first_response_breached
    assert (ticket.status, ticket.claimed_by) == ("responded", AGENT)
    assert [(e.type, e.actor) for e in events if e.type.startswith("reply")] == [
        ("reply_queued", AGENT), ("reply_sent", AGENT)]  # fmt: skip
    with session_for(settings.database_url) as session:
        brand_post = session.scalars(select(Mention).filter_by(direction="outbound")).one()
        notes = [m.payload["text"] for m in session.scalars(select(SlackMessage).filter_by(kind="note"))]
    assert (brand_post.external_id, brand_post.ticket_id, brand_post.text) == (posted["id"], ticket_id, TEXT)
    assert brand_post.processed_at is not None and brand_post.in_reply_to == CUSTOMER_POST[source]
    assert f"Reply sent by {AGENT}:\n{TEXT}" in notes


def test_resolve_after_sending_resolves_once_sent(settings, app_config, stand_ins, send):
    reply_id = _queue(settings.database_url, _open_ticket(settings.database_url, app_config), resolve_after=True)
    _, before, _ = _state(settings.database_url, reply_id)
    assert before.status == "open"

    assert send(reply_id, Clock(T0 + timedelta(minutes=10))) == "sent"

    reply, ticket, events = _state(settings.database_url, reply_id)
    assert ticket.status == "resolved" and ticket.resolution_met_at == reply.sent_at
    assert [e.type for e in events][-2:] == ["reply_sent", "resolved"]


@pytest.mark.parametrize("source", ["x", "facebook"])
def test_a_rate_limit_is_waited_out_then_sent_once(settings, app_config, stand_ins, send, source):
    reply_id = _queue(settings.database_url, _open_ticket(settings.database_url, app_config, source))
    _fault(stand_ins, source, "rate_limit", retry_after=120)
    clock = Clock(T0 + timedelta(minutes=10))

    assert send(reply_id, clock) == "retry"
    reply, ticket, _ = _state(settings.database_url, reply_id)
    assert reply.status == "queued" and "rate limited" in reply.last_error
    assert timedelta(seconds=115) <= reply.next_attempt_at - reply.claimed_at <= timedelta(seconds=125)
    assert _recorded(stand_ins, source) == [] and ticket.first_response_met_at is None

    clock.advance(60)
    assert send(reply_id, clock) == "not due"
    clock.advance(70)
    assert send(reply_id, clock) == "sent"
    assert len(_recorded(stand_ins, source)) == 1


@pytest.mark.parametrize("source", ["x", "facebook"])
@pytest.mark.parametrize("fault", [{"kind": "error_before"}, {"kind": "error_after"}, {"kind": "slow", "delay": 1.5}],
                         ids=["500-before", "500-after", "timeout"])  # fmt: skip
def test_an_unanswered_post_is_looked_up_before_sending_again(settings, app_config, stand_ins, send, source, fault):
    reply_id = _queue(settings.database_url, _open_ticket(settings.database_url, app_config, source))
    _fault(stand_ins, source, **fault)
    clock = Clock(T0 + timedelta(minutes=10))

    assert send(reply_id, clock) == "unknown"
    assert _state(settings.database_url, reply_id)[0].status == "unknown"
    clock.advance(60)
    assert send(reply_id, clock) == "sent"

    [posted] = _recorded(stand_ins, source)  # a second post would be a duplicate (X refuses it) or a second reply
    reply, ticket, _ = _state(settings.database_url, reply_id)
    assert (reply.status, reply.external_id, reply.attempts) == ("sent", posted["id"], 2)
    assert ticket.first_response_met_at == reply.sent_at


def test_a_refused_reply_fails_to_the_agent_and_retries_once_asked(settings, app_config, stand_ins, send):
    ticket_id = _open_ticket(settings.database_url, app_config)
    reply_id = _queue(settings.database_url, ticket_id)
    _fault(stand_ins, "x", "denied")
    clock = Clock(T0 + timedelta(minutes=10))

    assert send(reply_id, clock) == "failed"
    clock.advance(3600)
    assert send(reply_id, clock) == "not due"  # a failed reply waits for an agent

    reply, ticket, events = _state(settings.database_url, reply_id)
    assert reply.status == "failed" and "403" in reply.last_error and _recorded(stand_ins) == []
    assert ticket.first_response_met_at is None and ticket.next_deadline_at is not None  # the clock runs on
    assert ticket.status == "open" and events[-1].type == "reply_failed"
    with session_for(settings.database_url) as session:
        [row] = session.scalars(select(SlackMessage).filter_by(kind="reply_failed"))
    assert (row.ticket_id, row.channel, row.payload["reply_id"]) == (ticket_id, "#support", reply_id)
    assert row.payload["text"].startswith(f"Reply by {AGENT} was not posted: ") and TEXT in row.payload["text"]

    with transaction(settings.database_url) as session:
        replies.retry_reply(session, session.get(Reply, reply_id), "U0AGENT02", clock())
    assert send(reply_id, clock) == "sent"

    reply, ticket, events = _state(settings.database_url, reply_id)
    assert len(_recorded(stand_ins)) == 1 and reply.status == "sent" and ticket.first_response_met_at == reply.sent_at
    assert [(e.type, e.actor) for e in events if e.type.startswith("reply")][-2:] == [
        ("reply_retry", "U0AGENT02"), ("reply_sent", AGENT)]  # fmt: skip


def test_attempts_are_bounded(settings, app_config, stand_ins, send):
    reply_id = _queue(settings.database_url, _open_ticket(settings.database_url, app_config))
    _fault(stand_ins, "x", "rate_limit", retry_after=1, count=MAX_ATTEMPTS + 1)
    clock = Clock(T0 + timedelta(minutes=10))

    outcomes = []
    for _ in range(MAX_ATTEMPTS):
        outcomes.append(send(reply_id, clock))
        clock.advance(1000)  # past the longest backoff

    assert outcomes == ["retry"] * (MAX_ATTEMPTS - 1) + ["failed"]
    reply, _, _ = _state(settings.database_url, reply_id)
    assert reply.status == "failed" and reply.last_error.startswith(f"gave up after {MAX_ATTEMPTS} attempts: ")


def test_a_dead_workers_claim_is_asked_about_never_resent(settings, app_config, stand_ins, send):
    reply_id = _queue(settings.database_url, _open_ticket(settings.database_url, app_config))
    claimed_at = T0 + timedelta(minutes=6)
    with transaction(settings.database_url) as session:
        held = replies.claim(session, reply_id, claimed_at)
    client = client_for("x", _config(stand_ins))  # the worker posts, then dies before it can record it
    client.send(OutboundReply(held.ticket_id, "x", held.in_reply_to, held.text, held.idempotency_key))
    client.close()
    queues.queue(queues.REPLIES, settings.redis_url).empty()

    assert repair_due(settings.database_url, settings.redis_url, claimed_at + timedelta(minutes=1)) == 0
    assert _state(settings.database_url, reply_id)[0].status == "sending"
    later = claimed_at + replies.STALE_CLAIM + timedelta(seconds=1)
    assert repair_due(settings.database_url, settings.redis_url, later) == 1
    assert _state(settings.database_url, reply_id)[0].status == "unknown"
    assert queues.queue(queues.REPLIES, settings.redis_url).count == 1

    assert send(reply_id, Clock(later)) == "sent"
    [posted] = _recorded(stand_ins)
    assert _state(settings.database_url, reply_id)[0].external_id == posted["id"]


def test_two_workers_sending_one_reply_post_once(settings, app_config, stand_ins, send):
    reply_id = _queue(settings.database_url, _open_ticket(settings.database_url, app_config))
    start, outcomes = threading.Barrier(4), []

    def worker():
        start.wait()
        outcomes.append(send(reply_id, Clock(T0 + timedelta(minutes=10))))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(outcomes) == ["not due"] * 3 + ["sent"]
    assert len(_recorded(stand_ins)) == 1
    assert _state(settings.database_url, reply_id)[0].attempts == 1


def test_the_job_runs_on_the_io_worker_with_the_environments_platforms(
    settings, app_config, stand_ins, worker_env, monkeypatch
):
    monkeypatch.setenv("X_API_URL", stand_ins["x"] + "/2/")
    monkeypatch.setenv("X_USER_ACCESS_TOKEN", STANDIN_X_TOKEN)
    context.reset()
    limited = _queue(settings.database_url, _open_ticket(settings.database_url, app_config),
                     at=datetime.now(UTC))  # fmt: skip
    _fault(stand_ins, "x", "rate_limit", retry_after=300)

    assert queues.REPLIES in queues.IO_QUEUES  # served by `python -m workers io`
    run_jobs(settings.redis_url, queues.REPLIES)

    reply, _, _ = _state(settings.database_url, limited)
    assert reply.status == "queued" and _recorded(stand_ins) == []
    scheduled = queues.queue(queues.REPLIES, settings.redis_url).scheduled_job_registry.get_job_ids()
    assert scheduled == [f"reply-send-{limited}-{int(reply.next_attempt_at.timestamp())}"]

    with transaction(settings.database_url) as session:
        session.get(Reply, limited).next_attempt_at = datetime.now(UTC)  # as if the wait were over
    assert repair_due(settings.database_url, settings.redis_url, datetime.now(UTC)) == 1
    run_jobs(settings.redis_url, queues.REPLIES)

    assert _state(settings.database_url, limited)[0].status == "sent" and len(_recorded(stand_ins)) == 1


def _echo(posted_id: str, text: str) -> dict:
    """The brand's reply as X's Account Activity webhook delivers it."""
    return activity(tweet(posted_id, text=text, user_id=BRAND_ID, screen_name="acme",
                          in_reply_to_status_id_str=CUSTOMER_POST["x"]))  # fmt: skip


@pytest.fixture
def x_webhook(database_url, redis_url, app_config):
    settings = make_settings(database_url, redis_url, x_consumer_secret=CONSUMER_SECRET,
                             x_oauth2_client_secret=OAUTH2_SECRET)  # fmt: skip
    return create_app(settings, app_config).test_client()


def test_the_platforms_echo_of_the_reply_is_a_duplicate(database_url, app_config, stand_ins, send, x_webhook):
    reply_id = _queue(database_url, _open_ticket(database_url, app_config))
    assert send(reply_id, Clock(T0 + timedelta(minutes=10))) == "sent"
    [posted] = _recorded(stand_ins)

    answer = post_x(x_webhook, _echo(posted["id"], posted["text"]))

    assert answer.status_code == 200 and answer.get_json() == {"accepted": 0, "duplicates": 1}
    with session_for(database_url) as session:
        assert session.scalar(select(func.count()).select_from(Ticket)) == 1
        assert session.scalar(select(func.count()).select_from(Mention)) == 2


def test_an_echo_stored_before_the_send_is_recorded_is_that_reply(database_url, app_config, stand_ins, send, x_webhook):
    reply_id = _queue(database_url, _open_ticket(database_url, app_config))
    # The stand-in numbers a reply after the post it answers: the id X will give this one.
    upcoming = str(int(CUSTOMER_POST["x"]) + 1)
    assert post_x(x_webhook, _echo(upcoming, "@jane " + TEXT)).get_json() == {"accepted": 1, "duplicates": 0}

    assert send(reply_id, Clock(T0 + timedelta(minutes=10))) == "sent"

    [posted] = _recorded(stand_ins)
    reply, ticket, _ = _state(database_url, reply_id)
    assert posted["id"] == upcoming == reply.external_id
    with session_for(database_url) as session:
        [brand_post] = session.scalars(select(Mention).filter_by(direction="outbound"))
    assert brand_post.ticket_id == ticket.id and brand_post.processed_at is not None  # triage leaves it alone
    assert ticket.first_response_met_at == reply.sent_at


FIRST = "@acme my order still hasn't arrived, it's been two weeks"
MORE = "@acme here is the order number you asked for: 77812, it still hasn't arrived"


def test_waiting_on_the_customer_pauses_until_they_write_again(client, settings, app_config, worker_env):
    first = mention("1881000000000000001", FIRST, created_at="2026-11-21T14:00:00Z")
    assert post_generic(client, first).status_code == 202
    run_jobs(settings.redis_url, queues.CLASSIFY)
    waited_at = T0 + timedelta(minutes=10)
    with transaction(settings.database_url) as session:
        ticket = session.scalars(select(Ticket)).one()
        due = ticket.first_response_due_at
        replies.wait_for_customer(session, ticket, AGENT, waited_at, app_config.sla)
    with session_for(settings.database_url) as session:
        paused = session.scalars(select(Ticket)).one()
        assert (paused.paused_at, paused.next_deadline_at) == (waited_at, None)

    again = mention("1881000000000000002", MORE, created_at="2026-11-21T15:10:00Z")
    assert post_generic(client, again).status_code == 202
    run_jobs(settings.redis_url, queues.CLASSIFY)

    with session_for(settings.database_url) as session:
        ticket = session.scalars(select(Ticket)).one()
        events = [(e.type, e.actor) for e in session.scalars(select(TicketEvent).order_by(TicketEvent.id))]
    assert ticket.paused_at is None and ticket.paused_seconds == 3600 and ticket.next_deadline_at is not None
    assert ticket.repeat_contacts == 0  # the customer answered us: not a repeat contact
    if ticket.urgency == paused.urgency:
        assert ticket.first_response_due_at == due + timedelta(hours=1)
    assert ("waiting", AGENT) in events and ("resumed", "earshot") in events
    assert events.index(("waiting", AGENT)) < events.index(("resumed", "earshot"))


def test_a_reply_whose_worker_dies_every_time_ends_failed_not_looping(settings, app_config, stand_ins, send):
    reply_id = _queue(settings.database_url, _open_ticket(settings.database_url, app_config))
    at = T0 + timedelta(minutes=6)
    for _ in range(MAX_ATTEMPTS):  # each claim's worker is killed by the job timeout before it records anything
        with transaction(settings.database_url) as session:
            assert replies.claim(session, reply_id, at) is not None
        at += replies.STALE_CLAIM + timedelta(seconds=1)
        repair_due(settings.database_url, settings.redis_url, at)
        assert _state(settings.database_url, reply_id)[0].status == "unknown"

    assert send(reply_id, Clock(at)) == "failed"
    reply = _state(settings.database_url, reply_id)[0]
    assert reply.status == "failed" and "the worker sending it stopped" in reply.last_error
    assert _recorded(stand_ins) == []  # nothing was posted, and the agent is asked (Retry looks first)
