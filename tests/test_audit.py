"""GET /api/v1/audit (issue 21): who did what, newest first, keyset-paged; ticket events merged with
dashboard logins and erasures on request, and no personal data or token in any entry."""

import json
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlencode

from sqlalchemy import update

from core.settings import split_api_token
from core.timeutil import parse_instant, utcnow
from service import create_app
from store.db import transaction
from store.schema import Mention, TicketEvent
from tests.conftest import API_TOKEN, make_settings
from tests.seeding import seed_ticket
from tests.slack_support import action_body, jobs, open_ticket, post_signed, standin  # noqa: F401 (fixtures)
from tickets import audit

NAMED_TOKEN = "alice:alice-token-0123456789abcdef"
ALICE = {"Authorization": f"Bearer {split_api_token(NAMED_TOKEN)[1]}"}
AUTHOR_ID = "cust-8829301"
TEXT = "@acme my card was charged twice, call me on 0601020304"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _client(database_url, redis_url, app_config):
    settings = make_settings(database_url, redis_url, api_tokens=(NAMED_TOKEN, API_TOKEN))
    app = create_app(settings, app_config)
    app.config["TESTING"] = True
    return app.test_client()


def _seed_customer(database_url, created_at) -> int:
    with transaction(database_url) as session:
        ticket = seed_ticket(session, created_at, claimed_by="U0AGENT", text=TEXT, author="@jane_doe",
                             answered_after=timedelta(minutes=3))  # fmt: skip
        ticket.author_id = AUTHOR_ID
        session.execute(update(Mention).where(Mention.ticket_id == ticket.id).values(author_id=AUTHOR_ID))
        session.add(
            TicketEvent(
                ticket_id=ticket.id,
                type="public_answer",
                actor="U0AGENT",
                at=created_at + timedelta(minutes=4),
                data={"answer": TEXT, "mention_id": 1},
            )
        )
        return ticket.id


def _log_in(client, token: str) -> int:
    csrf = CSRF.search(client.get("/dashboard/login").get_data(as_text=True)).group(1)
    return client.post("/dashboard/login", data={"csrf_token": csrf, "token": token}).status_code


def _all(client, limit: int) -> list[dict]:
    entries, cursor, pages = [], None, 0
    while True:
        params = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        response = client.get("/api/v1/audit", query_string=params, headers=ALICE)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        assert len(body["events"]) <= limit
        entries += body["events"]
        cursor, pages = body["next_cursor"], pages + 1
        if cursor is None:
            return entries
        assert pages < 100


def test_named_token_actions_and_dashboard_logins_newest_first(database_url, redis_url, app_config):
    client = _client(database_url, redis_url, app_config)
    ticket_id = _seed_customer(database_url, utcnow() - timedelta(hours=1))
    assert client.delete(f"/api/v1/customers/x/{AUTHOR_ID}", headers=ALICE).status_code == 202
    assert _log_in(client, split_api_token(NAMED_TOKEN)[1]) == 302
    for _ in range(3):  # refused logins within a minute share one entry: the log cannot be flooded
        assert _log_in(client.application.test_client(), "wrong-token-0123456789abcdef") == 401

    response = client.get("/api/v1/audit", headers=ALICE)
    assert response.status_code == 200
    body = response.get_json()
    events = body["events"]
    assert body["next_cursor"] is None
    assert [e["at"] for e in events] == sorted((e["at"] for e in events), reverse=True)
    refused, login, *erasure_pair = events[:4]
    refused_entry = (refused["action"], refused["actor"], refused["detail"])
    assert refused_entry == ("dashboard_login", None, {"success": False, "attempts": 3})
    assert (login["action"], login["actor"], login["detail"]) == ("dashboard_login", "alice", {"success": True})
    assert login["ticket_id"] is None and refused["id"].startswith("ae-")
    by_action = {e["action"]: e for e in erasure_pair}
    assert by_action["erased"]["actor"] == by_action["customer_erased"]["actor"] == "alice"
    assert by_action["erased"]["ticket_id"] == str(ticket_id)
    assert by_action["customer_erased"]["ticket_id"] is None
    # the ticket's own history follows, oldest last
    assert [(e["action"], e["actor"]) for e in events[4:]] == [
        ("public_answer", "U0AGENT"), ("responded", "U0AGENT"), ("claimed", "U0AGENT"), ("opened", "earshot"),
    ]  # fmt: skip
    assert all(e["ticket_id"] == str(ticket_id) for e in events[4:])
    assert events[4]["detail"] == {"mention_id": 1}  # the answer's text is left out


