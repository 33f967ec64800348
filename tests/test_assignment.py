"""Ownership (issue 20): a route's `assign:` pool gives each new ticket an owner, through the real
path: mentions triaged in batches (tickets.triage), the commit's ASSIGN_FILL effect queued as a
fill job, the job run (workers.assign). Fairness over 1,000 tickets, caps under two concurrent
workers, waiting tickets oldest first, away/back, the user picker, the agents API, the messages."""

import json
import os
import threading
from collections import Counter
from datetime import timedelta
from urllib.parse import urlencode

import numpy as np
import pytest
import yaml
from sqlalchemy import func, select

from core.config import parse_config
from core.timeutil import utcnow
from integrations.slack import blocks
from models.classifier import Prediction
from store.db import session_for, transaction
from store.schema import Agent, Mention, SlackMessage, Ticket, TicketEvent
from tests.conftest import API_TOKEN, run_jobs
from tests.slack_support import post_signed
from tickets import assignment, lifecycle, sla_checks
from tickets.triage import triage_batch
from workers import context

ALICE, BOB, CAROL = "U0ALICE", "U0BOB", "U0CAROL"
ROUTE = "0:#support"
_serial = iter(range(1, 10**9))


def _config_data(mode: str = "round_robin", max_open: int | None = None, pool=(ALICE, BOB, CAROL)) -> dict:
    assign = {"pool": list(pool), "mode": mode, **({"max_open": max_open} if max_open else {})}
    return {
        "slack": {"default_channel": "#support", "escalation_channel": "#support-escalations"},
        "routes": [{"match": {}, "channel": "#support", "assign": assign}],
        "incidents": {"enabled": False},
    }


@pytest.fixture
def config_data():
    return _config_data()


def _use(config_data: dict, **assign) -> None:
    """Change the pool's settings: for `app_config` (read later) and the jobs' configuration file
    (worker_env wrote it already)."""
    config_data.clear()
    config_data.update(_config_data(**assign))
    if os.environ.get("EARSHOT_CONFIG"):
        with open(os.environ["EARSHOT_CONFIG"], "w") as file:
            yaml.safe_dump(config_data, file)
        context.reset()


def open_tickets(database_url: str, config, count: int, batch: int = 64) -> list[int]:
    """`count` complaints from distinct customers, triaged in micro-batches as the model worker does;
    returns the ticket ids, oldest first."""
    now, opened = utcnow(), []
    for start in range(0, count, batch):
        with transaction(database_url) as session:
            mentions = []
            for _ in range(min(batch, count - start)):
                n = next(_serial)
                mentions.append(Mention(source="x", external_id=f"as-{n}", author_id=f"c{n}", author_handle=f"@c{n}",
                                        text="@acme my booking vanished", created_at=now - timedelta(minutes=1) +
                                        timedelta(microseconds=n), received_at=now, claimed_at=now))  # fmt: skip
            session.add_all(mentions)
            session.flush()
            unit = np.ones(8) / 8**0.5
            predictions = {m.id: Prediction(complaint=0.95, severity=3, needs_reply=True, embedding=unit)
                           for m in mentions}  # fmt: skip
            triage_batch(session, mentions, predictions, "test", config, fatal=())
            session.flush()
            opened += [m.ticket_id for m in mentions]
    return opened


def owners(database_url: str, ids: list[int]) -> list[str | None]:
    with session_for(database_url) as session:
        found = dict(session.execute(select(Ticket.id, Ticket.claimed_by).where(Ticket.id.in_(ids))).all())
    return [found[i] for i in ids]


def fill_jobs(redis_url: str) -> None:
    """Run the fill jobs the commits queued (and whatever else waits on the SLA queue now)."""
    run_jobs(redis_url, "sla")


@pytest.mark.parametrize("mode", ["round_robin", "least_loaded"])
def test_fairness_over_a_thousand_tickets(database_url, redis_url, config_data, worker_env, mode):
    _use(config_data, mode=mode)
    config = parse_config(config_data, "<test>")
    ids = open_tickets(database_url, config, 1000)
    fill_jobs(redis_url)
    counts = Counter(owners(database_url, ids))
    assert None not in counts and sum(counts.values()) == 1000
    assert max(counts.values()) - min(counts.values()) <= 1, counts
    if mode == "round_robin":  # in turn, in pool order
        assert owners(database_url, ids[:6]) == [ALICE, BOB, CAROL] * 2
    with session_for(database_url) as session:
        assigned = session.scalar(select(func.count()).where(TicketEvent.type == "assigned"))
    assert assigned == 1000  # once each


