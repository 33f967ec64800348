"""The paging clients over real HTTP: PagerDuty's Events API v2 against its stand-in
(standins.pagerduty) and the signed on-call webhook against a receiver that verifies like
/webhooks/generic. One alert per dedup_key however often it is sent, throttling waited out,
invalid events refused for good, timeouts retried, and no secret in a log line or a reason."""

import json
import logging
import time
from urllib.request import Request, urlopen

import pytest
from flask import Flask, jsonify, request

from integrations.paging.config import PagingConfig
from integrations.paging.pager import Page, Pager
from integrations.paging.pagerduty import PagerDutyClient
from integrations.paging.webhook import OncallWebhookClient
from integrations.platforms import generic
from integrations.platforms.mention import SignatureError
from integrations.platforms.replies.outcome import Failed, Retry, Sent
from standins.faults import start_in_thread
from standins.pagerduty import start_pagerduty_standin_in_thread

ROUTING_KEY = "R0SECRETa1b2c3d4e5f6a7b8c9d0e1f2"
HOOK_SECRET = "oncall-hook-SECRET-0123456789"
KEY = "earshot-42-first_response"


@pytest.fixture(scope="module")
def servers():
    pd_url, pd_server = start_pagerduty_standin_in_thread()
    hook_app, received = _receiver()
    hook_url, hook_server = start_in_thread(hook_app, "oncall-receiver")
    yield {"pagerduty": pd_url, "webhook": hook_url, "received": received}
    pd_server.shutdown()
    hook_server.shutdown()


@pytest.fixture
def services(servers):
    _control(servers["pagerduty"], "/_standin/reset", {})
    servers["received"].clear()
    return servers


def _receiver():
    app, received = Flask(__name__), []

    @app.post("/oncall")
    def oncall():
        try:
            generic.verify(HOOK_SECRET, request.headers.get("X-Earshot-Timestamp"),
                           request.headers.get("X-Earshot-Signature"), request.get_data(), time.time())  # fmt: skip
        except SignatureError as error:
            return jsonify(error=str(error)), 401
        received.append(request.get_json())
        return jsonify(ok=True)

    @app.post("/busy")
    def busy():
        return jsonify(error="slow down"), 429, {"Retry-After": "7"}

    return app, received


def _control(base: str, path: str, body: dict):
    data = json.dumps(body).encode()
    with urlopen(Request(base + path, data=data, headers={"Content-Type": "application/json"})) as answer:
        return json.load(answer)


def _incidents(base: str) -> list[dict]:
    with urlopen(base + "/_standin/incidents") as answer:
        return json.load(answer)["incidents"]


def _config(services, **overrides) -> PagingConfig:
    settings = {"pagerduty_events_url": services["pagerduty"] + "/v2/enqueue", "pagerduty_routing_key": ROUTING_KEY,
                "oncall_webhook_url": services["webhook"] + "/oncall", "oncall_webhook_secret": HOOK_SECRET,
                "connect_timeout": 2.0, "read_timeout": 0.4, **overrides}  # fmt: skip
    return PagingConfig(**settings)


def _trigger(client: PagerDutyClient, key: str = KEY):
    return client.trigger(key, "Ticket 42 breached first response (critical)", "critical", "earshot",
                          {"ticket_id": "42", "clock": "first_response"},
                          [{"href": "http://127.0.0.1:8000/dashboard", "text": "ticket 42"}])  # fmt: skip


def test_trigger_again_and_resolve_keep_one_alert(services):
    client = PagerDutyClient(_config(services))

    assert _trigger(client) == Sent(KEY)
    assert _trigger(client) == Sent(KEY)
    [alert] = _incidents(services["pagerduty"])
    assert (alert["dedup_key"], alert["state"], alert["triggers"], alert["severity"]) == (KEY, "triggered", 2,
                                                                                          "critical")  # fmt: skip
    assert client.acknowledge(KEY) == Sent(KEY)
    assert _incidents(services["pagerduty"])[0]["state"] == "acknowledged"
    assert client.resolve(KEY) == Sent(KEY)
    assert [a["state"] for a in _incidents(services["pagerduty"])] == ["resolved"]
    assert client.resolve(KEY) == Sent(KEY)  # dropped by PagerDuty, still accepted
    assert _trigger(client) == Sent(KEY)  # after a resolve, a trigger opens a new alert
    assert [a["state"] for a in _incidents(services["pagerduty"])] == ["resolved", "triggered"]
    client.close()


def test_throttling_is_retried_after_a_delay(services):
    client = PagerDutyClient(_config(services))
    _control(services["pagerduty"], "/_standin/faults", {"kind": "rate_limit", "retry_after": 120})

    result = _trigger(client)
    assert isinstance(result, Retry) and result.after_seconds == 120
    assert _incidents(services["pagerduty"]) == []
    assert _trigger(client) == Sent(KEY)


def test_a_server_error_is_retried(services):
    client = PagerDutyClient(_config(services))
    _control(services["pagerduty"], "/_standin/faults", {"kind": "error_before"})

    result = _trigger(client)
    assert isinstance(result, Retry) and "500" in result.reason


