"""Every public endpoint under random bodies, headers and query strings, through
the Flask test client: never a 500, and every refusal a 4xx JSON answer with a
clear message. Bodies are sometimes correctly signed so that the parsers
behind the signature checks are reached too."""

import json
import time
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from integrations.platforms import generic, meta, x
from integrations.slack import signature as slack_signature
from tests.conftest import API_TOKEN, SLACK_SIGNING_SECRET, WEBHOOK_SECRET, make_settings
from tests.test_fuzz_parsers import JSON

X_SECRET = "fuzz-x-oauth2-secret-0123"
META_SECRET = "fuzz-meta-app-secret-0123"
META_TOKEN = "fuzz-meta-verify-token"
BOUNDED = hypothesis_settings(max_examples=60, deadline=None,
                              suppress_health_check=[HealthCheck.function_scoped_fixture])

TEXT = st.text(max_size=60)
QUERY = st.dictionaries(st.sampled_from(["status", "urgency", "breached", "channel", "since", "cursor", "limit",
                                         "window", "crc_token", "hub.mode", "hub.verify_token", "hub.challenge",
                                         "q", "source"]) | TEXT, TEXT, max_size=5)  # fmt: skip
CONTENT_TYPES = st.sampled_from(["application/json", "application/json; charset=utf-16", "text/plain",
                                 "application/x-www-form-urlencoded", "multipart/form-data", "", "application/xml"])
# Shapes that found issue 16's attacks: deep nesting, long repetitive text, ids that are not strings.
NESTED = st.integers(min_value=1, max_value=1500).map(
    lambda depth: ('{"id": "n", "source": "x", "author": {"id": "u"}, "text": "t", "nest": '
                   + '{"a": ' * depth + "1" + "}" * (depth + 1)).encode())
REPETITIVE = st.builds(lambda word, times: json.dumps({"id": "r", "source": "x", "author": {"id": "u"},
                                                       "text": word * times}).encode(),
                       st.sampled_from(["no scam ", "not ", "&amp;", "@a "]), st.integers(1, 30000))
ODD_IDS = st.builds(lambda value: json.dumps({"id": value, "source": "x", "author": {"id": value}, "text": "t",
                                              "for_user_id": value,
                                              "tweet_create_events": [{"id_str": value}]}).encode(), JSON)  # fmt: skip
BODIES = st.one_of(
    NESTED, REPETITIVE, ODD_IDS,
    st.binary(max_size=2048),
    JSON.map(lambda value: json.dumps(value).encode()),
    JSON.map(lambda value: json.dumps({"mentions": [value]}).encode()),
    st.just(b'{"a": NaN}'), st.just(b"[" * 5000), st.just(b'{"text": "\\ud800"}'),
)  # fmt: skip


@pytest.fixture
def settings(database_url, redis_url):
    return make_settings(database_url, redis_url, x_oauth2_client_secret=X_SECRET, x_consumer_secret=X_SECRET,
                         meta_app_secret=META_SECRET, meta_verify_token=META_TOKEN)  # fmt: skip


def assert_clear_answer(response, where: str) -> None:
    assert response.status_code < 500, f"{where}: {response.status_code} {response.get_data()[:300]!r}"
    if response.status_code >= 400 and not where.startswith("/dashboard/login"):
        assert response.mimetype == "application/json", f"{where}: {response.status_code} {response.mimetype}"
        error = response.get_json()["error"]
        assert isinstance(error, str) and error.strip(), where


def _signed(path: str, body: bytes, content_type: str, sign: bool) -> dict:
    headers = {"Content-Type": content_type} if content_type else {}
    if not sign:
        return headers
    now = int(time.time())
    if path == "/webhooks/generic":
        headers["X-Earshot-Timestamp"] = str(now)
        headers["X-Earshot-Signature"] = generic.sign(WEBHOOK_SECRET, now, body)
    elif path == "/webhooks/x":
        headers[x.OAUTH2_HEADER] = x.signature(X_SECRET, body)
    elif path == "/webhooks/meta":
        headers[meta.SIGNATURE_HEADER] = "sha256=" + generic.hex_signature(META_SECRET, body)
    else:
        headers.update(slack_signature.signed_headers(SLACK_SIGNING_SECRET, body, now))
        headers["Content-Type"] = content_type or headers["Content-Type"]
    return headers


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@BOUNDED
@given(path=st.sampled_from(["/webhooks/generic", "/webhooks/x", "/webhooks/meta"]), body=BODIES,
       content_type=CONTENT_TYPES, sign=st.booleans(), query=QUERY)  # fmt: skip
def test_webhooks_never_fail_with_a_500(client, path, body, content_type, sign, query):
    response = client.post(path, data=body, headers=_signed(path, body, content_type, sign), query_string=query)
    assert_clear_answer(response, path)


