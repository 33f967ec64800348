"""Scheduling SLA checks in real Redis after the commit, and running them in a real RQ worker."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from rq import SimpleWorker
from sqlalchemy import select

from core.config import parse_config
from core.timeutil import utcnow
from store.db import transaction
from store.schema import SlaAlert, SlackMessage, Ticket
from tickets import sla_checks
from triage import sla as rules
from workers import context, queues
from workers import sla as jobs

SLA = parse_config({}).sla  # critical: first response 15m, 24/7; warning at 75%


@pytest.fixture
def worker_env(database_url, redis_url, monkeypatch):
    monkeypatch.delenv("EARSHOT_CONFIG", raising=False)
    monkeypatch.setenv("DATABASE_URL", database_url)
    context.reset()
    yield queues.queue(queues.SLA, redis_url)
    context.reset()


def open_ticket(session, created_at: datetime) -> Ticket:
    ticket = Ticket(
        status="open", urgency="critical", source="x", author_id="u42", channel="#support",
        created_at=created_at, updated_at=created_at,
    )
    session.add(ticket)
    rules.start(ticket, SLA)
    sla_checks.schedule_checks(session, ticket)
    return ticket


def test_commit_schedules_a_check_at_the_next_deadline(database_url, worker_env):
    created = utcnow().replace(microsecond=0)
    with transaction(database_url) as session:
        ticket = open_ticket(session, created)
        assert worker_env.scheduled_job_registry.get_job_ids() == []  # nothing before the commit
    deadline = created + timedelta(seconds=675)
    assert ticket.next_deadline_at == deadline
    [job_id] = worker_env.scheduled_job_registry.get_job_ids()
    assert job_id == f"sla-check-{ticket.id}-{int(deadline.timestamp())}"
    assert worker_env.scheduled_job_registry.get_scheduled_time(job_id) == deadline
    assert worker_env.fetch_job(job_id).args == (ticket.id,)


def test_rollback_schedules_nothing(database_url, worker_env):
    session = transaction(database_url)
    with pytest.raises(RuntimeError), session as tx:
        open_ticket(tx, utcnow())
        raise RuntimeError("caller failed")
    with transaction(database_url) as tx:  # a later commit on a fresh session must not carry it over
        tx.add(Ticket(status="open", urgency="low", source="x", author_id="u1", channel="#support",
                      created_at=utcnow()))
    assert worker_env.scheduled_job_registry.get_job_ids() == []
    assert worker_env.job_ids == []


def test_redis_down_does_not_fail_the_commit(database_url, worker_env, monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    with transaction(database_url) as session:
        ticket = open_ticket(session, utcnow() - timedelta(hours=1))
    with transaction(database_url) as session:
        assert session.get(Ticket, ticket.id).next_deadline_at is not None  # the sweep will find it


def test_worker_runs_a_due_check_and_schedules_the_next(database_url, worker_env):
    created = utcnow().replace(microsecond=0) - timedelta(minutes=16)  # past its 15 min first-response deadline
    with transaction(database_url) as session:
        ticket = open_ticket(session, created)
    assert worker_env.job_ids == [f"sla-check-{ticket.id}-{int(ticket.next_deadline_at.timestamp())}"]
    SimpleWorker([worker_env], connection=worker_env.connection).work(burst=True)
    with transaction(database_url) as session:
        recorded = session.execute(select(SlaAlert.clock, SlaAlert.kind)).all()
        escalations = session.scalars(select(SlackMessage.channel).where(SlackMessage.kind == "escalation")).all()
        checked = session.get(Ticket, ticket.id)
    assert [tuple(row) for row in recorded] == [("first_response", "breach")]
    assert escalations == ["#support-escalations"]
    reminder = created + timedelta(minutes=30)
    assert checked.next_deadline_at == reminder
    assert worker_env.scheduled_job_registry.get_job_ids() == [f"sla-check-{ticket.id}-{int(reminder.timestamp())}"]


def test_sweep_job_reads_the_clock_and_config(database_url, worker_env):
    created = datetime(2026, 11, 21, 14, 0, tzinfo=UTC)
    with transaction(database_url) as session:
        ticket = open_ticket(session, created)
    with time_machine.travel(created + timedelta(minutes=12), tick=False):
        assert jobs.sweep() == 1
        assert jobs.sweep() == 0
        assert jobs.check_ticket(ticket.id) == 0
    with time_machine.travel(created + timedelta(minutes=15), tick=False):
        assert jobs.check_ticket(ticket.id) == 1
    with transaction(database_url) as session:
        assert session.get(Ticket, ticket.id).first_response_breached is True
