"""The Slack stand-in through slack_sdk: Slack's shapes, faults, the page, and its signed buttons
(also clicked in headless Chromium, as the page's script posts them)."""

import json
import re
from urllib.parse import urlencode
from urllib.request import Request, urlopen

import pytest
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from slack_sdk.errors import SlackApiError

from tests.slack_support import (  # noqa: F401  (fixtures)
    add_fault,
    api_standin,
    get_ticket,
    jobs,
    open_ticket,
    standin,
    web_client,
)
from tests.test_dashboard_browser import browser  # noqa: F401  (fixture)
from workers import deliver


def _get(url: str) -> str:
    with urlopen(url, timeout=5) as answer:
        return answer.read().decode()


def _post_form(url: str, fields: dict) -> str:
    request = Request(url, data=urlencode(fields).encode(), method="POST")
    with urlopen(request, timeout=10) as answer:
        return answer.read().decode()


def _post_json(url: str, fields: dict) -> dict:
    """As the page's script posts a button or a command."""
    request = Request(url, data=json.dumps(fields).encode(), headers={"Content-Type": "application/json"},
                      method="POST")  # fmt: skip
    with urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def test_web_api_shapes(api_standin):
    slack = web_client(api_standin)
    assert slack.auth_test()["ok"]
    posted = slack.chat_postMessage(channel="#support", text="hi", metadata={"event_type": "t", "event_payload": {}})
    assert posted["channel"].startswith("C") and posted["message"]["text"] == "hi"
    again = slack.chat_postMessage(channel="#support", text="second")
    assert again["channel"] == posted["channel"] and float(again["ts"]) > float(posted["ts"])
    reply = slack.chat_postMessage(channel=posted["channel"], text="in thread", thread_ts=posted["ts"])
    slack.chat_update(channel=posted["channel"], ts=posted["ts"], text="edited")
    history = slack.conversations_history(channel=posted["channel"], include_all_metadata=True)
    assert [m["text"] for m in history["messages"]] == ["second", "edited"]  # newest first, no replies
    assert history["messages"][1]["metadata"]["event_type"] == "t"
    assert "metadata" not in slack.conversations_history(channel=posted["channel"])["messages"][1]
    paged = slack.conversations_history(channel=posted["channel"], limit=1)
    assert paged["has_more"] and paged["response_metadata"]["next_cursor"]
    replies = slack.conversations_replies(channel=posted["channel"], ts=posted["ts"])
    assert [m["ts"] for m in replies["messages"]] == [posted["ts"], reply["ts"]]
    assert slack.chat_postEphemeral(channel="#support", user="U1", text="psst")["ok"]
    permalink = slack.chat_getPermalink(channel=posted["channel"], message_ts=posted["ts"])["permalink"]
    assert permalink.endswith(f"/archives/{posted['channel']}/p{posted['ts'].replace('.', '')}")
    with pytest.raises(SlackApiError) as refused:
        slack.chat_update(channel=posted["channel"], ts="1.000001", text="x")
    assert refused.value.response["error"] == "message_not_found"


@pytest.mark.parametrize(("status", "error"), [(429, "ratelimited"), (500, None), (200, "channel_not_found")])
def test_faults_are_served_then_cleared(api_standin, status, error):
    add_fault(api_standin, method="chat.postMessage", status=status, retry_after=3, count=2, error=error or "")
    slack = web_client(api_standin)
    for _ in range(2):
        with pytest.raises(SlackApiError) as failed:
            slack.chat_postMessage(channel="#support", text="hi")
        assert failed.value.response.status_code == status
        if status == 429:
            assert failed.value.response.headers["Retry-After"] == "3"
        if error:
            assert failed.value.response["error"] == error
    assert slack.chat_postMessage(channel="#support", text="hi")["ok"]


def test_unauthenticated_calls_are_refused(api_standin):
    answer = json.loads(_post_form(api_standin + "/api/auth.test", {}))
    assert answer == {"ok": False, "error": "not_authed"}


def test_page_escapes_and_its_buttons_post_signed_actions(settings, app_config, jobs, standin):
    hostile = '<script>alert(1)</script> <!channel> <https://evil.example|refund> "quoted" & co'
    ticket_id = open_ticket(settings.database_url, app_config, text=hostile, url="https://x.com/jane/status/1")
    deliver.drain(["#support"])
    page = _get(standin + "/")
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'href="https://evil.example"' not in page and "&lt;!channel&gt;" in page
    assert 'href="https://x.com/jane/status/1"' in page
    match = re.search(r'name="channel" value="(C[A-Z0-9]+)"><input type="hidden" name="ts" value="([0-9.]+)"', page)
    channel, ts = match.groups()
    fields = {"channel": channel, "ts": ts, "user": "U0CLICKER", "block_id": f"ticket:{ticket_id}",
              "action_id": "ticket_claim", "value": str(ticket_id)}  # fmt: skip
    after = _post_json(standin + "/_standin/click", fields)
    assert after["status"] == 200 and after["notice"].startswith("ticket_claim: HTTP 200")
    ticket = get_ticket(settings.database_url, ticket_id)
    assert (ticket.status, ticket.claimed_by) == ("claimed", "U0CLICKER")
    fields.update(action_id="ticket_set_urgency", selected=f"{ticket_id}:high", value="")
    assert "ticket_set_urgency: HTTP 200" in _post_json(standin + "/_standin/click", fields)["notice"]
    assert get_ticket(settings.database_url, ticket_id).urgency == "high"
    deliver.drain(["#support"])
    assert "Claimed by <span class=\"mention\">@U0CLICKER</span>" in _get(standin + "/")


def test_page_slash_command_shows_the_ephemeral_answer(settings, jobs, standin):
    answer = _post_json(standin + "/_standin/command", {"text": "sla", "user": "U0LEAD"})
    assert answer["status"] == 200 and "Open tickets:" in answer["answer"]
    page = _get(standin + "/")
    assert "/earshot sla -&gt; HTTP 200" in page and "Open tickets:" in page


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the page's script is what is tested here
def test_the_pages_buttons_and_command_work_in_chromium(settings, app_config, jobs, standin, browser):  # noqa: F811
    ticket_id = open_ticket(settings.database_url, app_config)
    deliver.drain(["#support"])
    browser.get(standin + "/?user=U0BROWSER")
    browser.find_element(By.XPATH, "//button[normalize-space()='Claim']").click()
    WebDriverWait(browser, 10).until(lambda d: "notice=ticket_claim" in d.current_url)
    assert "ticket_claim: HTTP 200" in browser.find_element(By.CSS_SELECTOR, ".notice").text
    assert get_ticket(settings.database_url, ticket_id).claimed_by == "U0BROWSER"
    command = browser.find_element(By.CSS_SELECTOR, "form[action='/_standin/command'] input[name=text]")
    command.send_keys("sla")
    browser.find_element(By.CSS_SELECTOR, "form[action='/_standin/command'] button").click()
    # The page reloads meanwhile: a read of the old document may fail as stale or "not in the document".
    WebDriverWait(browser, 10, ignored_exceptions=(StaleElementReferenceException, WebDriverException)).until(
        lambda d: "/earshot sla -> HTTP 200" in d.find_element(By.TAG_NAME, "body").text
    )
