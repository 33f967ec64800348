"""Block Kit messages for tickets, built with slack_sdk's classes (which check Slack's limits).

Everything a customer (or a platform) controls is escaped (`&`, `<`, `>`) and
sent in `verbatim` text objects, so it can never ping, link or format itself.
Only Earshot's own markup (`<@U…>`, `<!date…>`, links it builds) stays live.
"""

import re
from dataclasses import dataclass
from datetime import datetime

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
    Option,
    SectionBlock,
    StaticSelectElement,
    UserSelectElement,
)

from core.timeutil import format_duration
from integrations.slack import actions
from integrations.slack.text import SECTION_LIMIT, TRUNCATED, escape, fit
from store.schema import Mention, Ticket

CONTEXT_LIMIT = 2000
FALLBACK_LIMIT = 300
TIER_BADGES = {"critical": ":red_circle:", "high": ":large_orange_circle:", "normal": ":large_blue_circle:",
               "low": ":white_circle:"}  # fmt: skip
ACTIONS = actions.BUTTONS
SET_URGENCY = actions.SET_URGENCY
_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")
_SAFE_URL = re.compile(r"^https?://[^\s<>|]+$", re.IGNORECASE)


@dataclass(frozen=True)
class Message:
    text: str
    blocks: list[dict]


def slack_date(at: datetime) -> str:
    """Shown in each reader's own time zone; the fallback is UTC."""
    fallback = at.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def user(actor: str | None) -> str:
    if actor and _SLACK_USER.match(actor):
        return f"<@{actor}>"
    return escape(actor or "someone")


def link(url: str | None, label: str) -> str | None:
    if not url or not _SAFE_URL.match(url):
        return None
    return f"<{escape(url)}|{escape(label)}>"


def _text(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text, verbatim=True)


def _state(ticket: Ticket) -> str:
    if ticket.status == "claimed":
        return f"Claimed by {user(ticket.claimed_by)}"
    if ticket.status == "responded":
        by = f" · handled by {user(ticket.claimed_by)}" if ticket.claimed_by else ""
        return f"Responded{by}"
    if ticket.status == "resolved":
        return ":white_check_mark: Resolved"
    if ticket.claimed_by:
        return f"Open · assigned to {user(ticket.claimed_by)}"
    return "Open, unclaimed" + (" · waiting for an agent with room" if ticket.route else "")


def _waiting(ticket: Ticket) -> str:
    """Said after the state while the clocks are paused for the customer (tickets.replies.wait_for_customer)."""
    if ticket.paused_at is None or ticket.status == "resolved":
        return ""
    return f" · :hourglass_flowing_sand: Waiting on customer since {slack_date(ticket.paused_at)}"


def _clock(ticket: Ticket) -> str | None:
    clocks = (
        ("First response", ticket.first_response_due_at, ticket.first_response_met_at,
         ticket.first_response_breached),
        ("Next response", ticket.next_response_due_at, ticket.next_response_met_at, ticket.next_response_breached),
        ("Resolution", ticket.resolution_due_at, ticket.resolution_met_at, ticket.resolution_breached),
    )  # fmt: skip
    if ticket.status == "resolved" or ticket.paused_at is not None:  # a paused deadline moves on resumption
        return None
    for name, due, met, breached in clocks:
        if due is not None and met is None:
            return f"{name} due {slack_date(due)}" + (" · *breached*" if breached else "")
    return None


def _author(ticket: Ticket, mention: Mention | None) -> str:
    handle = escape(ticket.author_handle or ticket.author_id)
    parts = [f"*{handle}*"]
    if mention is not None and mention.author_name:
        parts[0] += f" ({escape(mention.author_name)})"
    if mention is not None and mention.author_followers is not None:
        parts.append(f"{mention.author_followers:,} followers")
    parts.append(f"on {escape(ticket.source)}")
    original = link(mention.url if mention is not None else None, "original post")
    if original:
        parts.append(original)
    return " · ".join(parts)


def _element(ticket: Ticket, action_id: str, action: actions.Action):
    if action.users:  # Slack's user picker; the ticket is in the block_id, the owner shown as chosen
        current = action.current(ticket) if action.current else None
        return UserSelectElement(placeholder=action.label, action_id=action_id,
                                 initial_user=current if current and _SLACK_USER.match(current) else None)  # fmt: skip
    if not action.choices:
        return ButtonElement(text=action.label, action_id=action_id, value=str(ticket.id), style=action.style)
    options = {choice: Option(value=f"{ticket.id}:{choice}", label=choice.capitalize()) for choice in action.choices}
    return StaticSelectElement(
        placeholder=action.label,
        action_id=action_id,
        options=list(options.values()),
        initial_option=options.get(action.current(ticket)) if action.current else None,
    )


def _actions(ticket: Ticket) -> ActionsBlock:
    elements = [_element(ticket, action_id, action) for action_id, action in actions.ACTIONS.items()
                if action.shown is None or action.shown(ticket)]  # fmt: skip
    return ActionsBlock(block_id=f"ticket:{ticket.id}", elements=elements)


