"""The ticket message: hostile text stays inert, limits hold, the contract's actions are there."""

import json
from datetime import UTC, datetime

import pytest

from integrations.slack import blocks
from store.schema import Mention, Ticket

HOSTILE = "<!channel> <!here> <@U123> <https://evil.example|your refund> & more"


def _ticket(**fields) -> Ticket:
    values = dict(id=7, status="open", urgency="critical", signals=["money taken", "<!here>"], source="x",
                  author_id="u42", author_handle="@jane", channel="#support",
                  first_response_due_at=datetime(2026, 11, 21, 14, 18, tzinfo=UTC))  # fmt: skip
    values.update(fields)
    return Ticket(**values)


def _mention(text: str = HOSTILE, **fields) -> Mention:
    values = dict(text=text, author_name="Jane <!channel>", author_followers=1200,
                  url="https://x.com/jane/status/1")  # fmt: skip
    values.update(fields)
    return Mention(**values)


def _texts(message: blocks.Message) -> list[str]:
    found = [message.text]

    def walk(node):
        if isinstance(node, dict):
            if node.get("type") in ("mrkdwn", "plain_text"):
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(message.blocks)
    return found


def test_hostile_text_is_escaped_everywhere():
    message = blocks.ticket_message(_ticket(), _mention())
    dumped = json.dumps(message.blocks)
    assert "&lt;!channel&gt; &lt;!here&gt; &lt;@U123&gt; &lt;https://evil.example|your refund&gt; &amp; more" in dumped
    for text in _texts(message):
        assert "<!channel" not in text and "<!here" not in text and "<@U123" not in text and "<https://evil" not in text
    assert "&lt;!channel&gt;" in message.text


def test_customer_text_objects_are_verbatim():
    message = blocks.ticket_message(_ticket(), _mention())
    sections = [b for b in message.blocks if b["type"] == "section"]
    assert all(section["text"]["verbatim"] is True for section in sections)


@pytest.mark.parametrize("text", ["a" * 5000, "&" * 2000, "<" * 3001])
def test_long_text_is_cut_at_the_section_limit(text):
    message = blocks.ticket_message(_ticket(), _mention(text))
    body = message.blocks[2]["text"]["text"]
    assert len(body) <= blocks.SECTION_LIMIT
    assert body.endswith(blocks.TRUNCATED)
    assert "&am" not in body.replace("&amp;", "")  # never cut inside an entity
    assert len(message.text) < 400


def test_short_text_is_not_marked_truncated():
    assert blocks.fit("hello & bye") == "hello &amp; bye"


def test_original_post_link_date_and_followers():
    message = blocks.ticket_message(_ticket(), _mention("late again"))
    dumped = json.dumps(message.blocks)
    assert "<https://x.com/jane/status/1|original post>" in dumped
    assert "1,200 followers" in dumped
    due = int(datetime(2026, 11, 21, 14, 18, tzinfo=UTC).timestamp())
    assert f"<!date^{due}^{{date_short_pretty}} {{time}}|2026-11-21 14:18 UTC>" in dumped


@pytest.mark.parametrize("url", ["javascript:alert(1)", "https://a.example/x|y", "https://a.example/<x>"])
def test_unsafe_links_are_left_out(url):
    dumped = json.dumps(blocks.ticket_message(_ticket(), _mention("hi", url=url)).blocks)
    assert "original post" not in dumped


def test_actions_carry_the_ticket_id():
    actions = blocks.ticket_message(_ticket(), _mention("hi")).blocks[-1]
    by_id = {element["action_id"]: element for element in actions["elements"]}
    shown = set(blocks.ACTIONS) - {"ticket_ack"}  # Acknowledge only while a breach waits unacknowledged
    assert set(by_id) == {*shown, blocks.SET_URGENCY, "ticket_assign"}
    assert all(by_id[action]["value"] == "7" for action in shown)
    select = by_id[blocks.SET_URGENCY]
    assert [o["value"] for o in select["options"]] == ["7:critical", "7:high", "7:normal", "7:low"]
    assert select["initial_option"]["value"] == "7:critical"
    picker = by_id["ticket_assign"]  # a users_select: the ticket is in the block_id, which Slack sends back
    assert picker["type"] == "users_select" and actions["block_id"] == "ticket:7" and "value" not in picker


