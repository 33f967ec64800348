"""Answering from Slack: **Reply** opens the modal (views.open on the stand-in), its submission queues one
reply or answers field errors, **Waiting on customer** and `/earshot wait` pause the clocks, **Retry** requeues
a failed reply, the failure note carries Retry; hostile payloads are 400; the stand-in page's modal round trip."""

import dataclasses
import json
import re
from urllib.parse import urlencode
from urllib.request import Request, urlopen

import pytest
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import func, select

from core.timeutil import utcnow
from standins import slack as slack_standin
from standins import slack_page
from store.db import transaction
from store.schema import Reply, Ticket, TicketEvent
from tests.slack_support import (  # noqa: F401  (fixtures)
    action_body,
    add_fault,
    get_ticket,
    jobs,
    open_ticket,
    parents,
    post_signed,
    standin,
    standin_messages,
    submission_body,
)
from tests.test_dashboard_browser import browser  # noqa: F401  (fixture)
from tickets import outbox, replies
from workers import deliver

TOO_LONG_FOR_X = "a" * 279 + "\u4e2d"  # 279 + a CJK character weighing 2: 281 weighted characters (and
# ChromeDriver types it: it cannot type characters outside the BMP, such as emoji)


def _post_json(url: str, fields: dict) -> dict:
    """As the stand-in page's script posts."""
    request = Request(url, data=json.dumps(fields).encode(), headers={"Content-Type": "application/json"},
                      method="POST")  # fmt: skip
    try:
        with urlopen(request, timeout=10) as answer:
            return json.loads(answer.read())
    except Exception as error:  # an HTTPError's body is the stand-in's JSON too
        return json.loads(error.read())


def _get(url: str) -> str:
    with urlopen(url, timeout=5) as answer:
        return answer.read().decode()


def _views(standin_url: str) -> list[dict]:
    with urlopen(standin_url + "/_standin/views", timeout=5) as answer:
        return json.loads(answer.read())["views"]


def _trigger(standin_url: str, user: str = "U0AGENT01") -> str:
    return _post_json(standin_url + "/_standin/triggers", {"user": user})["trigger_id"]


def _replies(database_url: str) -> list[Reply]:
    with transaction(database_url) as session:
        return list(session.scalars(select(Reply).order_by(Reply.id)))


@pytest.fixture
def slack_api(app, standin):  # noqa: F811  (the fixture of tests.slack_support)
    """The app's own Slack calls (views.open, in the request) go to this test's stand-in."""
    port = int(standin.rsplit(":", 1)[1])
    app.config["SETTINGS"] = dataclasses.replace(app.config["SETTINGS"], slack_standin_port=port)
    return standin


def _input(view: dict, block_id: str) -> dict:
    return next(block for block in view["blocks"] if block.get("block_id") == block_id)


@pytest.mark.parametrize(("source", "max_length", "hint"), [
    ("x", 280, "X counts 280 weighted characters"),
    ("instagram", 2200, "Instagram allows 2,200 characters"),
    ("facebook", 3000, "Facebook allows 8,000 characters. This box takes 3,000"),
])  # fmt: skip
@pytest.mark.usefixtures("jobs")
def test_reply_opens_the_modal_with_views_open(settings, app_config, client, slack_api, source, max_length, hint):
    ticket_id = open_ticket(settings.database_url, app_config, source=source, text="<!channel> refund me & now")
    body = action_body("ticket_reply", str(ticket_id), trigger_id=_trigger(slack_api))
    answer = post_signed(client, "/slack/actions", body)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    [opened] = _views(slack_api)
    view = opened["view"]
    assert opened["user"] == "U0AGENT01" and view["id"].startswith("V")
    assert (view["callback_id"], view["private_metadata"], view["submit"]["text"]) == (
        "ticket_reply", str(ticket_id), "Send reply")
    box = _input(view, "reply")
    assert box["element"] == {"type": "plain_text_input", "action_id": "text", "multiline": True,
                              "max_length": max_length}  # fmt: skip
    assert hint in box["hint"]["text"]
    assert _input(view, "resolve")["optional"] and _input(view, "resolve")["element"]["type"] == "checkboxes"
    shown = json.dumps(view["blocks"])
    assert "&lt;!channel&gt; refund me &amp; now" in shown and "<!channel>" not in shown
    assert not _replies(settings.database_url)  # opening the form changes nothing


