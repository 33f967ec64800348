"""/api/v1: bearer auth, the ticket's contract shape, keyset pages, filters, breaches (JSON and CSV), the summary."""

import csv
import io
import re
from datetime import timedelta

import pytest

from core.timeutil import parse_instant, utcnow
from store.db import transaction
from store.schema import TicketEvent
from tests.conftest import API_TOKEN, make_settings
from tests.seeding import seed_breach, seed_ticket

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def get(client, path, **params):
    return client.get(path, query_string=params, headers=AUTH)


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong-token-0123456789"}, {"Authorization": API_TOKEN},
     {"Authorization": f"Basic {API_TOKEN}"}, {"Authorization": f"Bearer {API_TOKEN}x"}],
    ids=["none", "wrong", "no-scheme", "basic", "longer"],
)  # fmt: skip
@pytest.mark.parametrize("path", ["/api/v1/tickets", "/api/v1/tickets/1", "/api/v1/sla/breaches",
                                  "/api/v1/sla/breaches.csv", "/api/v1/sla/summary"])  # fmt: skip
def test_refuses_without_a_valid_token(client, headers, path):
    response = client.get(path, headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "error" in response.get_json()


def test_refuses_everyone_when_no_token_is_configured(database_url, redis_url, app_config):
    from service import create_app

    client = create_app(make_settings(database_url, redis_url, api_tokens=()), app_config).test_client()
    response = client.get("/api/v1/tickets", headers=AUTH)
    assert response.status_code == 401
    assert "EARSHOT_API_TOKENS" in response.get_json()["error"]


def test_ticket_has_the_contract_shape(client, settings):
    created = parse_instant("2026-11-21T14:03:00Z")
    with transaction(settings.database_url) as session:
        ticket = seed_ticket(session, created, urgency="high", slack_ts="1763733780.000100", claimed_by="U123",
                             answered_after=timedelta(minutes=12))  # fmt: skip
        seed_breach(session, ticket, created + timedelta(hours=24), clock="resolution")
        ticket.signals = ["money taken"]
        ticket_id = ticket.id
    body = get(client, f"/api/v1/tickets/{ticket_id}").get_json()
    assert body["id"] == str(ticket_id)
    assert (body["status"], body["urgency"], body["signals"], body["source"], body["channel"]) == (
        "open", "high", ["money taken"], "x", "#support",
    )  # fmt: skip
    assert body["created_at"] == "2026-11-21T14:03:00Z"
    assert body["slack"] == {"channel": "C0SUPPORT", "ts": "1763733780.000100"}
    assert body["sla"] == {
        "first_response": {"due_at": "2026-11-21T15:03:00Z", "met_at": "2026-11-21T14:15:00Z", "breached": False},
        "next_response": {"due_at": None, "met_at": None, "breached": False},
        "resolution": {"due_at": "2026-11-22T14:03:00Z", "met_at": None, "breached": True},
    }
    [mention] = body["mentions"]
    assert mention["id"].isdigit() and mention["direction"] == "inbound" and mention["source"] == "x"
    assert mention["text"] == "@acme my booking vanished" and mention["created_at"] == "2026-11-21T14:03:00Z"
    assert [(e["type"], e["actor"]) for e in body["events"]] == [
        ("opened", "earshot"), ("claimed", "U123"), ("responded", "U123"),
    ]  # fmt: skip
    assert all(ISO_Z.match(e["at"]) for e in body["events"])


@pytest.mark.parametrize("ticket_id, status", [("999", 404), ("99999999999999999999", 404), ("abc", 400)])
def test_unknown_or_malformed_ticket_id(client, ticket_id, status):
    response = get(client, f"/api/v1/tickets/{ticket_id}")
    assert response.status_code == status
    assert "error" in response.get_json()


def _all_pages(client, **params):
    ids, cursor, pages = [], None, 0
    while True:
        body = get(client, "/api/v1/tickets", **params, **({"cursor": cursor} if cursor else {})).get_json()
        ids += [ticket["id"] for ticket in body["tickets"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return ids, pages


def test_pages_are_stable_while_tickets_arrive(client, settings):
    now = utcnow()
    with transaction(settings.database_url) as session:
        # Two share a creation time: the id breaks the tie, so the boundary between pages is exact.
        times = [now - timedelta(minutes=m) for m in (1, 2, 3, 3, 5, 6, 7)]
        seeded = [(at, seed_ticket(session, at).id) for at in times]
    original = [str(ticket_id) for _, ticket_id in sorted(seeded, reverse=True)]  # newest first, then by id
    first = get(client, "/api/v1/tickets", limit=3).get_json()
    assert [t["id"] for t in first["tickets"]] == original[:3]
    with transaction(settings.database_url) as session:
        newer = str(seed_ticket(session, now).id)  # lands before the cursor: not on later pages
        late = str(seed_ticket(session, now - timedelta(minutes=3)).id)  # same time as the boundary, a higher id
    seen = [t["id"] for t in first["tickets"]]
    cursor = first["next_cursor"]
    while cursor:
        body = get(client, "/api/v1/tickets", limit=3, cursor=cursor).get_json()
        seen += [t["id"] for t in body["tickets"]]
        cursor = body["next_cursor"]
    assert len(seen) == len(set(seen)), "a ticket appeared on two pages"
    assert [i for i in seen if i in original] == original
    assert newer not in seen and late not in seen
    everything, pages = _all_pages(client, limit=3)
    assert sorted(everything, key=int) == sorted([*original, newer, late], key=int) and pages == 3


def test_filters(client, settings):
    now = utcnow()
    with transaction(settings.database_url) as session:
        critical = seed_ticket(session, now - timedelta(hours=1), urgency="critical", channel="#support-critical")
        seed_breach(session, critical, now - timedelta(minutes=10))
        social = seed_ticket(session, now - timedelta(hours=2), source="facebook", status="claimed", slack_ts="1.2")
        old = seed_ticket(session, now - timedelta(days=3), status="resolved", brand="globex")
        ids = {name: str(t.id) for name, t in (("critical", critical), ("social", social), ("old", old))}

    def found(**params):
        return {t["id"] for t in get(client, "/api/v1/tickets", **params).get_json()["tickets"]}

    assert found() == set(ids.values())
    assert found(urgency="critical") == {ids["critical"]}
    assert found(urgency="critical,normal") == set(ids.values())
    assert found(status="open,claimed") == {ids["critical"], ids["social"]}
    assert found(breached="true") == {ids["critical"]}
    assert found(breached="false") == {ids["social"], ids["old"]}
    assert found(channel="#support-critical") == {ids["critical"]}
    assert found(channel="C0SUPPORT") == {ids["social"]}
    assert found(source="facebook") == {ids["social"]}
    assert found(brand="globex") == {ids["old"]}
    assert found(since=(now - timedelta(days=1)).isoformat()) == {ids["critical"], ids["social"]}
    assert found(since="2999-01-01T00:00:00Z") == set()


@pytest.mark.parametrize(
    "path, params, parameter",
    [
        ("/api/v1/tickets", {"status": "closed"}, "status"),
        ("/api/v1/tickets", {"urgency": "urgent"}, "urgency"),
        ("/api/v1/tickets", {"breached": "maybe"}, "breached"),
        ("/api/v1/tickets", {"since": "yesterday"}, "since"),
        ("/api/v1/tickets", {"limit": "0"}, "limit"),
        ("/api/v1/tickets", {"limit": "201"}, "limit"),
        ("/api/v1/tickets", {"limit": "ten"}, "limit"),
        ("/api/v1/tickets", {"cursor": "not-a-cursor"}, "cursor"),
        ("/api/v1/tickets", {"cursor": "WyJ4IiwxXQ"}, "cursor"),  # ["x",1]
        ("/api/v1/sla/summary", {"channel": "#a\x00b"}, "channel"),
        ("/api/v1/sla/breaches", {"since": "2026-13-01"}, "since"),
        ("/api/v1/sla/breaches", {"format": "xml"}, "format"),
        ("/api/v1/sla/summary", {"window": "forever"}, "window"),
        ("/api/v1/sla/summary", {"window": "0h"}, "window"),
        ("/api/v1/sla/summary", {"window": "1000d"}, "window"),
        ("/api/v1/sla/summary", {"window": "99999999999999999999w"}, "window"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(client, path, params, parameter):
    response = get(client, path, **params)
    assert response.status_code == 400
    body = response.get_json()
    assert body["parameter"] == parameter and body["error"].startswith(parameter)


def test_breaches_newest_first_with_csv_export(client, settings):
    now = utcnow()
    with transaction(settings.database_url) as session:
        first = seed_ticket(session, now - timedelta(hours=5), urgency="high", slack_ts="1763733780.000100")
        second = seed_ticket(session, now - timedelta(hours=4), brand="=HYPERLINK(\"http://evil\")")
        seed_breach(session, first, now - timedelta(hours=3))
        seed_breach(session, second, now - timedelta(hours=1))
        seed_breach(session, first, now - timedelta(minutes=30), clock="resolution")
        seed_breach(session, second, now - timedelta(days=10), clock="resolution")  # before the default window
        ids = str(first.id), str(second.id)
    body = get(client, "/api/v1/sla/breaches").get_json()
    order = [(b["ticket_id"], b["clock"]) for b in body["breaches"]]
    assert order == [(ids[0], "resolution"), (ids[1], "first_response"), (ids[0], "first_response")]
    breached = [parse_instant(b["breached_at"]) for b in body["breaches"]]
    assert breached == sorted(breached, reverse=True)
    assert body["breaches"][0]["slack"]["url"].endswith("/archives/C0SUPPORT/p1763733780000100")
    since = (now - timedelta(hours=2)).isoformat()
    recent = get(client, "/api/v1/sla/breaches", since=since).get_json()["breaches"]
    assert [(b["ticket_id"], b["clock"]) for b in recent] == order[:2]
    paged = get(client, "/api/v1/sla/breaches", limit=2).get_json()
    rest = get(client, "/api/v1/sla/breaches", limit=2, cursor=paged["next_cursor"]).get_json()
    assert [b["clock"] for b in paged["breaches"] + rest["breaches"]] == [c for _, c in order]
    assert rest["next_cursor"] is None

    for response in (get(client, "/api/v1/sla/breaches", format="csv"), get(client, "/api/v1/sla/breaches.csv")):
        assert response.status_code == 200 and response.mimetype == "text/csv"
        assert "attachment" in response.headers["Content-Disposition"]
        rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
        assert [(r["ticket_id"], r["clock"]) for r in rows] == order
        assert rows[1]["brand"] == "'=HYPERLINK(\"http://evil\")", "a formula must not reach a spreadsheet"
        assert rows[2]["urgency"] == "high" and rows[2]["slack_url"].endswith("p1763733780000100")


def test_summary_percentiles_match_a_hand_computed_fixture(client, settings):
    now = utcnow()
    minute = timedelta(minutes=1)
    with transaction(settings.database_url) as session:
        # critical, from X: waits 1, 2, 3, 4 and 10 minutes; nearest rank: p50 = 3rd = 3 min, p90 = 5th = 10 min.
        critical = [
            seed_ticket(session, now - timedelta(hours=2), urgency="critical", answered_after=m * minute)
            for m in (4, 1, 10, 3, 2)
        ]
        seed_breach(session, critical[2], now - timedelta(hours=1))
        # high, from facebook: 5 and 15 minutes, one still unanswered; p50 = 5 min, p90 = 15 min.
        for m in (15, 5, None):
            seed_ticket(session, now - timedelta(hours=3), urgency="high", source="facebook",
                        answered_after=m and m * minute)  # fmt: skip
        # outside the 24 h window: not counted
        seed_ticket(session, now - timedelta(hours=30), urgency="critical", answered_after=100 * minute)
    body = get(client, "/api/v1/sla/summary", window="24h").get_json()
    assert body["window"] == "24h"
    assert parse_instant(body["until"]) - parse_instant(body["since"]) == timedelta(hours=24)
    assert body["by_urgency"]["critical"] == {
        "count": 5, "responded": 5, "first_response_p50_seconds": 180.0, "first_response_p90_seconds": 600.0,
        "breaches": 1, "breach_rate": 0.2,
    }  # fmt: skip
    assert body["by_urgency"]["high"] == {
        "count": 3, "responded": 2, "first_response_p50_seconds": 300.0, "first_response_p90_seconds": 900.0,
        "breaches": 0, "breach_rate": 0.0,
    }  # fmt: skip
    assert body["by_urgency"]["low"] == {
        "count": 0, "responded": 0, "first_response_p50_seconds": None, "first_response_p90_seconds": None,
        "breaches": 0, "breach_rate": None,
    }  # fmt: skip
    assert body["by_source"]["x"]["first_response_p90_seconds"] == 600.0
    assert body["by_source"]["facebook"]["count"] == 3
    # overall, 7 answered: 1, 2, 3, 4, 5, 10, 15 min -> p50 = 4th = 4 min, p90 = 7th = 15 min
    assert (body["overall"]["first_response_p50_seconds"], body["overall"]["first_response_p90_seconds"]) == (240, 900)
    wider = get(client, "/api/v1/sla/summary", window="2d").get_json()
    assert wider["by_urgency"]["critical"]["count"] == 6
    only_x = get(client, "/api/v1/sla/summary", source="x").get_json()
    assert only_x["by_urgency"]["high"]["count"] == 0 and only_x["overall"]["count"] == 5


def test_ticket_list_includes_events_in_order(client, settings):
    now = utcnow()
    with transaction(settings.database_url) as session:
        ticket = seed_ticket(session, now - timedelta(minutes=20), claimed_by="U7")
        session.add(TicketEvent(ticket_id=ticket.id, type="resolved", actor="U7", at=now))
    [listed] = get(client, "/api/v1/tickets").get_json()["tickets"]
    assert [e["type"] for e in listed["events"]] == ["opened", "claimed", "resolved"]
