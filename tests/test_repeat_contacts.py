"""Repeat contacts across platforms: an agent links a customer's X and Facebook handles from Slack;
the customer's Facebook post while the X ticket waits joins that ticket, raises it one tier once,
and is announced once in its thread."""

from urllib.parse import urlencode

from sqlalchemy import select

from core.tiers import TIERS
from store.db import session_for
from store.schema import AuthorLink, SlackMessage, Ticket, TicketEvent
from tests.conftest import mention, post_generic, run_jobs
from tests.slack_support import post_signed
from workers import queues

FIRST = "@acme my order still hasn't arrived, it's been two weeks"
AGAIN = "@acme hello?? still waiting on my order, anyone there?"


def _command(client, text: str) -> str:
    answer = post_signed(client, "/slack/commands", urlencode({"text": text, "user_id": "U0AGENT01"}).encode())
    assert answer.status_code == 200
    return answer.get_json()["text"]


def _send(client, settings, payload):
    assert post_generic(client, payload).status_code == 202
    run_jobs(settings.redis_url, queues.CLASSIFY)


def test_linked_handle_on_another_platform_is_a_repeat_contact(client, settings, worker_env):
    _send(client, settings, mention("x-1", FIRST, created_at="2026-11-21T14:00:00Z"))
    assert "Usage" in _command(client, "link x:u42")
    assert "Usage" in _command(client, "link x:u42 nocolon")
    assert "Linked x:u42 and facebook:fb-9001" in _command(client, "link x:u42 facebook:fb-9001")
    assert "already one customer" in _command(client, "link facebook:fb-9001 x:u42")

    with session_for(settings.database_url) as session:
        [before] = session.scalars(select(Ticket)).all()
        [link] = session.scalars(select(AuthorLink)).all()
        assert link.actor == "U0AGENT01"
    facebook = mention("fb-1", AGAIN, source="facebook", author={"id": "fb-9001", "handle": "Jane D"},
                       created_at="2026-11-21T15:00:00Z")  # fmt: skip
    _send(client, settings, facebook)
    _send(client, settings, facebook)  # the platform delivering it twice changes nothing

    with session_for(settings.database_url) as session:
        [ticket] = session.scalars(select(Ticket)).all()
        assert ticket.repeat_contacts == 1
        expected = TIERS[max(0, TIERS.index(before.urgency) - 1)]
        assert ticket.urgency == expected
        raised = session.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == ticket.id, TicketEvent.type == "urgency_changed")
        ).all()
        assert len(raised) == (0 if before.urgency == "critical" else 1)
        notes = session.scalars(select(SlackMessage).where(SlackMessage.kind == "note")).all()
        assert len(notes) == 1 and notes[0].payload["text"].startswith("Repeat contact #1 from Jane D")


def test_unlinked_handle_on_another_platform_opens_its_own_ticket(client, settings, worker_env):
    _send(client, settings, mention("x-2", FIRST, created_at="2026-11-21T14:00:00Z"))
    _send(client, settings, mention("fb-2", AGAIN, source="facebook", author={"id": "fb-77"},
                                    created_at="2026-11-21T15:00:00Z"))  # fmt: skip
    with session_for(settings.database_url) as session:
        tickets = session.scalars(select(Ticket).order_by(Ticket.id)).all()
        assert [t.source for t in tickets] == ["x", "facebook"] and tickets[0].repeat_contacts == 0
