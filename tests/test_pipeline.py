"""A mention's whole path: signed webhook, stored, queued, classified by the real
model on a real RQ worker, then a ticket opened, joined or answered."""

import pytest
from sqlalchemy import select

from store.db import session_for
from store.schema import Mention, Ticket, TicketEvent
from tests.conftest import mention, post_generic, run_jobs
from workers import queues

COMPLAINT = "@acme you charged my card twice for the same booking and nobody answers the phone. I want my money back"


@pytest.fixture
def pipeline(client, settings, worker_env):
    def send(*payloads):
        response = post_generic(client, {"mentions": list(payloads)})
        assert response.status_code == 202, response.json
        run_jobs(settings.redis_url, queues.CLASSIFY)
        return response.json

    return send


def _tickets(settings):
    with session_for(settings.database_url) as session:
        return list(session.scalars(select(Ticket).order_by(Ticket.id)))


def test_complaint_opens_a_routed_ticket_with_signals(pipeline, settings):
    pipeline(mention("c-1", COMPLAINT))
    (ticket,) = _tickets(settings)
    assert ticket.status == "open"
    assert ticket.urgency in ("critical", "high")
    assert "money taken" in ticket.signals
    assert ticket.channel == ("#support-critical" if ticket.urgency == "critical" else "#support")
    assert ticket.created_at.isoformat().startswith("2026-11-21T14:03:00")
    assert ticket.first_response_due_at is not None
    with session_for(settings.database_url) as session:
        stored = session.scalars(select(Mention)).one()
        assert stored.processed_at is not None and stored.ticket_id == ticket.id
        assert stored.complaint > 0.5 and stored.embedding is not None
        assert [e.type for e in session.scalars(select(TicketEvent))] == ["opened"]


def test_praise_is_stored_and_counted_but_opens_no_ticket(pipeline, settings):
    pipeline(mention("p-1", "@acme thank you so much, the crew on my flight today were wonderful!"))
    assert _tickets(settings) == []
    with session_for(settings.database_url) as session:
        stored = session.scalars(select(Mention)).one()
        assert stored.processed_at is not None and stored.needs_reply is False


def test_brand_reply_stops_the_first_response_clock(pipeline, settings):
    pipeline(mention("c-2", COMPLAINT))
    reply = mention("r-2", "@jane so sorry, we've refunded the duplicate charge", direction="outbound",
                    in_reply_to="c-2", author={"id": "acme", "handle": "@acme"},
                    created_at="2026-11-21T14:20:00Z")  # fmt: skip
    pipeline(reply)
    (ticket,) = _tickets(settings)
    assert ticket.status == "responded"
    assert ticket.first_response_met_at.isoformat().startswith("2026-11-21T14:20:00")


def test_reply_that_arrives_before_its_mention_is_classified_still_counts(client, settings, worker_env):
    reply = mention("r-3", "@jane we're on it", direction="outbound", in_reply_to="c-3",
                    author={"id": "acme"}, created_at="2026-11-21T14:10:00Z")  # fmt: skip
    post_generic(client, reply)
    run_jobs(settings.redis_url, queues.CLASSIFY)
    post_generic(client, mention("c-3", COMPLAINT))
    run_jobs(settings.redis_url, queues.CLASSIFY)
    (ticket,) = _tickets(settings)
    assert ticket.first_response_met_at is not None


def test_customer_writing_again_while_waiting_joins_the_ticket_and_escalates_once(pipeline, settings):
    pipeline(mention("c-4", "@acme my order still hasn't arrived, it's been two weeks", created_at="2026-11-21T14:00:00Z"))
    (before,) = _tickets(settings)
    pipeline(mention("c-5", "@acme hello?? still waiting on my order, anyone there?", created_at="2026-11-21T15:00:00Z"))
    (after,) = _tickets(settings)
    assert after.id == before.id
    assert after.repeat_contacts == 1
    tiers = ["critical", "high", "normal", "low"]
    assert tiers.index(after.urgency) == max(0, tiers.index(before.urgency) - 1)
    with session_for(settings.database_url) as session:
        types = [e.type for e in session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == after.id))]
    assert types.count("follow_up") == 1


def test_duplicate_delivery_never_makes_a_second_ticket(pipeline, settings):
    pipeline(mention("c-6", COMPLAINT))
    answer = pipeline(mention("c-6", COMPLAINT))
    assert answer == {"accepted": 0, "duplicates": 1}
    assert len(_tickets(settings)) == 1


def test_every_job_is_imported_by_the_worker_of_its_queue_before_it_runs():
    from workers.classify_queue import JOB as CLASSIFY_JOB
    from workers.deliver import DISPATCH_JOB
    from workers.deliver import JOB as DELIVER_JOB
    from workers.periodic import PERIODIC_JOBS
    from workers.sla import CHECK_JOB

    jobs = [(queues.CLASSIFY, CLASSIFY_JOB), (queues.SLACK, DELIVER_JOB), (queues.SLACK, DISPATCH_JOB),
            (queues.SLA, CHECK_JOB)] + [(job.queue, job.func) for job in PERIODIC_JOBS]  # fmt: skip
    for queue_name, func in jobs:
        assert func.rsplit(".", 1)[0] in queues.JOB_MODULES[queue_name], func