def test_least_loaded_evens_out_an_uneven_start_and_respects_the_cap(database_url, redis_url, config_data,
                                                                     worker_env):  # fmt: skip
    _use(config_data, mode="least_loaded", max_open=300)
    config = parse_config(config_data, "<test>")
    unrouted = open_tickets(database_url, parse_config({"incidents": {"enabled": False}}, "<test>"), 40)
    with transaction(database_url) as session:  # Alice already works 40 tickets she claimed herself
        for ticket_id in unrouted:
            lifecycle.claim(session, session.get(Ticket, ticket_id), ALICE, utcnow())
    ids = open_tickets(database_url, config, 1000)
    fill_jobs(redis_url)
    counts = Counter(owners(database_url, ids))
    # Room for 260 + 300 + 300; the others wait, the youngest last.
    assert counts == {ALICE: 260, BOB: 300, CAROL: 300, None: 140}
    assert set(owners(database_url, ids[-140:])) == {None}
    # While Bob and Carol were ahead of her, Alice got none: the least loaded take first.
    assert ALICE not in owners(database_url, ids[:80])


def _concurrent_worker(database_url: str, config, barrier: threading.Barrier, rounds: int, errors: list) -> None:
    try:
        for _ in range(rounds):
            open_tickets(database_url, config, 6, batch=6)
            barrier.wait(timeout=60)  # both fill at the same moment, each in its own session
            with transaction(database_url) as session:
                assignment.fill(session, ROUTE, config, utcnow())
    except BaseException as error:  # reported by the test, not lost in the thread
        errors.append(error)
        barrier.abort()


def test_two_concurrent_workers_never_exceed_a_cap_nor_assign_twice(database_url, redis_url, config_data):
    # Room for 6 in all, and 12 waiting when both fill the first time: without the route's lock the
    # second would count the owners before the first commits and hand out 6 more.
    _use(config_data, max_open=2)
    config = parse_config(config_data, "<test>")
    barrier, errors = threading.Barrier(2), []
    threads = [threading.Thread(target=_concurrent_worker, args=(database_url, config, barrier, 5, errors))
               for _ in range(2)]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    with session_for(database_url) as session:
        load = Counter(session.scalars(select(Ticket.claimed_by).where(Ticket.claimed_by.is_not(None))))
        events = Counter(session.scalars(select(TicketEvent.ticket_id).where(TicketEvent.type == "assigned")))
        waiting = session.scalar(select(func.count()).where(Ticket.claimed_by.is_(None)))
    assert load == {ALICE: 2, BOB: 2, CAROL: 2}  # 60 opened, room for 6
    assert set(events.values()) == {1} and len(events) == 6  # no ticket assigned twice
    assert waiting == 54


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # SQLite: one writer from BEGIN IMMEDIATE
def test_a_second_fill_waits_for_the_routes_lock_then_counts_the_first(database_url, redis_url, config_data,
                                                                         monkeypatch):  # fmt: skip
    """The interleaving that would break a cap, forced: the first worker holds the route and has
    counted; the second must wait on the lock (PostgreSQL's pg_stat_activity says so), not count too."""
    _use(config_data, max_open=2)
    config = parse_config(config_data, "<test>")
    with transaction(database_url) as session:  # the cursor row exists: only its lock can make one wait
        assignment.fill(session, ROUTE, config, utcnow())
    open_tickets(database_url, config, 12)
    counted, release, errors = threading.Event(), threading.Event(), []
    counting = assignment.open_counts

    def held_after_counting(session, agents):
        counts = counting(session, agents)
        if threading.current_thread().name == "first":
            counted.set()
            assert release.wait(timeout=60)
        return counts

    monkeypatch.setattr(assignment, "open_counts", held_after_counting)

    def fill() -> None:
        try:
            with transaction(database_url) as session:
                assignment.fill(session, ROUTE, config, utcnow())
        except BaseException as error:
            errors.append(error)

    first, second = threading.Thread(target=fill, name="first"), threading.Thread(target=fill, name="second")
    first.start()
    assert counted.wait(timeout=60)
    second.start()
    try:
        waiting = _wait_for_a_lock_wait(database_url)
    finally:
        release.set()
        first.join(timeout=60)
        second.join(timeout=60)
    assert waiting and not errors, errors
    with session_for(database_url) as session:
        load = Counter(session.scalars(select(Ticket.claimed_by).where(Ticket.claimed_by.is_not(None))))
    assert load == {ALICE: 2, BOB: 2, CAROL: 2}


