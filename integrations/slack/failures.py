"""What a failed Slack call does to its row: a 429 waits out Retry-After; a transient failure waits
out its backoff (1 s doubling to 5 minutes) and is given up only for a message that need not persist;
a refused message goes to its next form or channel (integrations.slack.rules), and with nothing left
is given up, or started over after a backoff while its ticket is open."""

import logging
from datetime import timedelta

from slack_sdk.errors import SlackApiError

from core.timeutil import utcnow
from integrations.slack import rules
from integrations.slack.attempt import Courier, Outcome, Send
from store.db import transaction
from store.schema import SlackMessage

log = logging.getLogger(__name__)

REFUSALS_KEPT = 8  # a row's refusals remembered in its payload


def _record_failure(database_url: str, send: Send, error: str, *, reached_slack: bool, give_up: bool,
                    retry_in: float | None = None, failing: bool = True) -> None:  # fmt: skip
    now = utcnow()
    with transaction(database_url) as session:
        row = session.get(SlackMessage, send.row_id)
        row.last_error = error[:500]
        if failing:
            row.failing_since = row.failing_since or now
        if not reached_slack:
            row.attempts -= 1  # attempts counts only tries that may have posted
        if give_up:
            row.failed_at = now
        elif retry_in is not None:
            row.next_attempt_at = now + timedelta(seconds=retry_in)


def api_error(courier: Courier, send: Send, error: SlackApiError, context: dict) -> Outcome:
    """Slack answered with an error: rate limited, failing for now, or refusing this message here."""
    status, code = error.response.status_code, error.response.get("error")
    if status == 429:
        headers = error.response.headers
        retry_after = float(headers.get("Retry-After") or headers.get("retry-after") or 1)
        _record_failure(courier.database_url, send, "ratelimited", reached_slack=False, give_up=False, failing=False)
        return Outcome("rate_limited", retry_after, send.row_id, channel=send.channel)
    failure = rules.error_class(code, status)
    if failure == "transient":
        return transient(courier, send, f"HTTP {status} {code}", context)
    if failure == "workspace":  # a bad token or a missing scope: nothing to reroute, retried until fixed
        return transient(courier, send, f"{code}", context, failure)
    return _refused(courier, send, f"{code}", failure, context)


def transient(courier: Courier, send: Send, error: str, context: dict, failure: str = "transient") -> Outcome:
    give_up = rules.give_up(send.attempts, send.persistent)
    wait = rules.backoff_seconds(send.attempts)
    log.warning("Slack delivery failed; will retry" if not give_up else "Slack delivery failed; giving up",
                extra={**context, "error": error, "attempts": send.attempts, "retry_in": wait})  # fmt: skip
    _record_failure(courier.database_url, send, error, reached_slack=True, give_up=give_up, retry_in=wait)
    return Outcome("failed" if give_up else "retry", wait, send.row_id, channel=send.channel, error=error,
                   failure=failure, persistent=send.persistent, ticket_id=send.ticket_id)  # fmt: skip


def _refused(courier: Courier, send: Send, code: str, failure: str, context: dict) -> Outcome:
    """Slack will not take this message here: try the next form or channel (rules.after_refusal);
    with nothing left, give it up, or start over after a backoff while its ticket is open."""
    now = utcnow()
    slack = courier.slack
    with transaction(courier.database_url) as session:
        row = session.get(SlackMessage, send.row_id, populate_existing=True)
        state = dict(row.payload.get("delivery") or {})
        ladder = state.get("ladder") or list(rules.ladder(row.kind, row.channel, slack.default_channel,
                                                          slack.escalation_channel))  # fmt: skip
        route = rules.Route(state.get("step", 0), state.get("form", rules.FULL))
        state["refused"] = [*state.get("refused", []), {"channel": row.channel, "error": code}][-REFUSALS_KEPT:]
        row.attempts -= 1  # a refused call posted nothing
        row.last_error, row.failing_since = code[:500], row.failing_since or now
        following = rules.after_refusal(route, failure, len(ladder))
        status = "retry"
        if following is None and rules.when_exhausted(failure, send.persistent) == "give_up":
            row.failed_at, status = now, "failed"
        elif following is None:  # someone may fix the channel (or invite the bot): try it all again later
            state["rounds"] = state.get("rounds", 0) + 1
            following = rules.Route()
            row.next_attempt_at = now + timedelta(seconds=rules.backoff_seconds(state["rounds"]))
        if following is not None:
            status = "rerouted" if ladder[following.step] != row.channel else status
            state.update(ladder=ladder, step=following.step, form=following.form)
            row.channel = ladder[following.step]
        row.payload = {**row.payload, "delivery": state}
        moved_to = row.channel
    level = logging.ERROR if status == "failed" else logging.WARNING
    log.log(level, "Slack refused a message", extra={**context, "error": code, "outcome": status, "to": moved_to})
    return Outcome(status, 0.0, send.row_id, channel=send.channel, error=code,
                   failure="refused" if failure in ("channel", "unknown") else failure,
                   persistent=send.persistent, ticket_id=send.ticket_id)  # fmt: skip
