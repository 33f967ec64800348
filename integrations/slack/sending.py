"""Calling Slack for one message: post it, reply in its thread or edit a post, as its kind says
(integrations.slack.kinds), after adopting what an earlier attempt may already have posted.

Each post carries message metadata naming its ticket (a parent) or its dedupe key (the rest),
so a retry after a lost answer finds the earlier post instead of posting twice.
"""

import logging
import re

from slack_sdk import WebClient
from sqlalchemy import select

from integrations.slack import blocks
from integrations.slack.attempt import Courier, Send
from integrations.slack.kinds import EDIT, KINDS, REPLY
from store.db import transaction
from store.schema import SlackMessage

log = logging.getLogger(__name__)

LOOKBACK_SECONDS = 600  # how far before a row's creation an earlier post may be
HISTORY_PAGES = 10
TICKET_EVENT = "earshot_ticket"
NOTE_EVENT = "earshot_note"
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")


def _channel_id(database_url: str, client: WebClient, channel: str) -> str | None:
    """The id of a channel given by name, for the methods that take only ids."""
    if _CHANNEL_ID.match(channel):
        return channel
    with transaction(database_url) as session:
        known = session.scalar(
            select(SlackMessage.slack_channel_id)
            .where(SlackMessage.channel == channel, SlackMessage.slack_channel_id.is_not(None))
            .limit(1)
        )
    if known:
        return known
    name = channel.lstrip("#")
    cursor = None
    for _ in range(HISTORY_PAGES):
        page = client.conversations_list(types="public_channel,private_channel", limit=200, cursor=cursor)
        for found in page.get("channels", []):
            if found.get("name") == name:
                return found["id"]
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return None
    return None


def _metadata(send: Send) -> dict:
    if KINDS[send.kind].ticket_post:
        return {"event_type": TICKET_EVENT, "event_payload": {"ticket_id": str(send.ticket_id)}}
    return {"event_type": NOTE_EVENT, "event_payload": {"ticket_id": str(send.ticket_id), "key": send.dedupe_key}}


def _is_ours(message: dict, send: Send) -> bool:
    metadata = message.get("metadata") or {}
    payload = metadata.get("event_payload") or {}
    if KINDS[send.kind].ticket_post:
        return metadata.get("event_type") == TICKET_EVENT and payload.get("ticket_id") == str(send.ticket_id)
    return metadata.get("event_type") == NOTE_EVENT and payload.get("key") == send.dedupe_key


def _history(client: WebClient, channel_id: str, send: Send) -> list[dict]:
    """The channel's top-level messages since shortly before the row was queued."""
    messages, cursor = [], None
    for _ in range(HISTORY_PAGES):
        page = client.conversations_history(
            channel=channel_id,
            oldest=f"{send.created_at - LOOKBACK_SECONDS:.6f}",
            include_all_metadata=True,
            limit=200,
            cursor=cursor,
        )
        messages.extend(page.get("messages", []))
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            break
    return messages


def find_earlier_post(database_url: str, client: WebClient, send: Send) -> tuple[str, str] | None:
    """An earlier attempt's message, found by its metadata: (channel id, ts), or None."""
    if KINDS[send.kind].call == REPLY:
        channel_id = send.parent_channel_id
        messages = client.conversations_replies(
            channel=channel_id, ts=send.parent_ts, include_all_metadata=True, limit=200
        ).get("messages", [])
    else:
        channel_id = _channel_id(database_url, client, send.channel)
        if channel_id is None:
            return None
        messages = _history(client, channel_id, send)
    for message in messages:
        if _is_ours(message, send):
            return channel_id, message["ts"]
    return None


def _with_thread_link(client: WebClient, send: Send) -> blocks.Message:
    if not send.parent_ts:
        return send.message
    permalink = client.chat_getPermalink(channel=send.parent_channel_id, message_ts=send.parent_ts)["permalink"]
    thread = blocks.link(permalink, f"ticket #{send.ticket_id} thread")
    extra = blocks.Message(send.message.text, [*send.message.blocks])
    extra.blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": thread or ""}]})
    return extra


def call_slack(courier: Courier, send: Send) -> tuple[str, str]:
    """Post or update; returns (channel id, ts)."""
    client, kind, message = courier.client, KINDS[send.kind], send.message
    common = dict(text=message.text, blocks=message.blocks or None, unfurl_links=False, unfurl_media=False)
    if kind.call == EDIT:
        client.chat_update(channel=send.parent_channel_id, ts=send.parent_ts, text=message.text,
                           blocks=message.blocks or None)  # fmt: skip
        return send.parent_channel_id, send.parent_ts
    if send.attempts > 1:
        earlier = find_earlier_post(courier.database_url, client, send)
        if earlier is not None:
            log.info("adopted an earlier Slack post", extra={"slack_message_id": send.row_id})
            if kind.ticket_post:  # show the ticket as it is now, not as it was then
                client.chat_update(channel=earlier[0], ts=earlier[1], text=message.text, blocks=message.blocks or None)
            return earlier
    if kind.links_thread and message.blocks:
        message = _with_thread_link(client, send)
        common.update(text=message.text, blocks=message.blocks)
    thread = {"thread_ts": send.parent_ts} if kind.call == REPLY else {}
    channel = send.parent_channel_id if kind.call == REPLY else send.channel
    response = client.chat_postMessage(channel=channel, metadata=_metadata(send), **thread, **common)
    return response["channel"], response["ts"]
