"""The one shape every platform's payload is normalized into."""

from dataclasses import dataclass, field
from datetime import datetime


class PayloadError(ValueError):
    """A payload the platform should not have sent; `field` names the culprit."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class SignatureError(ValueError):
    """A request whose signature, or signature timestamp, does not check out."""


@dataclass
class IncomingMention:
    source: str
    external_id: str
    author_id: str
    text: str
    direction: str = "inbound"
    author_handle: str | None = None
    author_name: str | None = None
    author_followers: int | None = None
    created_at: datetime | None = None
    url: str | None = None
    in_reply_to: str | None = None
    conversation_id: str | None = None
    brand: str | None = None
    language: str | None = None
    extra: dict = field(default_factory=dict)


MAX_FIELD_LENGTH = 255  # ids, handles and names are varchar(255) columns (store.schema.Mention)
_STRING_FIELDS = ("external_id", "author_id", "text", "author_handle", "author_name", "url", "in_reply_to",
                  "conversation_id", "brand", "language")  # fmt: skip


def storable(mentions: list[IncomingMention]) -> list[IncomingMention]:
    """The mentions, if every text field can be stored: neither database keeps a NUL
    character in a text column (fields of `extra` are JSON, where it stays escaped)."""
    for mention in mentions:
        for name in _STRING_FIELDS:
            value = getattr(mention, name)
            if value is not None and "\x00" in value:
                raise PayloadError(name, "must not contain NUL characters")
    return mentions


def platform_id(value, field: str, required: bool, invalid: str) -> str | None:
    """A platform's id for an object: a non-empty string, or a number that is read as one,
    that fits its column."""
    if value is None:
        if required:
            raise PayloadError(field, "is required")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int) or not str(value).strip():
        raise PayloadError(field, invalid)
    value = str(value)
    if len(value) > MAX_FIELD_LENGTH:
        raise PayloadError(field, f"must be at most {MAX_FIELD_LENGTH} characters")
    return value


def handle(value, field: str) -> str | None:
    """`@name` for a platform's user name (a string), None when there is none; the stored
    handle, `@` included, must fit its column."""
    if not isinstance(value, str) or not value:
        return None
    if len(value) >= MAX_FIELD_LENGTH:
        raise PayloadError(field, f"must be at most {MAX_FIELD_LENGTH - 1} characters")
    return f"@{value}"


def display_name(value) -> str | None:
    """A display name, cut to its column: it is only shown, so a long one is no reason to refuse the mention."""
    return value[:MAX_FIELD_LENGTH] if isinstance(value, str) else None
