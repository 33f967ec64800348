"""Security properties, each as a test: constant-time signature checks, replay
windows, secrets absent from logs and error answers, token-guarded API and
dashboard, request size limits, and no SQL assembled from strings.

Customer text is inert in Slack (escaped `&`, `<`, `>`): covered by
tests/test_slack_blocks.py::test_hostile_text_is_escaped_everywhere and the
delivery tests in tests/test_slack_delivery.py, not repeated here.
"""

import ast
import hmac
import io
import json
import logging
import os
import time
from pathlib import Path

import pytest

from core.logs import configure_logging
from integrations.platforms import generic, meta, x
from integrations.slack import signature as slack_signature
from integrations.slack.client import web_client
from integrations.slack.delivery import send_next
from service import MAX_BODY_BYTES
from tests.conftest import API_TOKEN, SLACK_SIGNING_SECRET, WEBHOOK_SECRET, make_settings, mention, post_generic
from tests.slack_support import add_fault, api_standin, open_ticket, post_signed  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parent.parent
BOT_TOKEN = "xoxb-secret-bot-token-4242"
X_SECRET = "x-oauth2-secret-4242424242"
META_SECRET = "meta-app-secret-4242424242"
META_TOKEN = "meta-verify-token-424242"


@pytest.fixture
def compare_calls(monkeypatch):
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    return calls


def test_every_signature_and_token_check_compares_in_constant_time(compare_calls, client):
    body, now = b'{"id": 1}', time.time()
    checks = [
        lambda: generic.verify("s" * 20, str(int(now)), "v1=00", body, now),
        lambda: slack_signature.verify("s" * 20, str(int(now)), "v0=00", body, now),
        lambda: x.verify(body, {x.OAUTH2_HEADER: "sha256=AA=="}, None, "s" * 20),
        lambda: meta.verify(body, "sha256=00", "s" * 20),
    ]
    for check in checks:
        before = len(compare_calls)
        with pytest.raises(ValueError):
            check()
        assert len(compare_calls) == before + 1, "the signature went through hmac.compare_digest"
    before = len(compare_calls)
    assert client.get("/api/v1/tickets", headers={"Authorization": "Bearer not-the-token"}).status_code == 401
    assert len(compare_calls) > before, "API tokens are compared with hmac.compare_digest"


@pytest.mark.parametrize("skew, status", [(-290, 202), (290, 202), (-310, 401), (310, 401)])
def test_generic_webhook_replay_window_is_300_seconds(client, skew, status):
    response = post_generic(client, mention(f"replay{skew}"), timestamp=int(time.time()) + skew)
    assert response.status_code == status
    if status == 401:
        assert "300 seconds" in response.get_json()["error"]


@pytest.mark.parametrize("skew, status", [(-290, 200), (-310, 401), (310, 401)])
def test_slack_replay_window_is_five_minutes(client, skew, status):
    body = b"command=%2Fearshot&text=help&user_id=U0AGENT01"
    response = post_signed(client, "/slack/commands", body, timestamp=int(time.time()) + skew)
    assert response.status_code == status
    if status == 401:
        assert "5 minutes" in response.get_json()["error"]


def test_refusals_never_echo_the_expected_signature(client):
    body = json.dumps(mention("echo")).encode()
    timestamp = int(time.time())
    expected = generic.sign(WEBHOOK_SECRET, timestamp, body)
    headers = {"Content-Type": "application/json", "X-Earshot-Timestamp": str(timestamp),
               "X-Earshot-Signature": "v1=00"}  # fmt: skip
    response = client.post("/webhooks/generic", data=body, headers=headers)
    assert response.status_code == 401
    assert expected[3:] not in response.get_data(as_text=True)
    assert WEBHOOK_SECRET not in response.get_data(as_text=True)