@pytest.mark.usefixtures("jobs")
def test_a_platform_earshot_cannot_post_on_opens_a_modal_that_says_why(settings, app_config, client, slack_api):
    ticket_id = open_ticket(settings.database_url, app_config, source="trustpilot")
    answer = post_signed(client, "/slack/actions", action_body("ticket_reply", str(ticket_id),
                                                               trigger_id=_trigger(slack_api)))  # fmt: skip
    assert answer.status_code == 200
    [opened] = _views(slack_api)
    assert "submit" not in opened["view"] and not any(b["type"] == "input" for b in opened["view"]["blocks"])
    assert "REPLY_WEBHOOK_URL" in json.dumps(opened["view"]["blocks"])


@pytest.mark.usefixtures("jobs")
def test_a_webhook_platform_gets_the_box_at_slacks_ceiling(settings, app_config, client, app, slack_api):
    app.config["REPLIES"] = dataclasses.replace(app.config["REPLIES"], reply_webhook_url="https://hooks.example/r",
                                                reply_webhook_secret="s3cret-for-replies")  # fmt: skip
    ticket_id = open_ticket(settings.database_url, app_config, source="trustpilot")
    answer = post_signed(client, "/slack/actions", action_body("ticket_reply", str(ticket_id),
                                                               trigger_id=_trigger(slack_api)))  # fmt: skip
    assert answer.status_code == 200
    box = _input(_views(slack_api)[0]["view"], "reply")
    assert box["element"]["max_length"] == 3000
    assert "trustpilot allows 10,000 characters. This box takes 3,000" in box["hint"]["text"]


@pytest.mark.usefixtures("jobs")
def test_views_open_refusals_answer_502(settings, app_config, client, slack_api):
    ticket_id = open_ticket(settings.database_url, app_config)
    trigger = _trigger(slack_api)
    assert post_signed(client, "/slack/actions", action_body("ticket_reply", str(ticket_id), trigger_id=trigger)
                       ).status_code == 200  # fmt: skip
    again = post_signed(client, "/slack/actions", action_body("ticket_reply", str(ticket_id), trigger_id=trigger))
    assert again.status_code == 502 and "exchanged_trigger_id" in again.get_json()["error"]  # one view per trigger
    unknown = post_signed(client, "/slack/actions", action_body("ticket_reply", str(ticket_id), trigger_id="9.9.x"))
    assert unknown.status_code == 502 and "invalid_trigger_id" in unknown.get_json()["error"]
    add_fault(slack_api, method="views.open", status=503)
    down = post_signed(client, "/slack/actions", action_body("ticket_reply", str(ticket_id),
                                                             trigger_id=_trigger(slack_api)))  # fmt: skip
    assert down.status_code == 502 and len(_views(slack_api)) == 1


@pytest.mark.parametrize(("text", "said"), [
    ("", "empty"),
    (None, "empty"),  # what Slack sends for an empty box
    ("   \n ", "empty"),
    (TOO_LONG_FOR_X, "281 of X's 280"),
])  # fmt: skip
@pytest.mark.usefixtures("jobs")
def test_text_the_platform_would_refuse_is_a_field_error(settings, app_config, client, text, said):
    ticket_id = open_ticket(settings.database_url, app_config)
    answer = post_signed(client, "/slack/actions", submission_body(ticket_id, text))
    assert answer.status_code == 200
    found = answer.get_json()
    assert found["response_action"] == "errors" and said in found["errors"]["reply"]
    assert not _replies(settings.database_url)


@pytest.mark.parametrize("resolve", [False, True])
@pytest.mark.usefixtures("jobs")
def test_a_valid_submission_queues_exactly_one_reply(settings, app_config, client, resolve):
    ticket_id = open_ticket(settings.database_url, app_config)
    text = "a" * 278 + "\U0001f642"  # exactly 280 weighted characters: X takes it
    answer = post_signed(client, "/slack/actions", submission_body(ticket_id, text, resolve=resolve))
    assert answer.status_code == 200 and answer.get_data() == b""  # an empty 200 closes the modal
    [reply] = _replies(settings.database_url)
    assert (reply.ticket_id, reply.text, reply.status, reply.actor, reply.resolve_after) == (
        ticket_id, text, "queued", "U0AGENT01", resolve)
    with transaction(settings.database_url) as session:
        queued = session.scalars(select(TicketEvent).where(TicketEvent.type == "reply_queued")).one()
        assert (queued.actor, queued.data["actor_name"]) == ("U0AGENT01", "agent")