SLACK_FORMS = st.one_of(
    st.dictionaries(st.sampled_from(["payload", "text", "user_id", "command", "response_url"]) | TEXT,
                    TEXT | JSON.map(json.dumps), max_size=4),
    st.builds(lambda action, value, user, kind: {"payload": json.dumps({
        "type": kind, "user": {"id": user}, "actions": [{"action_id": action, **value}]})},
        st.sampled_from(["ticket_claim", "ticket_resolve", "ticket_set_urgency", "ticket_responded",
                         "ticket_not_complaint", "bogus"]) | TEXT,
        st.dictionaries(st.sampled_from(["value", "selected_option"]), JSON, max_size=2),
        st.sampled_from(["U0AGENT01", "", "x"]) | TEXT, st.sampled_from(["block_actions", "view_submission"])),
    st.builds(lambda text: {"command": "/earshot", "user_id": "U0AGENT01", "text": text},
              st.sampled_from(["sla", "breaches", "ticket 1", "ticket 99999999999999999999", "ticket ²", "help", ""])
              | TEXT),
)  # fmt: skip


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@BOUNDED
@given(path=st.sampled_from(["/slack/actions", "/slack/commands"]), form=SLACK_FORMS,
       raw=st.none() | st.binary(max_size=512), sign=st.booleans(), content_type=CONTENT_TYPES)  # fmt: skip
def test_slack_endpoints_never_fail_with_a_500(client, path, form, raw, sign, content_type):
    body = raw if raw is not None else urlencode(form).encode()
    content_type = "application/x-www-form-urlencoded" if raw is None else content_type
    response = client.post(path, data=body, headers=_signed(path, body, content_type, sign))
    assert_clear_answer(response, path)


@pytest.mark.parametrize("form", [
    {"command": "/earshot", "user_id": "U0AGENT01", "text": "ticket 99999999999999999999"},
    {"command": "/earshot", "user_id": "U0AGENT01", "text": "incident ²"},
    {"payload": json.dumps({"type": "block_actions", "user": {"id": "U0AGENT01"},
                            "actions": [{"action_id": "ticket_claim", "value": "99999999999999999999"}]})},
])  # fmt: skip
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_ids_past_64_bits_or_not_ascii_are_refused_not_crashed(client, form):
    """Found by the fuzzing above: these answered 500 (bigint out of range, int("²"))."""
    path = "/slack/actions" if "payload" in form else "/slack/commands"
    body = urlencode(form).encode()
    response = client.post(path, data=body, headers=_signed(path, body, "application/x-www-form-urlencoded", True))
    assert response.status_code in (200, 400), response.get_data()
    assert_clear_answer(response, path)


GET_PATHS = ["/api/v1/tickets", "/api/v1/tickets/1", "/api/v1/sla/breaches", "/api/v1/sla/breaches.csv",
             "/api/v1/sla/summary", "/dashboard", "/dashboard/login", "/healthz", "/metrics", "/openapi.json",
             "/webhooks/x", "/webhooks/meta"]  # fmt: skip


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
@BOUNDED
@given(path=st.sampled_from(GET_PATHS) | st.builds(lambda s: "/api/v1/tickets/" + quote(s, safe=""), TEXT.filter(bool)),
       query=QUERY, token=st.sampled_from([None, API_TOKEN, "wrong-token", ""]),
       method=st.sampled_from(["GET", "GET", "GET", "POST", "DELETE", "PUT"]))  # fmt: skip
def test_reading_endpoints_never_fail_with_a_500(client, path, query, token, method):
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    response = client.open(path, method=method, query_string=query, headers=headers)
    assert_clear_answer(response, path)
    if path.startswith("/api/") and token != API_TOKEN:
        assert response.status_code in (401, 404, 405), path


@pytest.mark.parametrize("path", ["/api/v1/tickets/%2F0", "/api/v1/tickets//0", "/api//v1/tickets/0"])
def test_doubled_slashes_are_not_found_not_redirected(client, path):
    """Found by the fuzzing above: werkzeug answered 308 to a path with its slashes merged."""
    response = client.get(path, headers={"Authorization": f"Bearer {API_TOKEN}"})
    assert response.status_code == 404
    assert_clear_answer(response, path)


def test_assert_clear_answer_catches_a_500_and_an_html_refusal(app):
    """The checker itself can fail (so the properties above are not vacuous)."""
    with app.test_request_context():
        from flask import Response

        with pytest.raises(AssertionError):
            assert_clear_answer(Response("boom", status=500), "/x")
        with pytest.raises(AssertionError):
            assert_clear_answer(Response("<h1>nope</h1>", status=400, mimetype="text/html"), "/api/v1/tickets")
