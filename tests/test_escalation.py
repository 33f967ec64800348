"""The escalation ladder, Acknowledge, paging and SLA policies on conditions, against a real database
and the PagerDuty stand-in over HTTP: each level fired once with two SLA workers racing, the page
triggered once, acknowledged by Acknowledge and resolved when the clock is met or the ticket resolved."""

import json
import threading
from datetime import UTC, datetime, timedelta
from urllib.request import Request, urlopen

import pytest
import yaml
from sqlalchemy import select

from integrations.paging.config import STANDIN_ROUTING_KEY
from integrations.slack import actions, blocks
from integrations.slack.attempt import Send
from integrations.slack.kinds import KINDS
from standins.pagerduty import start_pagerduty_standin_in_thread
from store import pages as pages_store
from store.db import session_for, transaction
from store.schema import Mention, SlackMessage, SlaClockState, SlaEscalation, Ticket, TicketEvent
from tests.conftest import run_jobs
from tickets import lifecycle, pages, replies
from tickets.serialize import ticket_json
from triage import sla as rules
from workers import context, paging, queues
from workers import sla as jobs

T0 = datetime(2026, 11, 21, 14, 0, tzinfo=UTC)
BREACH = T0 + timedelta(minutes=20)  # critical first response: 20m
CONFIG = {
    "slack": {"escalation_channel": "#support-escalations", "escalation_mentions": ["<!subteam^S0ONCALL>"]},
    "sla": {
        "warn_at": 0.75,
        "remind_every": "15m",
        "policies": {"critical": {"first_response": "20m", "next_response": "30m", "resolution": "8h"}},
        "escalation": [
            {"after": "0s", "mention": ["owner", "<!subteam^S0ONCALL>"]},
            {"after": "10m", "mention": ["<!subteam^S0LEADS>"], "channel": "#support-leads", "page": True},
            {"after": "30m", "mention": ["U0HEAD"]},
        ],
        "rules": [{"name": "vip", "match": {"min_followers": 100000},
                   "policies": {"critical": {"first_response": "5m"}, "high": {"first_response": "10m"}}}],
    },
}  # fmt: skip