@pytest.mark.usefixtures("jobs")
def test_a_ticket_that_cannot_be_answered_is_a_field_error(settings, app_config, client):
    ticket_id = open_ticket(settings.database_url, app_config)
    assert post_signed(client, "/slack/actions", action_body("ticket_resolve", str(ticket_id))).status_code == 200
    resolved = post_signed(client, "/slack/actions", submission_body(ticket_id, "Sorry about that!"))
    assert resolved.get_json()["errors"]["reply"] == "Cannot send: ticket is resolved."
    missing = post_signed(client, "/slack/actions", submission_body(ticket_id + 1000, "Sorry about that!"))
    assert "no longer exists" in missing.get_json()["errors"]["reply"]
    other = open_ticket(settings.database_url, app_config, source="trustpilot")  # no REPLY_WEBHOOK_URL
    assert "REPLY_WEBHOOK_URL" in post_signed(client, "/slack/actions", submission_body(other, "Hi")
                                              ).get_json()["errors"]["reply"]  # fmt: skip
    assert not _replies(settings.database_url)


@pytest.mark.usefixtures("jobs")
def test_wait_pauses_the_clocks_and_the_parent_says_so(settings, app_config, client, slack_api):
    ticket_id = open_ticket(settings.database_url, app_config)
    deliver.drain(["#support"])
    assert post_signed(client, "/slack/actions", action_body("ticket_wait", str(ticket_id))).status_code == 200
    ticket = get_ticket(settings.database_url, ticket_id)
    assert ticket.paused_at is not None and ticket.next_deadline_at is None
    deliver.drain(["#support"])
    [parent] = parents(slack_api, "#support")
    shown = json.dumps(parent["blocks"])
    assert "Waiting on customer" in shown and parent.get("edited")
    assert '"ticket_wait"' not in shown and '"ticket_reply"' in shown  # already waiting: no second Wait
    with transaction(settings.database_url) as session:
        events = session.scalars(select(TicketEvent.actor).where(TicketEvent.type == "waiting")).all()
    assert events == ["U0AGENT01"]


def _command(client, text: str, user: str = "U0LEAD") -> str:
    body = urlencode({"command": "/earshot", "text": text, "user_id": user}).encode()
    answer = post_signed(client, "/slack/commands", body)
    assert answer.status_code == 200
    return answer.get_json()["text"]


@pytest.mark.usefixtures("jobs")
def test_earshot_wait_pauses_the_clocks(settings, app_config, client):
    ticket_id = open_ticket(settings.database_url, app_config)
    assert "is waiting on the customer" in _command(client, f"wait {ticket_id}")
    assert get_ticket(settings.database_url, ticket_id).paused_at is not None
    assert "already waiting" in _command(client, f"wait #{ticket_id}")
    assert "Usage" in _command(client, "wait") and "Usage" in _command(client, "wait ²")
    assert f"No ticket #{ticket_id + 99}" in _command(client, f"wait {ticket_id + 99}")
    assert "`wait <id>`" in _command(client, "help")
    with transaction(settings.database_url) as session:
        assert session.scalars(select(TicketEvent.actor).where(TicketEvent.type == "waiting")).all() == ["U0LEAD"]


def _failed_reply(database_url: str, ticket_id: int, reason: str = "the platform refused it") -> int:
    with transaction(database_url) as session:
        ticket = session.get(Ticket, ticket_id)
        reply = replies.queue_reply(session, ticket, "We are on it.", "U0AGENT01", utcnow())
        reply.status, reply.last_error, reply.attempts = "failed", reason, 3
        outbox.queue_reply_failure(session, ticket, reply, reason)
        return reply.id