def _wait_for_a_lock_wait(database_url: str, tries: int = 600) -> bool:
    """True once a session of this database waits on a row lock (polled, at most ~30 s)."""
    from sqlalchemy import text

    from store.db import get_engine

    with get_engine(database_url).connect() as connection:
        for _ in range(tries):
            found = connection.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"
            )).scalar()  # fmt: skip
            connection.rollback()  # a fresh snapshot of the statistics each time
            if found:
                return True
            threading.Event().wait(0.05)
    return False


def _slack_action(action: dict, user: str) -> bytes:
    payload = {"type": "block_actions", "user": {"id": user, "username": user.lower()}, "actions": [action],
               "channel": {"id": "C1"}, "message": {"ts": "1.0"}}  # fmt: skip
    return urlencode({"payload": json.dumps(payload)}).encode()


def _resolve(client, ticket_id: int, user: str):
    body = _slack_action({"action_id": "ticket_resolve", "type": "button", "value": str(ticket_id)}, user)
    return post_signed(client, "/slack/actions", body)


def test_waiting_tickets_go_oldest_first_when_one_resolves(database_url, redis_url, config_data, worker_env, settings):
    _use(config_data, max_open=1, pool=(ALICE, BOB))
    client = _client(settings, config_data)
    config = parse_config(config_data, "<test>")
    ids = open_tickets(database_url, config, 4)
    fill_jobs(redis_url)
    assert owners(database_url, ids) == [ALICE, BOB, None, None]
    assert _resolve(client, ids[1], BOB).status_code == 200
    fill_jobs(redis_url)
    assert owners(database_url, ids) == [ALICE, BOB, BOB, None]
    assert _resolve(client, ids[0], ALICE).status_code == 200
    fill_jobs(redis_url)
    assert owners(database_url, ids)[3] == ALICE


def _client(settings, config_data):
    """The app with the pool settings the test chose (the `app` fixture reads them before the test)."""
    from service import create_app

    app = create_app(settings, parse_config(config_data, "<test>"))
    app.config["TESTING"] = True
    return app.test_client()


def _command(client, text: str, user: str):
    body = urlencode({"command": "/earshot", "text": text, "user_id": user, "channel_id": "C1"}).encode()
    answer = post_signed(client, "/slack/commands", body)
    assert answer.status_code == 200
    return answer.get_json()["text"]


def test_away_returns_waiting_tickets_and_back_fills(database_url, redis_url, config_data, worker_env, settings):
    _use(config_data, max_open=2, pool=(ALICE, BOB))
    client = _client(settings, config_data)
    config = parse_config(config_data, "<test>")
    ids = open_tickets(database_url, config, 5)
    fill_jobs(redis_url)
    assert owners(database_url, ids) == [ALICE, BOB, ALICE, BOB, None]
    with transaction(database_url) as session:  # Alice answered her second: it stays hers
        lifecycle.mark_responded(session, session.get(Ticket, ids[2]), ALICE, utcnow(), config)
    answer = _command(client, "away", ALICE)
    assert "away" in answer and "1 unanswered ticket" in answer
    # Her unanswered ticket went back; Bob is full, so it waits, oldest first, with the younger one.
    assert owners(database_url, ids) == [None, BOB, ALICE, BOB, None]
    with session_for(database_url) as session:
        assert session.get(Agent, ALICE).away is True
        events = session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ids[0])).all()
    assert [e.type for e in events][-1] == "unassigned" and events[-1].actor == ALICE
    assert _resolve(client, ids[1], BOB).status_code == 200  # room with Bob: the away agent is skipped
    fill_jobs(redis_url)
    assert owners(database_url, ids) == [BOB, BOB, ALICE, BOB, None]
    assert "Welcome back" in _command(client, "back", ALICE)
    assert owners(database_url, ids)[4] == ALICE  # back: her pool filled at once
    with session_for(database_url) as session:
        assert session.get(Agent, ALICE).away is False


