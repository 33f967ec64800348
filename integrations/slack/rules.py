"""The delivery rules, as pure functions: what a Slack error means, where a refused message goes
next, how long to wait before a retry, when to give up, and when a failing channel is worth a
notice. No database, no clock, no Slack: every fact is passed in. What outranks what in a
channel, and how reminders coalesce, are triage.lanes.
"""

from dataclasses import dataclass

from triage.lanes import CHANNEL, ESCALATION, INCIDENT, INCIDENT_UPDATE, NOTE_UPDATE, NOTICE, PARENT, REMINDERS, UPDATE

# What a Slack error means. A 5xx or a network error is transient too.
TRANSIENT = frozenset({"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited"})
# This channel will not take our message (another channel may).
CHANNEL_REFUSALS = frozenset({
    "channel_not_found", "not_in_channel", "is_archived", "channel_is_archived", "restricted_action",
    "restricted_action_read_only_channel", "restricted_action_thread_only_channel",
    "restricted_action_non_threadable_channel", "restricted_action_thread_locked", "team_access_not_granted",
    "messages_tab_disabled",
})  # fmt: skip
# The message this one belongs to is gone (a deleted parent, an update to a removed post): nothing to retry.
GONE = frozenset({"thread_not_found", "cannot_reply_to_message", "message_not_found", "cant_update_message",
                  "edit_window_closed"})  # fmt: skip
# This message will not be taken (a simpler one may).
CONTENT_REFUSALS = frozenset({
    "invalid_blocks", "invalid_blocks_format", "msg_too_long", "msg_blocks_too_long", "no_text",
    "too_many_attachments", "invalid_attachments", "invalid_metadata_format", "invalid_metadata_schema",
    "metadata_too_large", "metadata_must_be_sent_from_app", "invalid_arguments", "invalid_form_data",
    "invalid_json", "json_not_object", "invalid_unfurl_media",
})  # fmt: skip
# Nothing of ours will be taken anywhere until someone fixes the app: retried like a transient failure.
WORKSPACE_REFUSALS = frozenset({
    "not_authed", "invalid_auth", "account_inactive", "token_revoked", "token_expired", "no_permission",
    "missing_scope", "org_login_required", "ekm_access_denied", "access_denied", "team_added_to_org",
    "not_allowed_token_type", "two_factor_setup_required",
})  # fmt: skip


def error_class(code: str | None, status: int = 200) -> str:
    """The class of a Slack error: transient, workspace, channel, content, gone or unknown."""
    if status >= 500 or status == 429 or code in TRANSIENT:
        return "transient"
    if code in WORKSPACE_REFUSALS:
        return "workspace"
    if code in CHANNEL_REFUSALS:
        return "channel"
    if code in CONTENT_REFUSALS:
        return "content"
    if code in GONE:
        return "gone"
    return "unknown"


# The forms a message can take, fullest first: Block Kit as rendered; one section with the same
# text and the buttons; text alone.
FULL, PLAIN, TEXT = "full", "plain", "text"
FORMS = (FULL, PLAIN, TEXT)


@dataclass(frozen=True)
class Route:
    """Where the next try of a message goes: the index in its channel ladder, and its form."""

    step: int = 0
    form: str = FULL


def ladder(kind: str, channel: str, default_channel: str, escalation_channel: str) -> tuple[str, ...]:
    """The channels a message may go to, in order. A ticket's parent (and an incident's post)
    must reach people: its routed channel, then the default, then the escalation channel. An
    escalation or a notice falls back to the default channel. A thread note lives in its
    parent's thread, and the rest belong to their channel."""
    if kind in (PARENT, INCIDENT):
        chain = (channel, default_channel, escalation_channel)
    elif kind in (ESCALATION, NOTICE):
        chain = (channel, default_channel)
    else:
        chain = (channel,)
    return tuple(dict.fromkeys(chain))


def after_refusal(route: Route, error: str, channels: int) -> Route | None:
    """Where to try after Slack refused `route` with an error of class `error`; None when nothing
    is left to try. A refused channel moves the message to the next channel in its ladder; a
    refused message is tried in a simpler form; an error we do not know tries both, the form first."""
    if error == "gone":
        return None
    simpler = FORMS[FORMS.index(route.form) + 1] if route.form != TEXT else None
    next_channel = Route(route.step + 1, route.form) if route.step + 1 < channels else None
    if error == "channel":
        return next_channel
    if error == "content":
        return Route(route.step, simpler) if simpler else None
    return Route(route.step, simpler) if simpler else next_channel


MAX_ATTEMPTS = 12  # a message of a closed ticket (or of nobody) is given up after this many failed tries
MAX_BACKOFF_SECONDS = 300


def backoff_seconds(attempts: int) -> float:
    """The wait after the `attempts`-th failed try: 1 s doubling, capped at 5 minutes."""
    return float(min(2 ** min(max(attempts - 1, 0), 16), MAX_BACKOFF_SECONDS))


def keeps_trying(kind: str, ticket_open: bool, incident_open: bool = False) -> bool:
    """Messages nobody may miss are retried for as long as their ticket (or incident) is open:
    its parent, its thread notes, its escalation; and Earshot's notices about delivery itself.
    An update of the parent's state is superseded by the next one, a digest by tomorrow's."""
    if kind in (NOTICE, NOTE_UPDATE):  # an erasure must reach Slack, however long it is down
        return True
    if kind in (UPDATE, INCIDENT_UPDATE, CHANNEL, REMINDERS):
        return False
    return ticket_open or incident_open


def give_up(attempts: int, persistent: bool) -> bool:
    """After a transient failure: only a message that need not persist, and only after MAX_ATTEMPTS."""
    return not persistent and attempts >= MAX_ATTEMPTS


def when_exhausted(error: str, persistent: bool) -> str:
    """Every channel and form refused: "give_up", or "start_over" (after a backoff: someone may
    fix the channel or invite the bot). A message Slack refuses in every form, or whose thread is
    gone, never will take."""
    return "start_over" if persistent and error not in ("content", "gone") else "give_up"


def refusal_note(refused: list[dict], current_channel: str) -> str | None:
    """What a message that did not go as planned says about it, e.g.
    "Routed to #billing, which Slack refused: channel_not_found." (Earshot's own words; the
    caller escapes them)."""
    moved = [r for r in refused if r.get("channel") != current_channel]
    simplified = [r for r in refused if r.get("channel") == current_channel]
    sentences = []
    if moved:
        first = moved[0]
        also = "".join(f", then {r['channel']} ({r['error']})" for r in moved[1:])
        sentences.append(f"Routed to {first['channel']}, which Slack refused: {first['error']}{also}.")
    if simplified:
        sentences.append(f"Shown in a simpler form: Slack refused the full message ({simplified[-1]['error']}).")
    return " ".join(sentences) or None


# Failure episodes: per channel, from its first failure to its next success.
NOTICE_AFTER_SECONDS = 60.0  # a transient failure this old is worth telling people about


def should_notice(failing_for: float, refused: bool, noticed: bool, after: float = NOTICE_AFTER_SECONDS) -> bool:
    """Once per episode: at once when Slack refuses a channel, after `after` seconds of transient failure."""
    return not noticed and (refused or failing_for >= after)


def notice_channel(failing_channel: str, default_channel: str, escalation_channel: str) -> str:
    """Where a notice about `failing_channel` goes: the escalation channel, unless that is the one failing."""
    return default_channel if failing_channel == escalation_channel else escalation_channel
