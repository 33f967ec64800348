"""The classification job triages a micro-batch as it would its mentions one at a time: a customer
writing twice in one batch joins the ticket the batch just opened, replies find their tickets, and
the same rows come out. Also the batch-wide pieces: incident detection failing for one mention, the
outbox skipping keys already stored, and SLA checks scheduled together."""

import logging
from datetime import timedelta

import pytest
import yaml
from redis import Redis
from sqlalchemy import select

from core.config import parse_config
from core.timeutil import utcnow
from ingest.rows import save_mentions
from integrations.platforms.mention import IncomingMention
from store.db import transaction
from store.schema import Incident, IncidentMember, Mention, SlackMessage, Ticket, TicketEvent
from tests.slack_support import open_ticket
from tickets import authors, incidents, outbox, sla_checks
from triage import sla as rules
from workers import classify, context, queues

# Paraphrases of one outage, as customers write them.
OUTAGE = [
    "@acme your app won't let me log in, it just says error 503 every time",
    "@acme is the app down? can't sign in at all, keeps showing a 503 error",
    "@acme login broken?? getting error 503 on the app since this morning",
    "@acme cannot access my account, the app throws 'error 503' when I try to log in",
    "@acme app login not working, service unavailable 503. Is there an outage?",
    "@acme anyone else unable to log into the app? error 503 over and over",
]


@pytest.fixture
def claim(worker_env, config_data, tmp_path, monkeypatch):
    """Sets how many mentions the job claims at a time."""

    def use(size: int) -> None:
        path = tmp_path / f"earshot-{size}.yaml"
        path.write_text(yaml.safe_dump({**config_data, "model": {"claim": size}}))
        monkeypatch.setenv("EARSHOT_CONFIG", str(path))
        context.reset()

    return use


def _store(database_url: str, mentions: list[IncomingMention]) -> None:
    with transaction(database_url) as session:
        save_mentions(session.connection(), mentions, utcnow())


def _mention(external_id: str, author: str, text: str, at, **fields) -> IncomingMention:
    return IncomingMention(source=fields.pop("source", "x"), external_id=external_id, author_id=author, text=text,
                           created_at=at, brand="acme", **fields)  # fmt: skip


def _conversations(start) -> list[IncomingMention]:
    """Every way a mention finds its ticket, within one micro-batch, in posting order."""

    def say(second: int, external_id: str, author: str, words: str, **fields) -> IncomingMention:
        at = start + timedelta(seconds=second)
        return _mention(external_id, author, words, at, **fields)

    return [
        say(0, "r-1", "acme", "we are looking into it", direction="outbound", in_reply_to="c-1"),  # before c-1
        say(1, "c-1", "u1", "@acme my order never arrived"),
        say(2, "c-2", "u1", "@acme any news about my order?"),  # after the reply: a follow-up
        say(3, "c-3", "u1", "@acme hello? still nothing"),  # waiting again: a repeat contact
        say(4, "c-4", "u2", "@acme the app logs me out"),
        say(5, "r-4", "acme", "please update the app", direction="outbound", in_reply_to="c-4"),
        say(6, "c-5", "u2", "@acme updated it, still logs me out", in_reply_to="r-4"),  # by the reply chain
        say(7, "c-6", "u3", "@acme the door of my room is broken", conversation_id="conv-9"),
        say(8, "c-9", "u6", "@acme my refund is late"),  # by the handle linked to fb-6's ticket
        say(9, "c-7", "u4", "@acme same here, room 12", conversation_id="conv-9"),  # by the conversation
        say(10, "c-8", "u5", "@acme thanks, lovely stay"),  # the model: no reply needed
    ]


def _run(database_url: str, start, size: int, claim) -> None:
    """A customer's Facebook ticket from before, linked to their X handle; then the conversations."""
    claim(1)
    _store(database_url, [_mention("fb-1", "fb-6", "@acme refund?", start, source="facebook")])
    classify.classify_batch()
    with transaction(database_url) as session:
        authors.link(session, ("x", "u6"), ("facebook", "fb-6"), "U0AGENT01")
    _store(database_url, _conversations(start + timedelta(minutes=1)))
    claim(size)
    assert classify.classify_batch() == 11


def _outcome(database_url: str) -> dict:
    """What triage wrote, without the times of processing."""
    with transaction(database_url) as session:
        tickets = session.scalars(select(Ticket).order_by(Ticket.id))
        events = session.scalars(select(TicketEvent).order_by(TicketEvent.id))
        mentions = session.scalars(select(Mention).order_by(Mention.id))
        messages = session.scalars(select(SlackMessage).order_by(SlackMessage.id))
        return {
            "tickets": [
                {k: v for k, v in vars(t).items() if k not in ("_sa_instance_state", "updated_at")} for t in tickets
            ],
            "events": [(e.ticket_id, e.type, e.actor, e.data) for e in events],
            "mentions": [
                (m.external_id, m.ticket_id, m.urgency, m.signals, m.processed_at is not None) for m in mentions
            ],
            "messages": [
                (m.ticket_id, m.kind, m.dedupe_key.rsplit(":", 1)[0] if m.kind == "update" else m.dedupe_key, m.payload)
                for m in messages
            ],
        }


