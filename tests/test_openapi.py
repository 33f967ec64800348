"""/openapi.json: a valid OpenAPI 3.1 document whose schemas the real answers match, and a bounded
schemathesis-style run (hypothesis draws parameters from the document) that never meets a 500."""

import string
from datetime import UTC, timedelta

import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from core.timeutil import iso, utcnow
from store.db import transaction
from tests.conftest import API_TOKEN
from tests.seeding import seed_breach, seed_ticket

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
API_OPERATIONS = [
    "/api/v1/tickets", "/api/v1/tickets/{id}", "/api/v1/sla/breaches", "/api/v1/sla/breaches.csv",
    "/api/v1/sla/summary",
]  # fmt: skip


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
        return [ticket.id for ticket in tickets]


def _resolve(spec: dict, item: dict) -> dict:
    while "$ref" in item:
        node = spec
        for part in item["$ref"].lstrip("#/").split("/"):
            node = node[part]
        item = node
    return item


def check_against_spec(spec: dict, template: str, response) -> None:
    """The status is documented for the operation, and a JSON body matches its schema."""
    documented = spec["paths"][template]["get"]["responses"]
    assert str(response.status_code) in documented, f"{template}: undocumented status {response.status_code}"
    content = _resolve(spec, documented[str(response.status_code)]).get("content", {})
    assert response.mimetype in content, f"{template}: undocumented type {response.mimetype}"
    schema = content[response.mimetype]["schema"]
    if response.mimetype == "application/json":
        validator = Draft202012Validator(
            {**schema, "components": spec["components"]}, format_checker=Draft202012Validator.FORMAT_CHECKER
        )
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(response.get_json())]
        assert not errors, f"{template}: {errors[:3]}"


def test_document_is_valid_openapi(spec):
    validate(spec)
    assert spec["openapi"].startswith("3.")
    for path in ("/webhooks/generic", "/webhooks/x", "/webhooks/meta", "/slack/actions", *API_OPERATIONS):
        assert path in spec["paths"], path


def test_real_answers_match_the_schemas(client, spec, seeded):
    since = iso(utcnow() - timedelta(days=1))
    calls = [
        ("/api/v1/tickets", "/api/v1/tickets", {}),
        ("/api/v1/tickets", "/api/v1/tickets", {"limit": 1}),
        ("/api/v1/tickets", "/api/v1/tickets", {"status": "bogus"}),
        ("/api/v1/tickets/{id}", f"/api/v1/tickets/{seeded[0]}", {}),
        ("/api/v1/tickets/{id}", "/api/v1/tickets/424242", {}),
        ("/api/v1/sla/breaches", "/api/v1/sla/breaches", {"since": since}),
        ("/api/v1/sla/breaches", "/api/v1/sla/breaches", {"format": "csv"}),
        ("/api/v1/sla/breaches.csv", "/api/v1/sla/breaches.csv", {}),
        ("/api/v1/sla/summary", "/api/v1/sla/summary", {"window": "7d"}),
    ]
    for template, path, params in calls:
        check_against_spec(spec, template, client.get(path, query_string=params, headers=AUTH))
    check_against_spec(spec, "/api/v1/tickets", client.get("/api/v1/tickets"))  # the 401
    body = client.get(f"/api/v1/tickets/{seeded[0]}", headers=AUTH).get_json()
    assert body["events"] and body["mentions"] and body["sla"]["first_response"]["met_at"]


def _value(schema: dict):
    """Values the schema allows, mixed with what a careless or hostile client sends."""
    hostile = st.text(max_size=30) | st.sampled_from(["", "-1", "0", "null", "true", "1e309", "%00", "\x00", "9" * 30])
    if "enum" in schema:
        valid = st.sampled_from(schema["enum"])
    elif schema.get("format") == "date-time":
        valid = st.datetimes(timezones=st.just(UTC)).map(iso)
    elif schema.get("type") == "integer":
        valid = st.integers(schema.get("minimum", -(2**70)) - 1, schema.get("maximum", 2**70) + 1).map(str)
    elif "pattern" in schema and schema["pattern"] == "^[0-9]+[smhdw]$":
        valid = st.builds(lambda n, u: f"{n}{u}", st.integers(0, 10**6), st.sampled_from("smhdw"))
    else:
        valid = st.text(max_size=20)
    return valid | hostile


def _requests(spec: dict, template: str):
    parameters = [_resolve(spec, p) for p in spec["paths"][template]["get"].get("parameters", [])]
    query = {p["name"]: _value(p["schema"]) for p in parameters if p["in"] == "query"}
    path_ids = st.integers(-5, 2**70).map(str) | st.text(string.ascii_letters + string.digits + "-_~", min_size=1)
    return st.tuples(
        path_ids,
        st.fixed_dictionaries({}, optional=query),
    )


@pytest.mark.parametrize("template", API_OPERATIONS)
def test_generated_requests_never_fail(client, spec, seeded, template):
    @hypothesis_settings(max_examples=40, deadline=None, database=None,
                         suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(_requests(spec, template))  # fmt: skip
    def run(drawn):
        path_id, params = drawn
        path = template.replace("{id}", path_id)
        response = client.get(path, query_string=params, headers=AUTH)
        assert response.status_code < 500, (path, params, response.get_data(as_text=True)[:300])
        check_against_spec(spec, template, response)

    run()
