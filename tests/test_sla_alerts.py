"""SLA checks against a real database: alerts recorded once, announced through the Slack outbox."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
import yaml
from sqlalchemy import func, select

from store.db import session_for, transaction
from store.schema import SlaAlert, SlackMessage, Ticket, TicketEvent
from triage import sla as rules
from workers import context
from workers import sla as jobs

T0 = datetime(2026, 11, 21, 14, 0, tzinfo=UTC)
CONFIG = {
    "slack": {"escalation_channel": "#support-escalations", "escalation_mentions": ["<!subteam^S0ONCALL>"]},
    "sla": {
        "warn_at": 0.75,
        "remind_every": "15m",
        "policies": {"critical": {"first_response": "20m", "next_response": "30m", "resolution": "8h"}},
    },
}


@pytest.fixture
def sla_config(database_url, redis_url, tmp_path, monkeypatch):
    """The jobs read their settings and config from the environment, as in a worker."""
    path = tmp_path / "earshot.yml"
    path.write_text(yaml.safe_dump(CONFIG))
    monkeypatch.setenv("EARSHOT_CONFIG", str(path))
    monkeypatch.setenv("DATABASE_URL", database_url)
    context.reset()
    yield context.app_context()[1].sla
    context.reset()


def open_ticket(url: str, sla_config, created_at: datetime = T0, urgency: str = "critical") -> int:
    with transaction(url) as session:
        ticket = Ticket(
            status="open", urgency=urgency, source="x", author_id="u42", channel="#support",
            created_at=created_at, updated_at=created_at,
        )
        session.add(ticket)
        session.flush()
        rules.start(ticket, sla_config)
        return ticket.id


def alerts(url: str) -> list[tuple[str, str, int]]:
    with transaction(url) as session:
        rows = session.execute(select(SlaAlert.clock, SlaAlert.kind, SlaAlert.sequence).order_by(SlaAlert.id))
        return [tuple(row) for row in rows]


def outbox(url: str, kind: str) -> list[SlackMessage]:
    with transaction(url) as session:
        return list(session.scalars(select(SlackMessage).where(SlackMessage.kind == kind).order_by(SlackMessage.id)))


def load(url: str, ticket_id: int) -> Ticket:
    with transaction(url) as session:
        return session.get(Ticket, ticket_id)


def test_warning_breach_and_reminder_are_recorded_and_announced_once(database_url, sla_config):
    ticket_id = open_ticket(database_url, sla_config)
    assert jobs.sweep_due(database_url, sla_config, T0 + timedelta(minutes=14)) == 0

    assert jobs.sweep_due(database_url, sla_config, T0 + timedelta(minutes=15)) == 1
    assert alerts(database_url) == [("first_response", "warning", 0)]
    [warning] = outbox(database_url, "note")
    assert "SLA warning: first response due at 2026-11-21T14:20:00Z, in 5 min" in warning.payload["text"]
    assert load(database_url, ticket_id).next_deadline_at == T0 + timedelta(minutes=20)
    # A second check at the same moment (a duplicate job) finds the warning recorded and stays silent.
    with transaction(database_url) as session:
        assert jobs.check(session, ticket_id, sla_config, T0 + timedelta(minutes=16)) == []

    assert jobs.sweep_due(database_url, sla_config, T0 + timedelta(minutes=20)) == 1
    breached = load(database_url, ticket_id)
    assert breached.first_response_breached is True
    assert breached.next_deadline_at == T0 + timedelta(minutes=35)
    [escalation] = outbox(database_url, "escalation")
    assert escalation.channel == "#support-escalations"
    assert escalation.payload["mentions"] == ["<!subteam^S0ONCALL>"]
    assert "SLA breached: first response was due at 2026-11-21T14:20:00Z" in escalation.payload["text"]

    assert jobs.sweep_due(database_url, sla_config, T0 + timedelta(minutes=35)) == 1
    assert jobs.sweep_due(database_url, sla_config, T0 + timedelta(minutes=36)) == 0
    assert alerts(database_url)[-1] == ("first_response", "reminder", 1)
    with transaction(database_url) as session:
        events = session.scalars(select(TicketEvent.type).where(TicketEvent.ticket_id == ticket_id)).all()
    assert events == ["sla_warning", "sla_breach", "sla_reminder"]
    assert len(outbox(database_url, "note")) == 3

    with transaction(database_url) as session:
        rules.brand_replied(session.get(Ticket, ticket_id), T0 + timedelta(minutes=40), sla_config)
    assert jobs.sweep_due(database_url, sla_config, T0 + timedelta(hours=2)) == 0
    answered = load(database_url, ticket_id)
    assert answered.first_response_breached is True
    assert answered.next_deadline_at == T0 + timedelta(hours=6)  # the resolution warning
    assert [kind for _, kind, _ in alerts(database_url)] == ["warning", "breach", "reminder"]


def test_reply_before_the_deadline_prevents_the_breach(database_url, sla_config):
    ticket_id = open_ticket(database_url, sla_config)
    with transaction(database_url) as session:
        rules.brand_replied(session.get(Ticket, ticket_id), T0 + timedelta(minutes=10), sla_config)
    assert jobs.sweep_due(database_url, sla_config, T0 + timedelta(minutes=30)) == 0
    assert alerts(database_url) == []
    assert outbox(database_url, "escalation") == []
    assert load(database_url, ticket_id).first_response_breached is False


def test_after_an_outage_only_the_breach_is_announced(database_url, sla_config):
    ticket_id = open_ticket(database_url, sla_config)
    assert jobs.sweep_due(database_url, sla_config, T0 + timedelta(minutes=52)) == 1
    assert alerts(database_url) == [("first_response", "breach", 0)]
    assert load(database_url, ticket_id).next_deadline_at == T0 + timedelta(minutes=65)  # reminder 3


def test_sweep_takes_the_soonest_due_tickets_in_batches(database_url, sla_config):
    ids = [open_ticket(database_url, sla_config, T0 + timedelta(minutes=m)) for m in (2, 0, 1)]
    later = open_ticket(database_url, sla_config, T0 + timedelta(hours=1))
    now = T0 + timedelta(minutes=18)
    assert jobs.sweep_due(database_url, sla_config, now, limit=2) == 2
    with transaction(database_url) as session:
        warned = set(session.scalars(select(SlaAlert.ticket_id)))
    assert warned == {ids[1], ids[2]}
    assert jobs.sweep_due(database_url, sla_config, now, limit=2) == 1
    assert load(database_url, later).next_deadline_at == T0 + timedelta(hours=1, minutes=15)


def _count(url: str, model, *where) -> int:
    with transaction(url) as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def test_two_sweepers_at_once_record_and_escalate_each_breach_once(database_url, sla_config):
    ids = [open_ticket(database_url, sla_config) for _ in range(20)]
    for ticket_id in ids:  # warnings already sent, so both sweepers face the same breaches
        with transaction(database_url) as session:
            session.get(Ticket, ticket_id).next_deadline_at = T0 + timedelta(minutes=20)
    start = threading.Barrier(2)
    results = []

    def sweeper():
        start.wait()
        results.append(jobs.sweep_due(database_url, sla_config, T0 + timedelta(minutes=21)))

    threads = [threading.Thread(target=sweeper) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(results) == 20
    assert _count(database_url, SlaAlert, SlaAlert.kind == "breach") == 20
    assert _count(database_url, SlackMessage, SlackMessage.kind == "escalation") == 20
    assert _count(database_url, TicketEvent, TicketEvent.type == "sla_breach") == 20


def test_two_checks_of_one_ticket_at_once_announce_once(database_url, sla_config):
    ticket_id = open_ticket(database_url, sla_config)
    start = threading.Barrier(2)
    announced = []
    errors = []

    def checker():
        session = session_for(database_url)
        try:
            start.wait()
            announced.extend(jobs.check(session, ticket_id, sla_config, T0 + timedelta(minutes=21)))
            session.commit()
        except Exception as error:  # surfaced below: the test must see a failure in the thread
            errors.append(error)
            session.rollback()
        finally:
            session.close()

    threads = [threading.Thread(target=checker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert [(a.clock, a.kind) for a in announced] == [("first_response", "breach")]
    assert _count(database_url, SlackMessage, SlackMessage.kind == "escalation") == 1


def test_check_of_a_missing_or_stopped_ticket_does_nothing(database_url, sla_config):
    ticket_id = open_ticket(database_url, sla_config)
    with transaction(database_url) as session:
        rules.resolved(session.get(Ticket, ticket_id), T0 + timedelta(minutes=5))
    with transaction(database_url) as session:
        assert jobs.check(session, ticket_id, sla_config, T0 + timedelta(hours=1)) == []
        assert jobs.check(session, ticket_id + 1000, sla_config, T0 + timedelta(hours=1)) == []
    assert alerts(database_url) == []


def test_a_broken_ticket_does_not_stall_the_sweep(database_url, sla_config, caplog):
    broken = open_ticket(database_url, sla_config)
    with transaction(database_url) as session:
        session.get(Ticket, broken).urgency = "bogus"  # no policy: its check raises
    fine = open_ticket(database_url, sla_config, T0 + timedelta(minutes=1))
    assert jobs.sweep_due(database_url, sla_config, T0 + timedelta(minutes=17)) == 1
    with transaction(database_url) as session:
        assert session.scalars(select(SlaAlert.ticket_id)).all() == [fine]
    assert any(getattr(record, "ticket_id", None) == broken for record in caplog.records)
