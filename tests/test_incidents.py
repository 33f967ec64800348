"""Incidents in the database, with synthetic embeddings: forming, growing, the Slack message,
resolving with one answer (slash command and API), and the volume rule."""

import json
from datetime import timedelta
from urllib.parse import urlencode

import numpy as np
import pytest
from sqlalchemy import select

from core.timeutil import utcnow
from store.db import transaction
from store.schema import Incident, IncidentMember, Mention, SlackMessage, Ticket, TicketEvent
from tests.conftest import API_TOKEN
from tests.slack_support import jobs, post_signed, standin, standin_messages  # noqa: F401  (fixtures)
from tickets import incidents, lifecycle
from workers import deliver

ESCALATIONS = "#support-escalations"
rng = np.random.default_rng(11)


def unit(vector):
    return vector / np.linalg.norm(vector)


OUTAGE = unit(rng.standard_normal(384))


def complain(database_url, app_config, n, vector, *, brand="acme", author=None, at=None):
    """A classified complaint with its ticket, then the incident check, as the worker does."""
    now = utcnow()
    with transaction(database_url) as session:
        mention = Mention(source="x", external_id=f"m-{brand}-{n}", author_id=author or f"u{n}",
                          author_handle=f"@user{n}", text=f"@{brand} login fails <!channel> #{n}",
                          created_at=at or now - timedelta(minutes=5) + timedelta(seconds=n), processed_at=now,
                          complaint=0.9, severity=3, needs_reply=True, urgency="normal", signals=[], brand=brand,
                          embedding=np.asarray(vector, dtype=np.float16).tobytes())  # fmt: skip
        session.add(mention)
        session.flush()
        ticket = lifecycle.open_ticket(session, mention, "#support", app_config, now)
        incident = incidents.observe(session, mention, ticket, app_config, now)
        return incident.id if incident else None


def paraphrase():
    return unit(OUTAGE + 0.25 * unit(rng.standard_normal(384)))


def _all(database_url, model, *where):
    with transaction(database_url) as session:
        return list(session.scalars(select(model).where(*where)))


def test_five_customers_form_one_incident_that_grows_and_resolves(settings, app_config, jobs, standin, client):
    url = settings.database_url
    ids = [complain(url, app_config, n, paraphrase()) for n in range(4)]
    complain(url, app_config, 90, unit(rng.standard_normal(384)))  # unrelated, same brand, same minutes
    assert ids == [None] * 4 and _all(url, Incident) == []
    incident_id = complain(url, app_config, 4, paraphrase())
    assert incident_id is not None
    deliver.drain([ESCALATIONS])
    [posted] = standin_messages(standin, ESCALATIONS)
    assert "*5* complaints from *5* customers" in json.dumps(posted["blocks"])
    assert "&lt;!channel&gt;" in json.dumps(posted["blocks"]) and "<!channel>" not in json.dumps(posted["blocks"])

    for n in range(5, 9):
        assert complain(url, app_config, n, paraphrase()) == incident_id
    assert complain(url, app_config, 9, paraphrase(), author="u0") == incident_id  # a customer writing twice
    deliver.drain([ESCALATIONS])
    [updated] = standin_messages(standin, ESCALATIONS)
    assert updated["ts"] == posted["ts"] and "edited" in updated
    assert "*10* complaints from *9* customers" in json.dumps(updated["blocks"])
    rows = _all(url, SlackMessage, SlackMessage.incident_id == incident_id)
    assert [r.kind for r in rows] == ["incident", "incident_update"]  # five changes, one update

    tickets = _all(url, Ticket, Ticket.incident_id == incident_id)
    assert len(tickets) == 10 and len(_all(url, IncidentMember)) == 10
    notes = _all(url, SlackMessage, SlackMessage.dedupe_key.like(f"note:incident:{incident_id}:%"))
    assert len(notes) == 10
    [lone] = _all(url, Ticket, Ticket.incident_id.is_(None))
    assert lone.author_id == "u90"

    body = urlencode({"text": f"resolve-incident {incident_id} Login is back <!here>, sorry!", "user_id": "U0AGENT01"})
    answer = post_signed(client, "/slack/commands", body.encode()).get_json()
    assert f"Incident #{incident_id} resolved" in answer["text"] and "10 ticket(s)" in answer["text"]
    assert {t.status for t in _all(url, Ticket, Ticket.incident_id == incident_id)} == {"resolved"}
    answers = _all(url, TicketEvent, TicketEvent.type == "public_answer")
    assert len(answers) == 10 and {e.data["answer"] for e in answers} == {"Login is back <!here>, sorry!"}
    assert {e.actor for e in answers} == {"U0AGENT01"}
    deliver.drain([ESCALATIONS])
    [resolved] = standin_messages(standin, ESCALATIONS)
    assert "Resolved by <@U0AGENT01>" in json.dumps(resolved["blocks"])
    again = post_signed(client, "/slack/commands", body.encode()).get_json()
    assert "already resolved" in again["text"]
    detail = post_signed(client, "/slack/commands", urlencode({"text": f"incident {incident_id}"}).encode())
    assert "10 complaints from 9 customers" in detail.get_json()["text"]