def test_erasure_entry_holds_no_author_id_nor_text(database_url, redis_url, app_config):
    client = _client(database_url, redis_url, app_config)
    _seed_customer(database_url, utcnow() - timedelta(hours=1))
    assert client.delete(f"/api/v1/customers/x/{AUTHOR_ID}", headers=ALICE).get_json() == {"mentions": 1, "tickets": 1}
    assert client.delete(f"/api/v1/customers/x/{AUTHOR_ID}", headers=ALICE).status_code == 202  # again: zeros
    response = client.get("/api/v1/audit", headers=ALICE)
    erasures = [e for e in response.get_json()["events"] if e["action"] == "customer_erased"]
    assert [e["detail"] for e in erasures] == [
        {"reason": "request", "source": "x", "mentions": 0, "tickets": 0},
        {"reason": "request", "source": "x", "mentions": 1, "tickets": 1},
    ]
    raw = response.get_data(as_text=True)
    for secret in (AUTHOR_ID, TEXT, "0601020304", "jane_doe", split_api_token(NAMED_TOKEN)[1], API_TOKEN):
        assert secret not in raw


def test_cursor_pages_return_every_entry_once(database_url, redis_url, app_config):
    client = _client(database_url, redis_url, app_config)
    base = utcnow() - timedelta(days=1)
    with transaction(database_url) as session:
        for i in range(4):  # opened and claimed share one instant: ties broken by the key
            seed_ticket(session, base + timedelta(minutes=i), claimed_by="U0AGENT", answered_after=timedelta(1))
        for i in range(5):  # audit events on the very same instants as ticket events
            audit.record(session, audit.DASHBOARD_LOGIN, "alice", base + timedelta(minutes=i % 3), success=True)
    everything = client.get("/api/v1/audit", query_string={"limit": 200}, headers=ALICE).get_json()["events"]
    assert len(everything) == 4 * 3 + 5
    keys = [(parse_instant(e["at"]), e["id"]) for e in everything]
    assert [k[0] for k in keys] == sorted((k[0] for k in keys), reverse=True)
    for limit in (1, 2, 3, 7):
        paged = _all(client, limit)
        assert [e["id"] for e in paged] == [e["id"] for e in everything], limit
    assert len({e["id"] for e in everything}) == len(everything)


def test_refusals(client):
    assert client.get("/api/v1/audit").status_code == 401
    bad = client.get("/api/v1/audit", query_string={"cursor": "not-a-cursor"},
                     headers={"Authorization": f"Bearer {API_TOKEN}"})  # fmt: skip
    assert bad.status_code == 400 and bad.get_json()["parameter"] == "cursor"
    too_many = client.get("/api/v1/audit", query_string={"limit": 201},
                          headers={"Authorization": f"Bearer {API_TOKEN}"})  # fmt: skip
    assert too_many.status_code == 400 and too_many.get_json()["parameter"] == "limit"
    assert json.loads(client.get("/api/v1/audit", headers={"Authorization": f"Bearer {API_TOKEN}"})
                      .get_data()) == {"events": [], "next_cursor": None}  # fmt: skip


def test_slack_actions_carry_the_users_name(settings, app_config, client, jobs):
    ticket_id = open_ticket(settings.database_url, app_config)
    body = json.loads(parse_qs(action_body("ticket_claim", str(ticket_id)).decode())["payload"][0])
    body["user"].update(username="jdoe", name="jane.agent")
    assert post_signed(client, "/slack/actions", urlencode({"payload": json.dumps(body)}).encode()).status_code == 200
    assert post_signed(client, "/slack/actions", action_body("ticket_resolve", str(ticket_id))).status_code == 200
    events = client.get("/api/v1/audit", headers={"Authorization": f"Bearer {API_TOKEN}"}).get_json()["events"]
    resolved, claimed = events[0], events[1]
    assert (claimed["action"], claimed["actor"], claimed["detail"]) == ("claimed", "U0AGENT01", {"actor_name": "jdoe"})
    assert (resolved["action"], resolved["actor"], resolved["detail"]) == ("resolved", "U0AGENT01", {})
