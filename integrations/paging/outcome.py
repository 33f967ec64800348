"""How a page ends: `Sent`, `Retry(after_seconds, reason)` or `Failed(reason, permanent)`, the
reply clients' result types (integrations.platforms.replies.outcome), less `Ambiguous`: every
paging event names its `dedup_key`, so a send that got no answer is simply sent again.
"""

from integrations.platforms.replies.outcome import Ambiguous, Failed, Retry, Sent
from integrations.platforms.replies.transport import NOT_SENT_RETRY_AFTER

PageResult = Sent | Retry | Failed


def as_page_result(result) -> PageResult:
    """A transport result for a page: an ambiguous send (timeout, reset, 5xx) is a retry."""
    if isinstance(result, Ambiguous):
        return Retry(NOT_SENT_RETRY_AFTER, result.reason)
    return result


def log_result(logger, target: str, action: str, dedup_key: str, result: PageResult) -> PageResult:
    """Log how a paging event ended (reasons are redacted already) and return the result."""
    fields = {"target": target, "event_action": action, "dedup_key": dedup_key,
              "outcome": type(result).__name__.lower()}  # fmt: skip
    if isinstance(result, Sent):
        logger.info("page %s sent", action, extra=fields)
    else:
        logger.warning("page %s not sent: %s", action, result.reason, extra=fields)
    return result