@pytest.mark.usefixtures("jobs")
def test_retry_requeues_a_failed_reply(settings, app_config, client):
    ticket_id = open_ticket(settings.database_url, app_config)
    reply_id = _failed_reply(settings.database_url, ticket_id)
    answer = post_signed(client, "/slack/actions", action_body("ticket_reply_retry", str(reply_id), user="U0LEAD"))
    assert answer.status_code == 200
    [reply] = _replies(settings.database_url)
    assert reply.status in replies.DUE and reply.attempts == 0  # the worker asks the platform before resending
    with transaction(settings.database_url) as session:
        retried = session.scalars(select(TicketEvent).where(TicketEvent.type == "reply_retry")).one()
        assert (retried.actor, retried.data["reply_id"]) == ("U0LEAD", reply_id)
    missing = post_signed(client, "/slack/actions", action_body("ticket_reply_retry", str(reply_id + 50)))
    assert missing.status_code == 404


@pytest.mark.usefixtures("jobs")
def test_the_failure_note_has_a_retry_button_while_the_reply_is_failed(settings, app_config, client, slack_api):
    ticket_id = open_ticket(settings.database_url, app_config)
    deliver.drain(["#support"])
    reply_id = _failed_reply(settings.database_url, ticket_id, reason="<!channel> duplicate status")
    deliver.drain(["#support"])
    [note] = [m for m in standin_messages(slack_api, "#support") if "duplicate status" in m["text"]]
    [actions] = [block for block in note["blocks"] if block["type"] == "actions"]
    [button] = actions["elements"]
    assert (button["action_id"], button["value"], button["text"]["text"]) == (
        "ticket_reply_retry", str(reply_id), "Retry")
    shown = json.dumps(note["blocks"])
    assert "&lt;!channel&gt; duplicate status" in shown and "We are on it." in shown and note.get("thread_ts")


@pytest.mark.usefixtures("jobs")
def test_a_failure_note_of_a_reply_already_retried_has_no_button(settings, app_config, client, slack_api):
    ticket_id = open_ticket(settings.database_url, app_config)
    deliver.drain(["#support"])
    reply_id = _failed_reply(settings.database_url, ticket_id)
    assert post_signed(client, "/slack/actions", action_body("ticket_reply_retry", str(reply_id))).status_code == 200
    deliver.drain(["#support"])
    [note] = [m for m in standin_messages(slack_api, "#support") if "was not posted" in m["text"]]
    assert not any(block["type"] == "actions" for block in note["blocks"])


def _view_payload(**view) -> bytes:
    return _payload(type="view_submission", user={"id": "U0AGENT01"}, view=view)


def _payload(**payload) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


def _values(**values) -> dict:
    return {"callback_id": "ticket_reply", "private_metadata": "1", "state": {"values": values}}


HOSTILE = [
    _payload(type="view_submission", user={"id": "U0AGENT01"}),  # no view
    _view_payload(),  # no callback_id
    _payload(type="view_submission", user={"id": "U0AGENT01"}, view="ticket_reply"),
    _payload(type="view_submission", user={"id": "U0AGENT01"}, view=[1]),
    _view_payload(callback_id="ticket_explode", private_metadata="1"),
    _view_payload(callback_id=7, private_metadata="1"),
    _view_payload(callback_id=["ticket_reply"], private_metadata="1"),
    _view_payload(callback_id="ticket_reply", private_metadata="abc", state={"values": {}}),
    _view_payload(callback_id="ticket_reply", private_metadata=1, state={"values": {}}),
    _view_payload(callback_id="ticket_reply", private_metadata="", state={"values": {}}),
    _view_payload(callback_id="ticket_reply", private_metadata="1" * 19, state={"values": {}}),
    _view_payload(callback_id="ticket_reply", private_metadata="²", state={"values": {}}),
    _view_payload(callback_id="ticket_reply", private_metadata="1"),  # no state
    _view_payload(callback_id="ticket_reply", private_metadata="1", state={"values": []}),
    _view_payload(**_values()),  # no reply block
    _view_payload(**_values(reply={"text": "hello"})),
    _view_payload(**_values(reply={"text": {"value": 42}})),
    _view_payload(**_values(reply={"text": {"value": {"text": "hello"}}})),
    _view_payload(**_values(reply={"text": {"value": ["hello"]}})),
    _view_payload(**_values(reply={"text": {"value": "hi"}}, resolve={"resolve": {"selected_options": "resolve"}})),
    _view_payload(**_values(reply={"text": {"value": "hi"}}, resolve={"resolve": {"selected_options": [1]}})),
    _view_payload(**_values(reply={"text": {"value": "hi"}}, resolve=["resolve"])),
    _payload(type="view_submission", user={"id": "<!channel>"}, view=_values(reply={"text": {"value": "hi"}})),
    _payload(type="view_submission", user="U0AGENT01", view=_values(reply={"text": {"value": "hi"}})),
    _payload(type="view_closed", user={"id": "U0AGENT01"}, view=_values()),
    _payload(type=["view_submission"]),
    b"payload=%5B1%2C2%5D",  # a JSON list
    b"payload=%22view_submission%22",  # a JSON string
    action_body("ticket_reply", "1"),  # no trigger_id: no modal can open
    action_body("ticket_reply", "1", trigger_id=""),
    _payload(type="block_actions", user={"id": "U0AGENT01"}, trigger_id=5,
             actions=[{"action_id": "ticket_reply", "value": "1"}]),  # fmt: skip
    action_body("ticket_reply_retry", "abc"),
    action_body("ticket_reply_retry", "1:2x"),
]


