"""/openapi.json: a valid OpenAPI 3.1 document, and schemathesis over every operation in it.

Schemathesis draws requests from the document (schema-valid and schema-violating ones, plus the
boundary cases of its coverage phase) and sends them to the app through WSGI: never a 500, every
answer's status documented, and every body matching the documented content type and schema -- so a
refusal is a JSON `Error` with its message. Deeper fuzzing of the bodies behind the signature
checks lives in test_fuzz_endpoints.py and test_fuzz_parsers.py.
"""

from datetime import timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from openapi_spec_validator import validate
from sqlalchemy import update
from werkzeug.test import EnvironBuilder

from core.config import parse_config
from core.settings import Settings
from core.timeutil import iso, utcnow
from service import create_app
from store.db import transaction
from store.schema import Mention
from tests.conftest import API_TOKEN, make_settings
from tests.seeding import seed_breach, seed_ticket
from tests.test_fuzz_endpoints import META_SECRET, META_TOKEN, X_SECRET, _signed

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
SIGNED_PATHS = ("/webhooks/generic", "/webhooks/x", "/webhooks/meta", "/slack/actions", "/slack/commands")
API_OPERATIONS = [
    "/api/v1/tickets", "/api/v1/tickets/{id}", "/api/v1/sla/breaches", "/api/v1/sla/breaches.csv",
    "/api/v1/sla/summary", "/api/v1/audit", "/api/v1/tickets/{id}/replies", "/api/v1/agents",
]  # fmt: skip
CONFIG = schemathesis.Config.from_dict(
    {
        # Bounded and derandomized: the same requests on every run, about half a minute in all.
        "generation": {"mode": "all", "max-examples": 20, "deterministic": True, "database": "none"},
        "phases": {"stateful": {"enabled": False}},
        # Every other built-in check stays on (no 5xx, documented status, content type, schema and headers,
        # auth enforced, 405 with Allow). These two judge acceptance, which a schema cannot pin down here:
        # cursors are opaque, Slack's payload is JSON inside a form field, a window is at most 90d, and an
        # empty filter (`?urgency=`) or an unknown health scope is deliberately read as "no filter".
        "checks": {"positive_data_acceptance": {"enabled": False}, "negative_data_rejection": {"enabled": False}},
    }
)


@pytest.fixture
def settings(database_url, redis_url):
    """X and Meta configured too, so their webhooks answer instead of 404."""
    return make_settings(database_url, redis_url, x_oauth2_client_secret=X_SECRET, x_consumer_secret=X_SECRET,
                         meta_app_secret=META_SECRET, meta_verify_token=META_TOKEN)  # fmt: skip


@pytest.fixture
def api_schema(app):
    return schemathesis.openapi.from_wsgi("/openapi.json", app, config=CONFIG)