def test_reply_and_wait_buttons_sit_with_the_others_within_slacks_limit():
    elements = blocks.ticket_message(_ticket(), _mention("hi")).blocks[-1]["elements"]
    assert [element["action_id"] for element in elements] == [
        "ticket_claim", "ticket_reply", "ticket_responded", "ticket_wait", "ticket_resolve", "ticket_not_complaint",
        blocks.SET_URGENCY, "ticket_assign"]  # fmt: skip
    assert len(elements) <= 25  # Slack's limit per actions block
    by_id = {element["action_id"]: element for element in elements}
    assert (by_id["ticket_reply"]["text"]["text"], by_id["ticket_wait"]["text"]["text"]) == (
        "Reply", "Waiting on customer")
    assert "style" not in by_id["ticket_reply"] and "style" not in by_id["ticket_wait"]


def test_a_waiting_ticket_says_so_and_offers_no_second_wait():
    paused = datetime(2026, 11, 21, 15, 0, tzinfo=UTC)
    message = blocks.ticket_message(_ticket(status="responded", claimed_by="U0AGENT01", paused_at=paused),
                                    _mention("hi"))  # fmt: skip
    shown = json.dumps(message.blocks, ensure_ascii=False)
    assert "Responded · handled by <@U0AGENT01> · :hourglass_flowing_sand: Waiting on customer since <!date^" in shown
    assert "First response due" not in shown  # a paused deadline moves when the customer writes
    ids = [element["action_id"] for element in message.blocks[-1]["elements"]]
    assert "ticket_wait" not in ids and "ticket_reply" in ids


def test_reply_failure_note_carries_retry_only_while_failed():
    note = blocks.reply_failure_message("Reply by U0AGENT01 was not posted: <!here> duplicate", 31, retry=True)
    assert note.blocks[0]["text"]["text"] == ":x: Reply by U0AGENT01 was not posted: &lt;!here&gt; duplicate"
    [button] = note.blocks[1]["elements"]
    assert (button["action_id"], button["value"], button["text"]["text"]) == ("ticket_reply_retry", "31", "Retry")
    assert [block["type"] for block in blocks.reply_failure_message("x", 31, retry=False).blocks] == ["section"]


@pytest.mark.parametrize(
    ("fields", "shown"),
    [
        ({"status": "claimed", "claimed_by": "U0AGENT01"}, "Claimed by <@U0AGENT01>"),
        ({"status": "claimed", "claimed_by": "<!channel>"}, "Claimed by &lt;!channel&gt;"),
        ({"status": "responded", "claimed_by": "U0AGENT01"}, "Responded · handled by <@U0AGENT01>"),
        ({"status": "resolved"}, "Resolved"),
    ],
)
def test_state_is_shown(fields, shown):
    message = blocks.ticket_message(_ticket(**fields), _mention("hi"))
    assert shown in json.dumps(message.blocks, ensure_ascii=False)
    has_actions = any(block["type"] == "actions" for block in message.blocks)
    assert has_actions is (fields["status"] != "resolved")


def test_note_escapes_text_but_keeps_earshot_prefix():
    note = blocks.note_message("Follow-up from @jane: <!channel> pay me", "<!subteam^S0ONCALL>")
    assert note.blocks[0]["text"]["text"] == "<!subteam^S0ONCALL> Follow-up from @jane: &lt;!channel&gt; pay me"
    assert note.text.startswith("<!subteam^S0ONCALL> ") and "<!channel>" not in note.text