@pytest.fixture
def captured_logs():
    """The process's JSON log output, at DEBUG everywhere, as `make run` formats it."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level, {name: logging.getLogger(name).level for name in ("slack_sdk", "urllib3")}
    buffer = io.StringIO()

    def start(secrets):
        configure_logging(secrets, level="DEBUG")
        root.handlers[0].setStream(buffer)
        for name in saved[2]:
            logging.getLogger(name).setLevel("DEBUG")

    yield start, buffer
    root.handlers[:], root.level = saved[0], saved[1]
    for name, level in saved[2].items():
        logging.getLogger(name).setLevel(level)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_secrets_are_absent_from_logs_and_error_answers(database_url, redis_url, app_config, api_standin,  # noqa: F811
                                                        captured_logs):  # fmt: skip
    from service import create_app

    settings = make_settings(database_url, redis_url, slack_bot_token=BOT_TOKEN, slack_api_url=api_standin + "/api/",
                             x_oauth2_client_secret=X_SECRET, meta_app_secret=META_SECRET,
                             meta_verify_token=META_TOKEN)  # fmt: skip
    start, buffer = captured_logs
    start(settings.secrets())
    client = create_app(settings, app_config).test_client()
    answers = [
        post_generic(client, mention("ok-1")),
        post_generic(client, mention("bad-sig"), secret="wrong-secret-0123456789"),
        post_generic(client, {"id": WEBHOOK_SECRET, "source": "x"}),  # a payload error quoting a secret
        client.get("/api/v1/tickets", headers={"Authorization": f"Bearer {API_TOKEN}x"}),
        client.get("/api/v1/tickets/1", headers={"Authorization": f"Bearer {API_TOKEN}"}),
        client.get(f"/webhooks/meta?hub.mode=subscribe&hub.verify_token={META_TOKEN}x&hub.challenge=1"),
        client.post("/webhooks/x", data=b"{}",
                    headers={"Content-Type": "application/json", x.OAUTH2_HEADER: "sha256=x"}),
        post_signed(client, "/slack/actions", b"payload=%7B%7D", secret="wrong-signing-secret-01"),
    ]
    logging.getLogger("earshot.test").warning(f"a careless message with {BOT_TOKEN} and {SLACK_SIGNING_SECRET}")
    # Slack errors: one refusal, one outage, each logged by the delivery code with the bot token in use.
    ticket_channel = "#support"
    for fault in ({"status": 200, "error": "channel_not_found"}, {"status": 500}):
        open_ticket(database_url, app_config, channel=ticket_channel)
        add_fault(api_standin, method="chat.postMessage", **fault)
        outcome = send_next(settings, app_config.slack, web_client(settings), ticket_channel)
        assert outcome.status in ("failed", "retry", "rerouted")

    logged = buffer.getvalue()
    assert "Slack refused a message" in logged and "Slack delivery failed" in logged, "the Slack errors were logged"
    assert "[redacted]" in logged, "the careless message was redacted"
    pages = "".join(answer.get_data(as_text=True) for answer in answers)
    assert [a.status_code for a in answers] == [202, 401, 400, 401, 404, 403, 401, 401]
    for secret in settings.secrets():
        assert secret not in logged, "a secret reached the log"
        assert secret not in pages, "a secret reached an error answer"


def test_api_and_dashboard_refuse_without_a_token(client):
    for headers in ({}, {"Authorization": "Bearer wrong-token-0123456789"}, {"Authorization": API_TOKEN}):
        response = client.get("/api/v1/tickets", headers=headers)
        assert response.status_code == 401 and response.get_json()["error"]
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/api/v1/tickets", headers={"Authorization": f"Bearer {API_TOKEN}"}).status_code == 200
    page = client.get("/dashboard")
    assert page.status_code == 302 and page.headers["Location"].endswith("/dashboard/login")


def test_no_tokens_configured_refuses_everyone(database_url, redis_url, app_config):
    from service import create_app

    client = create_app(make_settings(database_url, redis_url, api_tokens=()), app_config).test_client()
    response = client.get("/api/v1/tickets", headers={"Authorization": f"Bearer {API_TOKEN}"})
    assert response.status_code == 401 and "EARSHOT_API_TOKENS" in response.get_json()["error"]


@pytest.mark.parametrize("path", ["/webhooks/generic", "/slack/actions", "/slack/commands"])
def test_bodies_over_one_mebibyte_are_refused_with_413(client, path):
    body = b"{" + b" " * MAX_BODY_BYTES + b"}"
    headers = {"Content-Type": "application/json", **signed_headers_for(path, body)}
    response = client.post(path, data=body, headers=headers)
    assert response.status_code == 413
    assert response.get_json() == {"error": "the body is larger than 1 MiB"}


def signed_headers_for(path: str, body: bytes) -> dict:
    now = int(time.time())
    if path == "/webhooks/generic":
        return {"X-Earshot-Timestamp": str(now), "X-Earshot-Signature": generic.sign(WEBHOOK_SECRET, now, body)}
    headers = slack_signature.signed_headers(SLACK_SIGNING_SECRET, body, now)
    return {name: value for name, value in headers.items() if name != "Content-Type"}


def test_batches_over_1000_mentions_are_refused(client):
    response = post_generic(client, {"mentions": [mention(f"b{i}") for i in range(1001)]})
    assert response.status_code == 400 and "at most 1000" in response.get_json()["error"]


# --- no SQL built from strings ---------------------------------------------------------------------------------

SQL_CALLS = {"text", "execute", "exec_driver_sql", "executemany"}
# DDL on database names (CREATE/DROP DATABASE, TRUNCATE of the schema's own tables): identifiers cannot be bound.
DDL_ALLOWED = {"tests/conftest.py", "bench/harness.py"}
# The load benchmark's seeder generates bulk INSERT .. SELECT statements from its own constants (no outside
# input reaches them) so that the database, not Python, produces a million rows.
GENERATED_ALLOWED = {"bench/bench_load.py"}


def _built_from_strings(node: ast.AST) -> bool:
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(part, ast.FormattedValue) for part in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod | ast.Add):
        return any(isinstance(side, ast.Constant) and isinstance(side.value, str) or _built_from_strings(side)
                   for side in (node.left, node.right))  # fmt: skip
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format"


def _is_sql_call(func: ast.AST) -> bool:
    if isinstance(func, ast.Name):
        return func.id in SQL_CALLS
    if not isinstance(func, ast.Attribute):
        return False
    # hypothesis' st.text(...) is not SQL; sqlalchemy.text / sa.text is.
    on_sqlalchemy = getattr(func.value, "id", "") in ("sa", "sqlalchemy")
    return func.attr in SQL_CALLS - {"text"} or (func.attr == "text" and on_sqlalchemy)


def string_built_sql(source: str) -> list[int]:
    """Line numbers of execute()/text() calls whose SQL is an f-string, `%` or `+` concatenation, or .format()."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        if _is_sql_call(node.func) and _built_from_strings(node.args[0]):
            lines.append(node.lineno)
    return lines