@pytest.fixture
def spec(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.get_json()


@pytest.fixture
def seeded(settings):
    now = utcnow()
    with transaction(settings.database_url) as session:
        tickets = [
            seed_ticket(session, now - timedelta(hours=h), urgency=u, source=s, slack_ts=ts,
                        answered_after=timedelta(minutes=7) if h % 2 else None, claimed_by="U1")  # fmt: skip
            for h, u, s, ts in ((1, "critical", "x", "1.1"), (2, "high", "facebook", None), (5, "low", "x", None))
        ]
        seed_breach(session, tickets[0], now - timedelta(minutes=5))
        # classified long ago, as a model worker would have: /healthz stays 200
        session.execute(update(Mention).values(processed_at=Mention.received_at))
        return [ticket.id for ticket in tickets]


def test_document_is_valid_openapi(spec):
    validate(spec)
    assert spec["openapi"].startswith("3.")
    for path in ("/webhooks/generic", "/webhooks/x", "/webhooks/meta", "/slack/actions", *API_OPERATIONS):
        assert path in spec["paths"], path


def test_real_answers_match_the_schemas(api_schema, seeded):
    """Populated answers (not only the empty lists of a fresh database) pass every schemathesis check."""
    since = iso(utcnow() - timedelta(days=1))
    calls = [
        ("/api/v1/tickets", {}, {}),
        ("/api/v1/tickets", {}, {"limit": 1}),
        ("/api/v1/tickets", {}, {"status": "bogus"}),
        ("/api/v1/tickets/{id}", {"id": "424242"}, {}),
        ("/api/v1/sla/breaches", {}, {"since": since}),
        ("/api/v1/sla/breaches", {}, {"format": "csv"}),
        ("/api/v1/sla/breaches.csv", {}, {}),
        ("/api/v1/sla/summary", {}, {"window": "7d"}),
        ("/api/v1/audit", {}, {}),
        ("/api/v1/audit", {}, {"limit": 1}),
        ("/api/v1/audit", {}, {"cursor": "not-a-cursor"}),
        ("/api/v1/agents", {}, {"window": "7d"}),
        ("/api/v1/agents", {}, {"window": "91d"}),
    ]
    for template, path_parameters, query in calls:
        api_schema[template]["GET"].Case(path_parameters=path_parameters, query=query).call_and_validate(headers=AUTH)
    assert api_schema["/api/v1/tickets"]["GET"].Case().call_and_validate().status_code == 401
    ticket = api_schema["/api/v1/tickets/{id}"]["GET"].Case(path_parameters={"id": str(seeded[0])})
    body = ticket.call_and_validate(headers=AUTH).json()
    assert body["events"] and body["mentions"] and body["sla"]["first_response"]["met_at"]
    replying = api_schema["/api/v1/tickets/{id}/replies"]["POST"]
    for ticket_id, text, status in ((seeded[0], "Sorry about that.", 202), (seeded[0], "", 400),
                                    (424242, "Hello", 404)):  # fmt: skip
        answer = replying.Case(path_parameters={"id": str(ticket_id)}, body={"text": text})
        assert answer.call_and_validate(headers=AUTH).status_code == status
    body = ticket.call_and_validate(headers=AUTH).json()
    assert [reply["status"] for reply in body["replies"]] == ["queued"]


def _wire_body(case) -> bytes:
    """The exact bytes schemathesis sends for this case, so that they can be signed."""
    kwargs = case.as_transport_kwargs()
    body = {key: kwargs[key] for key in ("data", "json") if key in kwargs}
    builder = EnvironBuilder(method=case.method, headers=kwargs["headers"], **body)
    try:
        return builder.get_request().get_data()
    finally:
        builder.close()


def _signature(case, body: bytes) -> dict:
    """Only the signature headers: the Content-Type stays the one schemathesis chose for the case."""
    return {name: value for name, value in _signed(case.path, body, "", True).items() if name != "Content-Type"}


def _signed_operation(operation) -> bool:
    return operation.method == "post" and operation.path in SIGNED_PATHS


def _guarded(ctx) -> bool:
    """Behind the bearer token (`security` in the document) or a platform's signature."""
    return "security" in ctx.operation.definition.raw or _signed_operation(ctx.operation)


# Loaded at collection from a bare app's /openapi.json (serving the document touches no database);
# each test sends its cases to its own `app`, wired to its own database. Schemathesis leaves out the
# document's own path; test_document_is_valid_openapi reads it.
schema = schemathesis.openapi.from_wsgi("/openapi.json", create_app(Settings(), parse_config({})), config=CONFIG)
HEALTH_CHECKS = hypothesis_settings(suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large,
])  # fmt: skip


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@schema.parametrize()
@HEALTH_CHECKS
def test_every_operation_with_credentials(case, app, seeded):
    """A real bearer token, and bodies signed as each platform signs them, so that the handlers behind
    the checks are reached; `ignored_auth` also confirms that a 2xx needs the token."""
    if _signed_operation(case.operation):
        body = _wire_body(case)
        case.call_and_validate(app=app, headers=_signature(case, body), data=body)
    else:
        case.call_and_validate(app=app, headers=AUTH)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@schema.include(_guarded).parametrize()
@HEALTH_CHECKS
def test_guarded_operations_without_credentials(case, app):
    """Whatever schemathesis generates for the token and the signature headers, or none at all:
    refused with a documented 401 and its message, never a 500."""
    response = case.call_and_validate(app=app)
    if case.method.lower() == case.operation.method:  # not one of the coverage phase's unexpected-method probes
        assert response.status_code == 401, (case.method, case.path, response.status_code)
