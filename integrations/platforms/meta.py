"""Meta webhooks: the subscription handshake, `X-Hub-Signature-256`, and the
Page `feed` (comments, visitor posts) and Instagram `comments` changes
normalized into mentions.

A change authored by the account the entry is about (`from.id == entry.id`)
is the brand speaking: an outbound reply, answering `parent_id`.

Graph API text (`message`, `text`) is plain, not HTML-escaped: it is stored as sent.
"""

import hmac
from datetime import UTC, datetime

from integrations.platforms.mention import (
    IncomingMention,
    PayloadError,
    SignatureError,
    display_name,
    handle,
    platform_id,
)
from integrations.platforms.signing import hex_signature, same

SIGNATURE_HEADER = "X-Hub-Signature-256"
# A visitor's text post arrives as item "status" on some API versions, "post" on others.
FEED_ITEMS = ("comment", "post", "status")
FEED_VERBS = ("add", "edited")  # remove, hide, reactions and likes carry no words to answer
REMOVE = "remove"  # the author deleted the comment or post: Earshot erases its copy (deletions)
INSTAGRAM_FIELDS = ("comments", "live_comments")


def verify_subscription(mode: str | None, token: str | None, challenge: str | None, verify_token: str) -> str | None:
    """The challenge to echo when Meta's `hub.verify_token` is ours, else None."""
    if mode != "subscribe" or not token or not challenge:
        return None
    if not hmac.compare_digest(token.encode(), verify_token.encode()):
        return None
    return challenge


def verify(body: bytes, signature_header: str | None, app_secret: str) -> None:
    if not signature_header:
        raise SignatureError(f"missing {SIGNATURE_HEADER} header")
    if not same("sha256=" + hex_signature(app_secret, body), signature_header.strip().lower()):
        raise SignatureError(f"{SIGNATURE_HEADER} does not match the body")


def _id(item, key: str, where: str, *, required: bool = False) -> str | None:
    value = item.get(key) if isinstance(item, dict) else None
    return platform_id(value, f"{where}{key}", required, "must be a non-empty id")


def _unix_time(value, field: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PayloadError(field, "must be unix seconds")
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        raise PayloadError(field, "is not a valid unix time") from None


def _text(value: dict, key: str) -> str | None:
    text = value.get(key)
    return text if isinstance(text, str) and text.strip() else None


def _feed_change(value: dict, page_id: str, sent_at: datetime | None, where: str) -> IncomingMention | None:
    item, verb = value.get("item"), value.get("verb")
    text = _text(value, "message")
    # A sticker- or photo-only comment has no message: nothing to classify or quote.
    if item not in FEED_ITEMS or verb not in FEED_VERBS or text is None:
        return None
    author = value.get("from")
    author_id = _id(author, "id", f"{where}from.", required=True)
    post_id = _id(value, "post_id", where, required=True)
    is_comment = item == "comment"
    return IncomingMention(
        source="facebook",
        external_id=_id(value, "comment_id", where, required=True) if is_comment else post_id,
        author_id=author_id,
        text=text,
        direction="outbound" if author_id == page_id else "inbound",
        author_name=display_name(author.get("name")),
        created_at=_unix_time(value.get("created_time"), f"{where}created_time") or sent_at,
        url=f"https://www.facebook.com/{post_id}",
        in_reply_to=_id(value, "parent_id", where) if is_comment else None,
        conversation_id=post_id,
        extra={"page_id": page_id, "item": item, "verb": verb},
    )


def _instagram_comment(value: dict, account_id: str, sent_at: datetime | None, where: str) -> IncomingMention | None:
    text = _text(value, "text")
    if text is None or value.get("verb") == REMOVE:
        return None
    author = value.get("from")
    author_id = _id(author, "id", f"{where}from.", required=True)
    media = value.get("media") if isinstance(value.get("media"), dict) else {}
    product = media.get("media_product_type")
    return IncomingMention(
        source="instagram",
        external_id=_id(value, "id", where, required=True),
        author_id=author_id,
        text=text,
        direction="outbound" if author_id == account_id else "inbound",
        author_handle=handle(author.get("username"), f"{where}from.username"),
        # Instagram comment changes carry no creation time; Meta sends them as they happen.
        created_at=sent_at,
        in_reply_to=_id(value, "parent_id", where),
        conversation_id=_id(media, "id", f"{where}media."),
        extra={"account_id": account_id, **({"media_product_type": product} if isinstance(product, str) else {})},
    )


def _entry_mentions(kind: str, entry, where: str) -> list[IncomingMention]:
    if not isinstance(entry, dict):
        raise PayloadError(where.rstrip("."), "must be an object")
    owner = _id(entry, "id", where, required=True)
    changes = entry.get("changes", [])  # Messenger entries carry `messaging` instead: not ours
    if not isinstance(changes, list):
        raise PayloadError(f"{where}changes", "must be a list")
    if not changes:
        return []  # before reading `time`: Messenger entries give it in milliseconds
    sent_at = _unix_time(entry.get("time"), f"{where}time")
    mentions = []
    for index, change in enumerate(changes):
        at = f"{where}changes[{index}]."
        if not isinstance(change, dict):
            raise PayloadError(at.rstrip("."), "must be an object")
        field, value = change.get("field"), change.get("value")
        if kind == "page" and field == "feed":
            parse_change = _feed_change
        elif kind == "instagram" and field in INSTAGRAM_FIELDS:
            parse_change = _instagram_comment
        else:
            continue
        if not isinstance(value, dict):
            raise PayloadError(f"{at}value", "must be an object")
        mention = parse_change(value, owner, sent_at, f"{at}value.")
        if mention is not None:
            mentions.append(mention)
    return mentions


def parse(payload) -> list[IncomingMention]:
    if not isinstance(payload, dict):
        raise PayloadError("body", "must be a Meta webhook JSON object")
    kind = payload.get("object")
    if kind not in ("page", "instagram"):
        return []  # other objects (user, permissions, whatsapp...) are not subscribed to
    entries = payload.get("entry")
    if not isinstance(entries, list):
        raise PayloadError("entry", "must be a list")
    return [
        mention for index, entry in enumerate(entries) for mention in _entry_mentions(kind, entry, f"entry[{index}].")
    ]


def _removed(kind: str, field, value) -> tuple[str, str] | None:
    """The post or comment a change says was removed, as (source, id); None for any other change."""
    if not isinstance(value, dict) or value.get("verb") != REMOVE:
        return None
    if kind == "page" and field == "feed" and value.get("item") in FEED_ITEMS:
        key = "comment_id" if value.get("item") == "comment" else "post_id"
        source = "facebook"
    elif kind == "instagram" and field in INSTAGRAM_FIELDS:
        key, source = "id", "instagram"
    else:
        return None
    found = value.get(key)
    found = str(found) if isinstance(found, str | int) and not isinstance(found, bool) else ""
    return (source, found) if found.strip() and len(found) <= 255 else None


def deletions(payload) -> list[tuple[str, str]]:
    """Page `feed` changes with verb `remove` (a comment, post or status its author deleted) and
    Instagram comment changes with verb `remove`, as (source, id). Malformed items are skipped:
    a deletion can only ever erase."""
    if not isinstance(payload, dict) or payload.get("object") not in ("page", "instagram"):
        return []
    entries = payload.get("entry")
    found = []
    for entry in entries if isinstance(entries, list) else []:
        changes = entry.get("changes") if isinstance(entry, dict) else None
        for change in changes if isinstance(changes, list) else []:
            if isinstance(change, dict) and (post := _removed(payload["object"], change.get("field"),
                                                              change.get("value"))):  # fmt: skip
                found.append(post)
    return found