def test_a_micro_batch_triages_as_one_mention_at_a_time(database_url, redis_url, empty_database, claim):
    start = utcnow() - timedelta(minutes=10)
    _run(database_url, start, 16, claim)
    together = _outcome(database_url)
    empty_database()
    Redis.from_url(redis_url).flushdb()
    _run(database_url, start, 1, claim)
    assert _outcome(database_url) == together

    ticket_of = {external_id: ticket_id for external_id, ticket_id, *_ in together["mentions"]}
    assert ticket_of["c-1"] == ticket_of["c-2"] == ticket_of["c-3"] == ticket_of["r-1"]
    assert ticket_of["c-4"] == ticket_of["c-5"] == ticket_of["r-4"]
    assert ticket_of["c-6"] == ticket_of["c-7"]
    assert ticket_of["c-9"] == ticket_of["fb-1"]
    assert ticket_of["c-8"] is None
    assert len(set(ticket_of.values()) - {None}) == 4
    first = next(t for t in together["tickets"] if t["id"] == ticket_of["c-1"])
    assert first["repeat_contacts"] == 1 and first["first_response_met_at"] is not None
    assert [type_ for ticket_id, type_, *_ in together["events"] if ticket_id == first["id"]] == [
        "opened",
        "public_reply",
        "follow_up",
        "follow_up",
        "urgency_changed",
    ]


def test_incident_detection_failing_for_one_mention_keeps_every_ticket(
    database_url, redis_url, claim, monkeypatch, caplog
):
    start = utcnow() - timedelta(minutes=10)
    _store(database_url, [_mention(f"o-{n}", f"u{n}", text, start + timedelta(seconds=n))
                          for n, text in enumerate(OUTAGE)])  # fmt: skip
    similar = incidents._similar

    def fails_for_one(session, cluster, mention, *rest):
        if mention.external_id == "o-5":
            raise RuntimeError("incident detection broke")
        return similar(session, cluster, mention, *rest)

    monkeypatch.setattr(incidents, "_similar", fails_for_one)
    claim(16)
    with caplog.at_level(logging.WARNING, logger="tickets.triage"):
        assert classify.classify_batch() == 6
    assert any(r.message == "incident detection failed" and r.mention_id for r in caplog.records)
    with transaction(database_url) as session:
        mentions = session.scalars(select(Mention)).all()
        assert all(m.processed_at is not None and m.ticket_id is not None for m in mentions)
        [incident] = session.scalars(select(Incident)).all()
        members = set(session.scalars(select(IncidentMember.mention_id)))
        assert len(members) >= 5 and incident.author_count == len(members)


def test_a_message_already_stored_is_not_queued_again(database_url, redis_url, app_config):
    ticket_id = open_ticket(database_url, app_config)
    with transaction(database_url) as session:
        outbox.queue_thread_note(session, session.get(Ticket, ticket_id), "first", "k-1")
    with transaction(database_url) as session:
        ticket = session.get(Ticket, ticket_id)
        outbox.queue_thread_note(session, ticket, "again", "k-1")
        outbox.queue_thread_note(session, ticket, "new", "k-2")
    with transaction(database_url) as session:
        notes = session.scalars(select(SlackMessage).where(SlackMessage.kind == "note").order_by(SlackMessage.id))
        assert [(n.dedupe_key, n.payload["text"]) for n in notes] == [("note:k-1", "first"), ("note:k-2", "new")]


def test_checks_due_now_and_later_are_scheduled_in_one_go(database_url, redis_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    sla = parse_config({}).sla  # critical: a warning 11m15s after the customer posted
    now = utcnow().replace(microsecond=0)
    with transaction(database_url) as session:
        tickets = [
            Ticket(
                status="open",
                urgency="critical",
                source="x",
                author_id=f"u{n}",
                channel="#support",
                created_at=created,
                updated_at=now,
            )
            for n, created in enumerate([now, now - timedelta(hours=1), now - timedelta(minutes=20)])
        ]
        for ticket in tickets:
            session.add(ticket)
            rules.start(ticket, sla)
            sla_checks.schedule_checks(session, ticket)
    sla_queue = queues.queue(queues.SLA, redis_url)
    ids = [f"sla-check-{t.id}-{int(t.next_deadline_at.timestamp())}" for t in tickets]
    assert sorted(sla_queue.job_ids) == sorted(ids[1:])  # their next alert is due already
    assert sla_queue.scheduled_job_registry.get_job_ids() == [ids[0]]
    assert sla_queue.scheduled_job_registry.get_scheduled_time(ids[0]) == tickets[0].next_deadline_at


def test_a_batch_of_mentions_joining_one_incident_writes_it_once(database_url, redis_url, claim, monkeypatch):
    """A storm: the batch's mentions all join one incident; it is refreshed and its Slack message queued
    once for the batch, not once per mention, and its counts are the members'."""
    from tickets import incident_members

    start = utcnow() - timedelta(minutes=10)
    _store(database_url, [_mention(f"o-{n}", f"u{n}", text, start + timedelta(seconds=n))
                          for n, text in enumerate(OUTAGE)])  # fmt: skip
    queued, refreshed = [], []
    queue, refresh = incident_members.outbox.queue_incident, incident_members._refresh
    monkeypatch.setattr(incident_members.outbox, "queue_incident", lambda s, i, c: queued.append(i.id) or queue(s, i, c))
    monkeypatch.setattr(incident_members, "_refresh", lambda s, found: refreshed.append(len(found)) or refresh(s, found))
    claim(16)
    assert classify.classify_batch() == len(OUTAGE)
    with transaction(database_url) as session:
        [incident] = session.scalars(select(Incident)).all()
        members = session.scalars(select(IncidentMember).where(IncidentMember.incident_id == incident.id)).all()
        assert len(members) == incident.mention_count == incident.author_count >= 5
        assert incident.last_seen_at == max(m.at for m in members)
        assert len(session.scalars(select(SlackMessage).where(SlackMessage.incident_id == incident.id)).all()) == 1
    assert queued == [incident.id] and refreshed == [1]