def _call(base: str, path: str, body: dict | None = None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    with urlopen(Request(base + path, data=data, headers={"Content-Type": "application/json"})) as answer:
        return json.load(answer)


@pytest.fixture(scope="module")
def standin():
    url, server = start_pagerduty_standin_in_thread()
    yield url
    server.shutdown()


@pytest.fixture
def pagerduty(standin):
    _call(standin, "/_standin/reset", {})
    return standin


def _configure(tmp_path, monkeypatch, database_url, pagerduty_url: str | None):
    path = tmp_path / "earshot.yml"
    path.write_text(yaml.safe_dump(CONFIG))
    monkeypatch.setenv("EARSHOT_CONFIG", str(path))
    monkeypatch.setenv("DATABASE_URL", database_url)
    for name in ("PAGERDUTY_ROUTING_KEY", "PAGERDUTY_EVENTS_URL", "ONCALL_WEBHOOK_URL"):
        monkeypatch.delenv(name, raising=False)
    if pagerduty_url:
        monkeypatch.setenv("PAGERDUTY_ROUTING_KEY", STANDIN_ROUTING_KEY)
        monkeypatch.setenv("PAGERDUTY_EVENTS_URL", pagerduty_url + "/v2/enqueue")
    context.reset()
    return context.app_context()[1]


@pytest.fixture
def config(database_url, redis_url, tmp_path, monkeypatch, pagerduty):
    """The SLA worker's configuration with paging to the stand-in, as a worker reads it."""
    yield _configure(tmp_path, monkeypatch, database_url, pagerduty)
    context.reset()


@pytest.fixture
def unpaged(database_url, redis_url, tmp_path, monkeypatch):
    """The same, with no paging variable set."""
    yield _configure(tmp_path, monkeypatch, database_url, None)
    context.reset()


def open_ticket(url: str, sla, owner: str | None = "U0ALICE") -> int:
    with transaction(url) as session:
        ticket = Ticket(status="claimed" if owner else "open", urgency="critical", source="x", author_id="u42",
                        channel="#support", created_at=T0, updated_at=T0, claimed_by=owner)  # fmt: skip
        session.add(ticket)
        session.flush()
        rules.start(ticket, sla)
        session.add(Mention(source="x", external_id=f"tw-{ticket.id}", author_id="u42", text="@acme where is it",
                            created_at=T0, received_at=T0, ticket_id=ticket.id, urgency="critical"))  # fmt: skip
        return ticket.id


def race(*calls) -> list:
    """Run the calls at once in threads (each opens its own sessions); their results, in call order."""
    start, results, errors = threading.Barrier(len(calls)), [None] * len(calls), []

    def run(index, call):
        try:
            start.wait()
            results[index] = call()
        except Exception as error:  # surfaced below: a failure in a thread must fail the test
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return results


def two_sweepers(url: str, sla, now: datetime) -> list:
    return race(lambda: jobs.sweep_due(url, sla, now), lambda: jobs.sweep_due(url, sla, now))


def two_checks(url: str, sla, ticket_id: int, now: datetime) -> list:
    def check():
        session = session_for(url)
        try:
            announced = jobs.check(session, ticket_id, sla, now)
            session.commit()
            return announced
        finally:
            session.close()

    return race(check, check)


def escalations(url: str) -> list[tuple[str, list[str], str]]:
    """(channel, mentions, text) of every escalation message queued, oldest first."""
    with transaction(url) as session:
        rows = session.scalars(select(SlackMessage).where(SlackMessage.kind == "escalation").order_by(SlackMessage.id))
        return [(row.channel, row.payload["mentions"], row.payload["text"]) for row in rows]


def notes(url: str) -> list[str]:
    with transaction(url) as session:
        rows = session.scalars(select(SlackMessage).where(SlackMessage.kind == "note").order_by(SlackMessage.id))
        return [row.payload["text"] for row in rows]


def fired(url: str) -> list[int]:
    with transaction(url) as session:
        return list(session.scalars(select(SlaEscalation.level).order_by(SlaEscalation.level)))


def page_state(url: str, ticket_id: int, clock: str = "first_response") -> SlaClockState:
    with transaction(url) as session:
        return session.scalars(select(SlaClockState).where(SlaClockState.ticket_id == ticket_id,
                                                           SlaClockState.clock == clock)).one()  # fmt: skip


def send_page(url: str, state_id: int, at: datetime) -> str:
    return paging.attempt(url, state_id, context.paging_config(), clock=lambda: at)


def alerts(pagerduty: str) -> list[dict]:
    return _call(pagerduty, "/_standin/incidents")["incidents"]


def events(pagerduty: str) -> list[str]:
    return [event["event_action"] for event in _call(pagerduty, "/_standin/replies")["replies"]]


def climb_to_the_page(url: str, sla, ticket_id: int) -> SlaClockState:
    """Breach, level 0, level 1 (which pages), the page sent."""
    jobs.sweep_due(url, sla, BREACH + timedelta(minutes=1))
    jobs.sweep_due(url, sla, BREACH + timedelta(minutes=11))
    state = page_state(url, ticket_id)
    assert send_page(url, state.id, BREACH + timedelta(minutes=12)) == "sent"
    return state


def test_a_breach_walks_the_ladder_once_per_level_with_two_sla_workers(database_url, config, pagerduty):
    sla = config.sla
    ticket_id = open_ticket(database_url, sla)

    assert sorted(two_sweepers(database_url, sla, BREACH + timedelta(minutes=1))) == [0, 1]  # the breach, once
    assert escalations(database_url) == [
        ("#support-escalations", ["<@U0ALICE>", "<!subteam^S0ONCALL>"],
         f"SLA breached: first response was due at 2026-11-21T14:20:00Z (critical ticket #{ticket_id}). "
         "Channel #support, source x.")]  # fmt: skip
    with transaction(database_url) as session:
        assert session.get(Ticket, ticket_id).next_deadline_at == BREACH + timedelta(minutes=10)  # level 1, not 15

    two_checks(database_url, sla, ticket_id, BREACH + timedelta(minutes=10))  # the check jobs at level 1
    [_, (channel, mentions, text)] = escalations(database_url)
    assert (channel, mentions) == ("#support-leads", ["<!subteam^S0LEADS>"])
    assert text.startswith("SLA escalation, level 2 of 3: first response of critical ticket")
    assert "Paging on-call." in text
    assert sum("level 2 of 3" in note for note in notes(database_url)) == 1  # and in the ticket's thread
    state = page_state(database_url, ticket_id)
    assert (state.page_wanted, state.page_sent, state.page_level) == ("triggered", None, 1)

    at = BREACH + timedelta(minutes=11)
    assert sorted(race(lambda: send_page(database_url, state.id, at),
                       lambda: send_page(database_url, state.id, at))) == ["not due", "sent"]  # fmt: skip
    two_sweepers(database_url, sla, BREACH + timedelta(minutes=31))
    two_sweepers(database_url, sla, BREACH + timedelta(minutes=45))

    assert [channel for channel, _, _ in escalations(database_url)] == [
        "#support-escalations", "#support-leads", "#support-escalations"]  # fmt: skip
    assert escalations(database_url)[2][1] == ["<@U0HEAD>"]
    assert fired(database_url) == [0, 1, 2]
    assert events(pagerduty) == ["trigger"]
    [alert] = alerts(pagerduty)
    assert (alert["dedup_key"], alert["state"], alert["triggers"]) == (f"earshot-{ticket_id}-first_response",
                                                                      "triggered", 1)  # fmt: skip
    with transaction(database_url) as session:
        types = session.scalars(select(TicketEvent.type).where(TicketEvent.ticket_id == ticket_id)).all()
        assert session.get(Ticket, ticket_id).next_deadline_at == BREACH + timedelta(minutes=60)  # reminders only
    assert types.count("sla_breach") == 1 and types.count("sla_escalation") == 2


def _escalation_rows(session) -> list[SlackMessage]:
    query = select(SlackMessage).where(SlackMessage.kind == "escalation").order_by(SlackMessage.id)
    return list(session.scalars(query))


def _has_acknowledge(session, row: SlackMessage) -> bool:
    """Whether the escalation message, rendered for delivery now, carries the Acknowledge button."""
    send = Send(row_id=row.id, kind=row.kind, channel=row.channel, dedupe_key=row.dedupe_key, attempts=0,
                created_at=0.0, message=blocks.Message("", []), ticket_id=row.ticket_id)  # fmt: skip
    rendered = KINDS[row.kind].render(session, row, session.get(Ticket, row.ticket_id), send, None)
    return actions.ACKNOWLEDGE in json.dumps(rendered.message.blocks)


def test_acknowledge_stops_further_levels_and_acknowledges_the_page(database_url, config, pagerduty):
    sla = config.sla
    ticket_id = open_ticket(database_url, sla)
    state = climb_to_the_page(database_url, sla, ticket_id)
    with transaction(database_url) as session:
        ticket = session.get(Ticket, ticket_id)
        assert actions.ACKNOWLEDGE in json.dumps(blocks.ticket_message(ticket, None).blocks)

        assert [_has_acknowledge(session, row) for row in _escalation_rows(session)] == [True, True]
        actions.ACTIONS[actions.ACKNOWLEDGE].apply(session, ticket, "U0BOB", BREACH + timedelta(minutes=15),
                                                   config, None)  # fmt: skip
    with transaction(database_url) as session:
        ticket = session.get(Ticket, ticket_id)
        assert actions.ACKNOWLEDGE not in json.dumps(blocks.ticket_message(ticket, None).blocks)
        assert [_has_acknowledge(session, row) for row in _escalation_rows(session)] == [False, False]
        [event] = session.scalars(select(TicketEvent).where(TicketEvent.type == "acknowledged")).all()
        assert (event.actor, event.data["clock"]) == ("U0BOB", "first_response")

    acknowledged = page_state(database_url, ticket_id)
    assert (acknowledged.acknowledged_by, acknowledged.page_wanted) == ("U0BOB", "acknowledged")
    assert send_page(database_url, state.id, BREACH + timedelta(minutes=16)) == "sent"
    assert [alert["state"] for alert in alerts(pagerduty)] == ["acknowledged"]
    with transaction(database_url) as session:  # the API shows who acknowledged, and the page's state
        shown = ticket_json(pages_store.ticket_detail(session, ticket_id))["sla"]
    assert shown["first_response"]["escalation"] == {
        "acknowledged_at": "2026-11-21T14:35:00Z", "acknowledged_by": "U0BOB", "page": "acknowledged"}  # fmt: skip
    assert "escalation" not in shown["resolution"]

    jobs.sweep_due(database_url, sla, BREACH + timedelta(minutes=31))  # level 3 was due here
    jobs.sweep_due(database_url, sla, BREACH + timedelta(hours=2))
    assert fired(database_url) == [0, 1]
    assert len(escalations(database_url)) == 2
    assert events(pagerduty) == ["trigger", "acknowledge"]


def _reply_sent(session, ticket: Ticket, at: datetime, sla) -> None:
    reply = replies.queue_reply(session, ticket, "So sorry, on it.", "U0ALICE", at)
    held = replies.claim(session, reply.id, at)
    replies.mark_sent(session, held, "x-post-1", at, sla)


MET = {
    "responded": lambda session, ticket, at, config: lifecycle.mark_responded(session, ticket, "U0ALICE", at, config),
    "reply sent": lambda session, ticket, at, config: _reply_sent(session, ticket, at, config.sla),
    "resolved": lambda session, ticket, at, config: lifecycle.resolve(session, ticket, "U0ALICE", at),
}


@pytest.mark.parametrize("how", list(MET))
def test_the_page_is_resolved_when_the_clock_is_met_or_the_ticket_resolved(database_url, config, pagerduty, how):
    sla = config.sla
    ticket_id = open_ticket(database_url, sla)
    state = climb_to_the_page(database_url, sla, ticket_id)
    met_at = BREACH + timedelta(minutes=14)
    with transaction(database_url) as session:
        MET[how](session, session.get(Ticket, ticket_id, with_for_update=True), met_at, config)

    settled = page_state(database_url, ticket_id)
    assert (settled.page_wanted, settled.settled_at, settled.next_level_at) == ("resolved", met_at, None)
    assert send_page(database_url, state.id, met_at + timedelta(seconds=1)) == "sent"
    assert events(pagerduty) == ["trigger", "resolve"]
    assert [alert["state"] for alert in alerts(pagerduty)] == ["resolved"]
    jobs.sweep_due(database_url, sla, BREACH + timedelta(minutes=31))
    assert fired(database_url) == [0, 1]  # the ladder stopped with the clock
    with transaction(database_url) as session:
        assert not actions.ACTIONS[actions.ACKNOWLEDGE].shown(session.get(Ticket, ticket_id))


def test_the_page_goes_out_through_its_job_queued_after_the_commit(database_url, redis_url, config, pagerduty):
    ticket_id = open_ticket(database_url, config.sla)
    jobs.sweep_due(database_url, config.sla, BREACH + timedelta(minutes=11))  # the commit queues the job

    run_jobs(redis_url, queues.PAGING)
    assert events(pagerduty) == ["trigger"]
    assert page_state(database_url, ticket_id).page_sent == "triggered"
    assert paging.repair() == 0  # nothing left for the periodic repair


def test_paging_is_off_when_unconfigured(database_url, unpaged, pagerduty):
    sla = unpaged.sla
    ticket_id = open_ticket(database_url, sla)
    jobs.sweep_due(database_url, sla, BREACH + timedelta(minutes=1))
    jobs.sweep_due(database_url, sla, BREACH + timedelta(minutes=11))

    assert context.paging_config().enabled is False
    assert fired(database_url) == [0, 1]  # the levels still post in Slack
    assert "Paging on-call." not in escalations(database_url)[1][2]
    state = page_state(database_url, ticket_id)
    assert (state.page_wanted, state.page_next_attempt_at) == (None, None)
    assert paging.attempt(database_url, state.id, context.paging_config()) == "off"
    assert paging.repair() == 0
    assert events(pagerduty) == [] and alerts(pagerduty) == []


def test_a_throttled_page_is_sent_again_later_as_one_incident(database_url, config, pagerduty):
    sla = config.sla
    ticket_id = open_ticket(database_url, sla)
    jobs.sweep_due(database_url, sla, BREACH + timedelta(minutes=1))
    jobs.sweep_due(database_url, sla, BREACH + timedelta(minutes=11))
    state = page_state(database_url, ticket_id)
    _call(pagerduty, "/_standin/faults", {"kind": "rate_limit", "retry_after": 30})
    at = BREACH + timedelta(minutes=11)

    assert send_page(database_url, state.id, at) == "retry"
    waiting = page_state(database_url, ticket_id)
    assert (waiting.page_sent, waiting.page_targets) == (None, ["pagerduty"])
    assert waiting.page_next_attempt_at == at + timedelta(seconds=30)
    assert "429" in waiting.page_last_error or "throttle" in waiting.page_last_error.lower()
    assert send_page(database_url, state.id, at + timedelta(seconds=29)) == "not due"
    with transaction(database_url) as session:
        assert pages.due_pages(session, at + timedelta(seconds=30), 10) == [state.id]  # what repair finds

    assert send_page(database_url, state.id, at + timedelta(seconds=30)) == "sent"
    [alert] = alerts(pagerduty)
    assert (alert["state"], alert["triggers"]) == ("triggered", 1)
    assert page_state(database_url, ticket_id).page_sent == "triggered"


def _mention(number: int, followers: int) -> Mention:
    return Mention(source="x", external_id=f"tw-vip-{number}", author_id=f"u{number}", author_handle=f"@c{number}",
                   author_followers=followers, text="@acme my order never came", created_at=T0, received_at=T0,
                   urgency="critical", brand="acme")  # fmt: skip


def test_a_vip_rule_picks_its_policy_and_an_unmatched_ticket_the_default(database_url, config):
    with transaction(database_url) as session:
        vip_mention, plain_mention = _mention(1, 250_000), _mention(2, 1_200)
        session.add_all([vip_mention, plain_mention])
        session.flush()
        vip = lifecycle.open_ticket(session, vip_mention, "#support", config, T0)
        plain = lifecycle.open_ticket(session, plain_mention, "#support", config, T0)
        assert (vip.sla_policy, plain.sla_policy) == ("vip", "default")
        assert vip.first_response_due_at == T0 + timedelta(minutes=5)
        assert plain.first_response_due_at == T0 + timedelta(minutes=20)
        assert vip.resolution_due_at == T0 + timedelta(hours=8)  # tiers' targets it does not set: the default's

        lifecycle.set_urgency(session, vip, "high", "U0ALICE", T0 + timedelta(minutes=1), config)
        assert vip.first_response_due_at == T0 + timedelta(minutes=10)  # the same rule's high tier
        vip_id = vip.id
    with transaction(database_url) as session:
        assert ticket_json(session.get(Ticket, vip_id))["sla_policy"] == "vip"
