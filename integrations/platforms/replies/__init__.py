"""Posting the brand's public reply to a customer, one client per platform.

At start, `from_environ(os.environ)` gives the ReplyConfig. `validate(source, text)` is the
modal's or the API's field error (None when the text can go). `client_for(source, config)` is the
client, or raises NoReplyTarget. `client.send(OutboundReply(...))` answers Sent(external_id),
Retry(after_seconds, reason), Ambiguous(reason) or Failed(reason, permanent). After Ambiguous,
and before sending again, `client.find_sent(reply)` gives the posted reply's id or None, and
raises LookupFailed(reason, after_seconds) when it cannot tell yet.
"""

from integrations.platforms.replies.clients import NoReplyTarget, client_for, refusal
from integrations.platforms.replies.config import ReplyConfig, from_environ
from integrations.platforms.replies.limits import length_for, limit_for, validate
from integrations.platforms.replies.outcome import (
    Ambiguous,
    Failed,
    LookupFailed,
    OutboundReply,
    ReplyClient,
    Retry,
    SendResult,
    Sent,
)

__all__ = ["Ambiguous", "Failed", "LookupFailed", "NoReplyTarget", "OutboundReply", "ReplyClient", "ReplyConfig",
           "Retry", "SendResult", "Sent", "client_for", "from_environ", "length_for", "limit_for", "refusal",
           "validate"]  # fmt: skip