def test_resolve_through_the_api(settings, app_config, client):
    url = settings.database_url
    incident_id = [complain(url, app_config, n, paraphrase()) for n in range(5)][-1]
    auth = {"Authorization": f"Bearer {API_TOKEN}"}
    path = f"/api/v1/incidents/{incident_id}/resolve"
    assert client.post(path, json={"answer": "  "}, headers=auth).status_code == 400
    assert client.post(path, data="nope", headers=auth).status_code == 400
    lone = {**auth, "Content-Type": "application/json"}
    assert client.post(path, data=b'{"answer": "half \\ud800"}', headers=lone).status_code == 400
    assert client.post("/api/v1/incidents/999/resolve", json={"answer": "x"}, headers=auth).status_code == 404
    assert client.post("/api/v1/incidents/x1/resolve", json={"answer": "x"}, headers=auth).status_code == 400
    assert client.post(path, json={"answer": "fixed"}).status_code == 401
    answer = client.post(path, json={"answer": "Fixed at 15:10, sorry"}, headers=auth)
    assert answer.status_code == 200 and answer.json == {"id": str(incident_id), "status": "resolved",
                                                         "answered_tickets": 5}  # fmt: skip
    assert client.post(path, json={"answer": "again"}, headers=auth).status_code == 409


def test_an_index_rebuilt_after_a_restart_grows_the_same_incident(settings, app_config):
    url = settings.database_url
    incident_id = [complain(url, app_config, n, paraphrase()) for n in range(5)][-1]
    incidents.forget()
    assert complain(url, app_config, 5, paraphrase()) == incident_id
    assert len(_all(url, Incident)) == 1


@pytest.mark.parametrize("weeks_of_history", [4, 1])
def test_volume_rise_against_the_same_hour_of_earlier_weeks(settings, app_config, weeks_of_history):
    """Different texts, but far more complaints than usual for this hour of the week: an incident
    when four weeks of history say what usual is; with one week, too little history to judge."""
    url = settings.database_url
    now = utcnow()
    for week in range(1, weeks_of_history + 1):
        for n in range(2):
            at = now - timedelta(days=7 * week, minutes=25 + n)
            complain(url, app_config, 1000 * week + n, unit(rng.standard_normal(384)), brand="globex", at=at)
    found = {complain(url, app_config, n, unit(rng.standard_normal(384)), brand="globex",
                      at=now - timedelta(minutes=20) + timedelta(minutes=n)) for n in range(12)}  # fmt: skip
    incidents_seen = _all(url, Incident)
    if weeks_of_history < 4:
        assert incidents_seen == [] and found == {None}
        return
    [incident] = incidents_seen
    assert incident.kind == "volume" and incident.expected == 2.0 and incident.mention_count == 12
    assert found == {None, incident.id}