@pytest.mark.parametrize("body", HOSTILE, ids=range(len(HOSTILE)))
@pytest.mark.usefixtures("jobs")
def test_hostile_payload_shapes_are_400(settings, app_config, client, body):
    ticket_id = open_ticket(settings.database_url, app_config)
    assert ticket_id == 1
    answer = post_signed(client, "/slack/actions", body)
    assert answer.status_code == 400 and answer.get_json()["error"]
    assert not _replies(settings.database_url)


@pytest.mark.usefixtures("jobs")
def test_the_standin_page_opens_the_modal_and_submits_it(settings, app_config, slack_api):
    ticket_id = open_ticket(settings.database_url, app_config, text="Where is my <b>refund</b>?")
    deliver.drain(["#support"])
    [parent] = parents(slack_api, "#support")
    channel = re.search(r'name="channel" value="(C[A-Z0-9]+)"', _get(slack_api + "/")).group(1)
    clicked = _post_json(slack_api + "/_standin/click", {"channel": channel, "ts": parent["ts"], "user": "U0PAGE",
                                                       "block_id": f"ticket:{ticket_id}", "action_id": "ticket_reply",
                                                       "value": str(ticket_id)})  # fmt: skip
    assert clicked["status"] == 200, clicked
    [opened] = _views(slack_api)
    view_id = opened["view"]["id"]
    assert opened["user"] == "U0PAGE" and f'id="view-{view_id}"' not in _get(slack_api + "/?user=U0OTHER")
    page = _get(slack_api + "/?user=U0PAGE")
    assert 'name="reply/text"' in page and 'maxlength="280"' in page and "Resolve after sending" in page
    assert "Where is my &lt;b&gt;refund&lt;/b&gt;?" in page  # the customer's text, inert on the page too

    refused = _post_json(slack_api + "/_standin/submit", {"view_id": view_id, "user": "U0PAGE",
                                                        "reply/text": TOO_LONG_FOR_X})  # fmt: skip
    assert refused["status"] == 200 and "281 of X's 280" in refused["notice"]
    assert _views(slack_api)[0]["errors"]["reply"].startswith("The reply counts 281")
    page = _get(slack_api + "/?user=U0PAGE")
    assert "shorten it by 1" in page and TOO_LONG_FOR_X in page  # the error under the box, and what was typed
    assert not _replies(settings.database_url)

    sent = _post_json(slack_api + "/_standin/submit", {"view_id": view_id, "user": "U0PAGE",
                                                     "reply/text": "Refund is on its way.",
                                                     "resolve/resolve/resolve": "on"})  # fmt: skip
    assert sent["status"] == 200 and "modal closed" in sent["notice"] and _views(slack_api) == []
    [reply] = _replies(settings.database_url)
    assert (reply.text, reply.actor, reply.resolve_after, reply.status) == (
        "Refund is on its way.", "U0PAGE", True, "queued")
    gone = _post_json(slack_api + "/_standin/submit", {"view_id": view_id, "user": "U0PAGE", "reply/text": "again"})
    assert gone["status"] is None and "no such modal" in gone["notice"]
    with transaction(settings.database_url) as session:
        assert session.scalar(select(func.count()).select_from(Reply)) == 1


