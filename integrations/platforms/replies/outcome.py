"""What the reply clients take and answer: the reply to post, and the four ways a post can end.

`send` answers one of `Sent`, `Retry`, `Ambiguous`, `Failed`:
- `Sent`: the platform accepted the reply and named it (`external_id`).
- `Retry`: nothing was posted (rate limit, refused connection); send again after `after_seconds`.
- `Ambiguous`: the request went out and no usable answer came back (timeout, reset, 5xx):
  the reply may be public. Call `find_sent` before sending again.
- `Failed`: the platform refused the reply; sending the same again will not help
  (`permanent=False`: a later manual retry may work, e.g. a temporary block).
"""

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class OutboundReply:
    ticket_id: int | str
    source: str  # "x", "facebook", "instagram", or any other source name (the webhook target)
    in_reply_to: str  # the customer's post or comment id on that platform
    text: str
    idempotency_key: str  # stable per reply: the webhook receiver dedupes on it


@dataclass(frozen=True)
class Sent:
    external_id: str


@dataclass(frozen=True)
class Retry:
    after_seconds: float
    reason: str


@dataclass(frozen=True)
class Ambiguous:
    reason: str


@dataclass(frozen=True)
class Failed:
    reason: str
    permanent: bool = True


SendResult = Sent | Retry | Ambiguous | Failed


class LookupFailed(Exception):
    """`find_sent` could not tell whether the reply is posted; ask again after `after_seconds`."""

    def __init__(self, reason: str, after_seconds: float = 60.0):
        super().__init__(reason)
        self.reason = reason
        self.after_seconds = after_seconds


class ReplyClient(Protocol):
    """One platform's way of posting the brand's public reply."""

    source: str

    def send(self, reply: OutboundReply) -> SendResult:
        """Post the reply once; never raises for an HTTP or network failure."""

    def find_sent(self, reply: OutboundReply) -> str | None:
        """The id of the reply if it is already public; None when sending it (again) cannot
        make a second public reply. Raises LookupFailed when that cannot be told now."""

    def close(self) -> None:
        """Release the client's connections."""