def test_an_invalid_event_fails_for_good(services):
    client = PagerDutyClient(_config(services, pagerduty_routing_key="too-short-SECRET"))

    result = _trigger(client)
    assert isinstance(result, Failed) and result.permanent
    assert "400" in result.reason and "routing_key" in result.reason
    assert "too-short-SECRET" not in result.reason


def test_the_standin_validates_like_pagerduty(services):
    url = services["pagerduty"] + "/v2/enqueue"
    body = json.dumps({"routing_key": ROUTING_KEY, "event_action": "trigger", "payload": {"source": "x"}}).encode()
    with pytest.raises(Exception) as error:
        urlopen(Request(url, data=body, headers={"Content-Type": "application/json"}))
    answer = json.load(error.value)
    assert error.value.code == 400 and answer["status"] == "invalid event"
    assert any("summary" in e for e in answer["errors"]) and any("severity" in e for e in answer["errors"])
    body = json.dumps({"routing_key": ROUTING_KEY, "event_action": "resolve"}).encode()
    with pytest.raises(Exception) as error:
        urlopen(Request(url, data=body, headers={"Content-Type": "application/json"}))
    assert any("dedup_key" in e for e in json.load(error.value)["errors"])
    body = json.dumps({"event_action": "snooze", "dedup_key": "k"}).encode()
    with pytest.raises(Exception) as error:
        urlopen(Request(url, data=body, headers={"Content-Type": "application/json"}))
    errors = json.load(error.value)["errors"]
    assert any("routing_key" in e for e in errors) and any("event_action" in e for e in errors)
    with urlopen(services["pagerduty"] + "/") as page:
        assert "No alerts yet" in page.read().decode()


def test_a_timeout_is_retried_and_the_retry_does_not_page_twice(services):
    client = PagerDutyClient(_config(services))
    _control(services["pagerduty"], "/_standin/faults", {"kind": "slow", "delay": 1.0})

    result = _trigger(client)
    assert isinstance(result, Retry)
    time.sleep(0.8)  # the slow answer lands
    assert _trigger(client) == Sent(KEY)
    [alert] = _incidents(services["pagerduty"])
    assert alert["state"] == "triggered"


def test_nothing_listening_is_retried():
    client = PagerDutyClient(PagingConfig(pagerduty_events_url="http://127.0.0.1:9/v2/enqueue",
                                          pagerduty_routing_key=ROUTING_KEY, connect_timeout=0.5))  # fmt: skip
    result = client.resolve(KEY)
    assert isinstance(result, Retry) and result.after_seconds > 0


def test_the_webhook_is_signed_as_the_generic_webhook_verifies(services):
    client = OncallWebhookClient(_config(services))

    assert client.trigger(KEY, 42, "first_response", 1, "Ticket 42 breached") == Sent(KEY)
    assert client.resolve(KEY, 42, "first_response") == Sent(KEY)
    assert services["received"] == [
        {"event": "trigger", "dedup_key": KEY, "ticket_id": "42", "clock": "first_response", "level": 1,
         "summary": "Ticket 42 breached"},
        {"event": "resolve", "dedup_key": KEY, "ticket_id": "42", "clock": "first_response", "level": None,
         "summary": ""},
    ]  # fmt: skip
    wrong = OncallWebhookClient(_config(services, oncall_webhook_secret="another-SECRET"))
    result = wrong.acknowledge(KEY, 42, "first_response")
    assert isinstance(result, Failed) and "401" in result.reason and "another-SECRET" not in result.reason
    busy = OncallWebhookClient(_config(services, oncall_webhook_url=services["webhook"] + "/busy"))
    result = busy.trigger(KEY, 42, "first_response", 0, "x")
    assert isinstance(result, Retry) and result.after_seconds == 7


def test_the_pager_fans_out_to_every_target(services):
    pager = Pager(_config(services))
    page = Page(ticket_id=42, clock="first_response", level=1, summary="Ticket 42 breached", urgency="critical")

    assert pager.trigger(page) == {"pagerduty": Sent(KEY), "oncall webhook": Sent(KEY)}
    assert pager.resolve(page, only=("pagerduty",)) == {"pagerduty": Sent(KEY)}
    assert [a["state"] for a in _incidents(services["pagerduty"])] == ["resolved"]
    assert [r["event"] for r in services["received"]] == ["trigger"]
    pager.close()


def test_no_secret_in_logs_or_reprs(services, caplog):
    caplog.set_level(logging.DEBUG)
    config = _config(services)
    client, hook = PagerDutyClient(config), OncallWebhookClient(config)
    _control(services["pagerduty"], "/_standin/faults", {"kind": "rate_limit"})
    _trigger(client)
    _trigger(client)
    _trigger(PagerDutyClient(_config(services, pagerduty_routing_key="bad-SECRET-key")))
    OncallWebhookClient(_config(services, oncall_webhook_secret="wrong-SECRET")).trigger(KEY, 42, "first_response",
                                                                                        0, "x")  # fmt: skip
    hook.trigger(KEY, 42, "first_response", 0, "x")

    text = caplog.text + repr(config) + repr(client.config)
    assert "page trigger not sent" in caplog.text and "page trigger sent" in caplog.text
    for secret in (ROUTING_KEY, HOOK_SECRET, "bad-SECRET-key", "wrong-SECRET"):
        assert secret not in text