def test_the_user_picker_reassigns_and_frees_the_previous_owners_room(database_url, redis_url, config_data,
                                                                      worker_env, settings):  # fmt: skip
    _use(config_data, max_open=1, pool=(ALICE, BOB))
    client = _client(settings, config_data)
    config = parse_config(config_data, "<test>")
    ids = open_tickets(database_url, config, 3)
    fill_jobs(redis_url)
    assert owners(database_url, ids) == [ALICE, BOB, None]
    picked = {"action_id": "ticket_assign", "type": "users_select", "block_id": f"ticket:{ids[0]}",
              "selected_user": CAROL}  # fmt: skip
    assert post_signed(client, "/slack/actions", _slack_action(picked, BOB)).status_code == 200
    fill_jobs(redis_url)
    assert owners(database_url, ids) == [CAROL, BOB, ALICE]  # Carol by hand; Alice's room to the waiting one
    with session_for(database_url) as session:
        event = session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ids[0],
                                                          TicketEvent.type == "reassigned")).one()  # fmt: skip
    assert event.actor == BOB and event.data["agent"] == CAROL and event.data["previous"] == ALICE
    bad = dict(picked, selected_user="@channel")
    assert post_signed(client, "/slack/actions", _slack_action(bad, BOB)).status_code == 400
    no_block = {k: v for k, v in picked.items() if k != "block_id"}
    assert post_signed(client, "/slack/actions", _slack_action(no_block, BOB)).status_code == 400


def test_agents_api_reports_load_away_and_first_response(database_url, redis_url, config_data, worker_env, settings):
    _use(config_data, pool=(ALICE, BOB))
    client = _client(settings, config_data)
    config = parse_config(config_data, "<test>")
    ids = open_tickets(database_url, config, 4)
    fill_jobs(redis_url)
    with transaction(database_url) as session:
        lifecycle.mark_responded(session, session.get(Ticket, ids[0]), ALICE, utcnow(), config)  # met
        breached = session.get(Ticket, ids[2])  # Alice's other: breached
        breached.first_response_breached = True
        lifecycle.resolve(session, session.get(Ticket, ids[1]), BOB, utcnow())
    _command(client, "away", BOB)
    auth = {"Authorization": f"Bearer {API_TOKEN}"}
    assert client.get("/api/v1/agents").status_code == 401
    body = client.get("/api/v1/agents?window=24h", headers=auth).get_json()
    agents = {row["id"]: row for row in body["agents"]}
    assert list(agents) == [ALICE, BOB]
    # Bob's unanswered ticket came back to the pool when he went away, and went to Alice.
    assert agents[ALICE]["open_tickets"] == 3 and agents[ALICE]["assigned"] == 3 and not agents[ALICE]["away"]
    assert agents[ALICE]["first_response"] == {"met": 1, "breached": 1, "met_rate": 0.5}
    assert agents[BOB]["away"] is True and agents[BOB]["away_since"].endswith("Z")
    assert agents[BOB]["open_tickets"] == 0
    assert agents[BOB]["assigned"] == 2
    assert client.get("/api/v1/agents?window=1y", headers=auth).status_code == 400


def test_parent_message_and_sla_warning_mention_the_owner(database_url, redis_url, config_data, worker_env):
    config = parse_config(config_data, "<test>")
    [ticket_id] = open_tickets(database_url, config, 1)
    fill_jobs(redis_url)
    with transaction(database_url) as session:
        ticket = session.get(Ticket, ticket_id)
        message = blocks.ticket_message(ticket, None)
        context = " ".join(e["text"] for b in message.blocks if b["type"] == "context" for e in b["elements"])
        assert f"assigned to <@{ALICE}>" in context
        picker = next(e for b in message.blocks if b["type"] == "actions" for e in b["elements"]
                      if e["action_id"] == "ticket_assign")  # fmt: skip
        assert picker["type"] == "users_select" and picker["initial_user"] == ALICE
        warn_at = ticket.created_at + (ticket.first_response_due_at - ticket.created_at) * 0.8
        assert [a.kind for a in sla_checks.check_locked(session, ticket, config.sla, config.slack, warn_at)] == [
            "warning"]  # fmt: skip
        notes = select(SlackMessage).where(SlackMessage.ticket_id == ticket_id,
                                           SlackMessage.dedupe_key.like("note:sla:%:warning:%"))  # fmt: skip
        note = session.scalars(notes).one()
    assert note.payload["mentions"] == [f"<@{ALICE}>"]
    rendered = blocks.note_message(note.payload["text"], " ".join(note.payload["mentions"]))
    assert rendered.blocks[0]["text"]["text"].startswith(f"<@{ALICE}> SLA warning")


def test_a_route_without_a_pool_leaves_tickets_unassigned(database_url, redis_url, worker_env):
    config = parse_config({"incidents": {"enabled": False}}, "<test>")
    ids = open_tickets(database_url, config, 3)
    fill_jobs(redis_url)
    assert owners(database_url, ids) == [None, None, None]
    with session_for(database_url) as session:
        assert session.scalar(select(func.count()).where(Ticket.route.is_not(None))) == 0