def test_the_sql_checker_catches_each_form():
    for bad in ('c.execute(text(f"SELECT {x}"))', 'c.execute("SELECT %s" % x)', 'text("SELECT " + x)',
                'c.exec_driver_sql("DELETE {}".format(x))', 'sa.text("DROP " + x)'):  # fmt: skip
        assert string_built_sql(bad), bad
    assert not string_built_sql('c.execute(text("SELECT :x"), {"x": x})')
    assert not string_built_sql('st.text(string.digits + "-")')


def test_no_sql_is_built_from_strings():
    offenders, ddl = [], []
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith((".venv/", "instance/")) or "/migrations/" in relative or relative in GENERATED_ALLOWED:
            continue
        for line in string_built_sql(path.read_text()):
            (ddl if relative in DDL_ALLOWED else offenders).append(f"{relative}:{line}")
    assert not offenders, f"SQL built from strings (bind parameters instead): {offenders}"
    for where in ddl:  # the allowed cases really are DDL on names
        relative, line = where.rsplit(":", 1)
        statement = (ROOT / relative).read_text().splitlines()[int(line) - 1]
        assert any(word in statement for word in ("DATABASE", "TRUNCATE")), where


def test_production_refuses_the_dev_webhook_secret():
    from core.settings import ConfigError, load_settings

    with pytest.raises(ConfigError, match="WEBHOOK_SECRET"):
        load_settings({"EARSHOT_PRODUCTION": "true", **{k: v for k, v in os.environ.items() if k != "WEBHOOK_SECRET"}})