def ticket_message(ticket: Ticket, mention: Mention | None) -> Message:
    """The parent message: what happened, who, how urgent, by when, and the buttons to work it."""
    tier = ticket.urgency or "normal"
    headline = f"{TIER_BADGES.get(tier, '')} *{tier.upper()}* · Ticket #{ticket.id}"
    if ticket.signals:
        headline += "\n" + fit("Signals: " + ", ".join(map(str, ticket.signals)), SECTION_LIMIT - len(headline) - 1)
    customer_text = mention.text if mention is not None else ""
    status = [f"State: {_state(ticket)}{_waiting(ticket)}"]
    clock = _clock(ticket)
    if clock:
        status.append(clock)
    blocks = [
        SectionBlock(text=_text(headline)),
        ContextBlock(elements=[_text(_author(ticket, mention)[:CONTEXT_LIMIT])]),
        SectionBlock(text=_text(fit(customer_text) or " ")),
        ContextBlock(elements=[_text(" · ".join(status))]),
    ]
    if ticket.status != "resolved":
        blocks.append(_actions(ticket))
    who = ticket.author_handle or ticket.author_id
    fallback = f"[{tier.upper()}] Ticket #{ticket.id} from {escape(who)}: {fit(customer_text, FALLBACK_LIMIT)}"
    return Message(text=fallback, blocks=[block.to_dict() for block in blocks])


def note_message(text: str, prefix: str = "") -> Message:
    """A thread note or an escalation: `text` is escaped; `prefix` is Earshot's own markup."""
    lead = prefix + " " if prefix else ""
    body = lead + fit(text, SECTION_LIMIT - len(lead))
    return Message(text=lead + fit(text, FALLBACK_LIMIT), blocks=[SectionBlock(text=_text(body)).to_dict()])


def reply_failure_message(text: str, reply_id: int, retry: bool) -> Message:
    """The thread note of a reply the platform refused: `text` (escaped) and, while the reply is
    still failed, a **Retry** button carrying the reply id."""
    message = note_message(text, ":x:")
    if not retry:
        return message
    button = ButtonElement(text=actions.REPLY_ACTIONS[actions.REPLY_RETRY].label, action_id=actions.REPLY_RETRY,
                           value=str(reply_id), style="primary")  # fmt: skip
    block = ActionsBlock(block_id=f"reply:{reply_id}", elements=[button]).to_dict()
    return Message(text=message.text, blocks=[*message.blocks, block])


def with_acknowledge(message: Message, ticket_id: int) -> Message:
    """An escalation with the ticket's **Acknowledge** button (actions.ACKNOWLEDGE, value the ticket id)."""
    button = ButtonElement(text=actions.ACTIONS[actions.ACKNOWLEDGE].label, action_id=actions.ACKNOWLEDGE,
                           value=str(ticket_id), style="primary")  # fmt: skip
    block = ActionsBlock(block_id=f"escalation:{ticket_id}", elements=[button]).to_dict()
    return Message(text=message.text, blocks=[*message.blocks, block])


def _cut(markup: str, limit: int) -> str:
    """Cut Earshot's own (already escaped) markup to `limit`, never inside an entity or a link."""
    if len(markup) <= limit:
        return markup
    cut = markup[: limit - len(TRUNCATED)]
    if cut.rfind("<") > cut.rfind(">"):
        cut = cut[: cut.rfind("<")]
    if cut.rfind("&") > cut.rfind(";"):
        cut = cut[: cut.rfind("&")]
    return cut + TRUNCATED


def _block_texts(message: Message) -> list[str]:
    texts = []
    for block in message.blocks:
        if block.get("type") in ("section", "header") and isinstance(block.get("text"), dict):
            texts.append(block["text"].get("text", ""))
        elif block.get("type") == "context":
            texts.append(" ".join(e.get("text", "") for e in block.get("elements", []) if isinstance(e, dict)))
    return [text for text in texts if text.strip()]


def in_form(message: Message, form: str, note: str | None = None) -> Message:
    """`message` in a delivery form (integrations.slack.rules: "full" as rendered, "plain": one
    section with the same text and the buttons, "text": text alone), led by Earshot's `note` about
    its delivery (plain words, escaped here)."""
    lead = f":warning: {escape(note)}" if note else ""
    if form == "full":
        if not lead:
            return message
        context = ContextBlock(elements=[_text(lead[:CONTEXT_LIMIT])]).to_dict()
        return Message(text=f"{lead} {message.text}", blocks=[context, *message.blocks])
    body = "\n".join(_block_texts(message)) or message.text
    if form == "plain":
        blocks = [SectionBlock(text=_text(_cut(body, SECTION_LIMIT))).to_dict()]
        if lead:
            blocks.insert(0, ContextBlock(elements=[_text(lead[:CONTEXT_LIMIT])]).to_dict())
        blocks += [block for block in message.blocks if block.get("type") == "actions"]
        return Message(text=f"{lead} {message.text}".strip(), blocks=blocks)
    return Message(text=_cut("\n".join(filter(None, (lead, body))), SECTION_LIMIT), blocks=[])


CLOCK_NAMES = {"first_response": "first response", "next_response": "next response", "resolution": "resolution"}
SUMMARY_SHOWN = 25


def reminder_summary(channel: str, items: list[tuple[Ticket, str, datetime, str | None]], now: datetime) -> Message:
    """One reminder for many overdue tickets: `items` are (ticket, clock, its deadline, thread URL or None),
    most urgent first."""
    headline = (f"SLA reminder: {len(items)} ticket{'s' if len(items) != 1 else ''} in {escape(channel)} "
                f"still waiting past their deadlines.")  # fmt: skip
    lines = []
    for ticket, clock, due, url in items[:SUMMARY_SHOWN]:
        name = link(url, f"#{ticket.id}") or f"#{ticket.id}"
        what = CLOCK_NAMES.get(clock, escape(clock))
        late = format_duration((now - due).total_seconds())
        lines.append(f"• {name} {escape(ticket.urgency or 'normal')} · {what} {late} late")
    if len(items) > SUMMARY_SHOWN:
        lines.append(f"… and {len(items) - SUMMARY_SHOWN} more")
    body = _cut("\n".join([headline, *lines]), SECTION_LIMIT)
    return Message(text=headline, blocks=[SectionBlock(text=_text(body)).to_dict()])