@pytest.mark.usefixtures("jobs")
def test_the_standin_closes_a_modal_and_reset_forgets_them(settings, app_config, client, slack_api):
    ticket_id = open_ticket(settings.database_url, app_config)
    for _ in range(2):
        body = action_body("ticket_reply", str(ticket_id), trigger_id=_trigger(slack_api))
        assert post_signed(client, "/slack/actions", body).status_code == 200
    first, second = (opened["view"]["id"] for opened in _views(slack_api))
    assert _post_json(slack_api + "/_standin/close", {"view_id": first})["notice"] == "modal closed"
    assert [opened["view"]["id"] for opened in _views(slack_api)] == [second]
    _post_json(slack_api + "/_standin/reset", {})
    assert _views(slack_api) == []


CROSS_SITE = [
    ("form", {"Host": "127.0.0.1:8001", "Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}),
    ("json", {"Host": "127.0.0.1:8001", "Origin": "http://evil.example"}),
    ("json", {"Host": "rebind.evil.example:8001", "Origin": "http://rebind.evil.example:8001"}),
]


@pytest.mark.parametrize("path", ["/_standin/submit", "/_standin/close", "/_standin/triggers"])
@pytest.mark.parametrize(("kind", "headers"), CROSS_SITE)
def test_the_standins_modal_routes_refuse_other_sites(monkeypatch, path, kind, headers):
    forwarded = []
    monkeypatch.setattr(slack_page, "_forward", lambda *args: forwarded.append(args) or (200, ""))
    app = slack_standin.create_standin_app("http://127.0.0.1:9", "a-signing-secret-0123")
    workspace = app.config["WORKSPACE"]
    workspace.views["V1"] = {"view": {"type": "modal", "blocks": []}, "user": "U1", "errors": {}, "typed": {}}
    fields = {"view_id": "V1", "user": "U1", "reply/text": "signed by someone else"}
    if kind == "form":
        answer = app.test_client().post(path, data=fields, headers=headers)
    else:
        answer = app.test_client().post(path, data=json.dumps(fields),
                                        headers={**headers, "Content-Type": "application/json"})  # fmt: skip
    assert answer.status_code in (403, 415) and forwarded == [] and "V1" in workspace.views
    assert workspace.triggers == {}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the page's script is what is tested here
@pytest.mark.usefixtures("jobs")
def test_the_modal_works_in_chromium(settings, app_config, slack_api, browser):  # noqa: F811
    ticket_id = open_ticket(settings.database_url, app_config)
    deliver.drain(["#support"])
    browser.get(slack_api + "/?user=U0BROWSER")
    browser.find_element(By.XPATH, "//button[normalize-space()='Reply']").click()
    box = WebDriverWait(browser, 10, ignored_exceptions=(StaleElementReferenceException, WebDriverException)).until(
        lambda d: d.find_element(By.CSS_SELECTOR, "section.modal textarea[name='reply/text']"))
    box.send_keys(TOO_LONG_FOR_X)
    browser.find_element(By.XPATH, "//section[@class='modal']//button[normalize-space()='Send reply']").click()
    WebDriverWait(browser, 10, ignored_exceptions=(StaleElementReferenceException, WebDriverException)).until(
        lambda d: "shorten it by 1" in d.find_element(By.CSS_SELECTOR, "section.modal .error").text)
    box = browser.find_element(By.CSS_SELECTOR, "section.modal textarea[name='reply/text']")
    assert box.get_attribute("value") == TOO_LONG_FOR_X  # what was typed is kept with the error
    box.clear()
    box.send_keys("We are on it.")
    browser.find_element(By.CSS_SELECTOR, "section.modal input[type=checkbox]").click()
    browser.find_element(By.XPATH, "//section[@class='modal']//button[normalize-space()='Send reply']").click()
    WebDriverWait(browser, 10, ignored_exceptions=(StaleElementReferenceException, WebDriverException)).until(
        lambda d: "modal closed" in d.find_element(By.TAG_NAME, "body").text)
    assert not browser.find_elements(By.CSS_SELECTOR, "section.modal")
    [reply] = _replies(settings.database_url)
    assert (reply.ticket_id, reply.text, reply.actor, reply.resolve_after) == (
        ticket_id, "We are on it.", "U0BROWSER", True)
