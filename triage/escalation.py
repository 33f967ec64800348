"""The escalation ladder of a breached clock, as pure rules: which levels are due, when the next one
is, whom a level mentions, and the paging key. No database, no clock: every instant is passed in.

Levels (core.config_ownership `EscalationLevel`) are counted from the breach (the clock's deadline)
in wall-clock time, not business time: paging someone at 3 a.m. is the point. Each level fires
once per ticket and clock: the caller records the fired indices (under a unique key, so that two
sweepers cannot both fire one) and passes them back as `fired`. Acknowledging stops every level
not fired yet; a clock met or a ticket resolved stops the ladder too (the caller stops asking) and
resolves the page under `dedup_key(ticket_id, clock)`.
"""

from collections.abc import Iterable
from datetime import datetime

from core.config_ownership import OWNER, EscalationLevel, default_ladder
from core.config_sections import SlackConfig
from core.config_sla import SlaConfig

Ladder = tuple[EscalationLevel, ...]


def ladder_for(sla: SlaConfig, slack: SlackConfig) -> Ladder:
    """The configured ladder, or today's single level (the escalation mentions, at the breach)."""
    return sla.escalation or default_ladder(slack.escalation_mentions)


def level_at(ladder: Ladder, breached_at: datetime, index: int) -> datetime:
    return breached_at + ladder[index].after


def due_levels(ladder: Ladder, breached_at: datetime, now: datetime, fired: Iterable[int] = (),
               acknowledged: bool = False) -> list[int]:  # fmt: skip
    """Indices of the levels due at `now` and not fired yet, lowest first (a sweeper that was down
    may find several due: each is fired once, in order). None once acknowledged."""
    if acknowledged:
        return []
    fired = set(fired)
    return [index for index in range(len(ladder))
            if index not in fired and level_at(ladder, breached_at, index) <= now]  # fmt: skip


def next_level_at(ladder: Ladder, breached_at: datetime, fired: Iterable[int] = (),
                  acknowledged: bool = False) -> datetime | None:  # fmt: skip
    """When the earliest level not fired yet is due (possibly already past), or None when every level
    has fired or the breach is acknowledged: the time the sweep should look at this clock again."""
    if acknowledged:
        return None
    fired = set(fired)
    waiting = [level_at(ladder, breached_at, index) for index in range(len(ladder)) if index not in fired]
    return min(waiting, default=None)


def pages(ladder: Ladder, fired: Iterable[int]) -> bool:
    """True when a fired level paged: the page must be resolved when the clock is met."""
    return any(ladder[index].page for index in fired if 0 <= index < len(ladder))


def mentions_for(level: EscalationLevel, owner: str | None) -> list[str]:
    """The level's mentions as Slack writes them: `owner` is the ticket's owner (dropped when it has
    none), a bare user id `U…`/`W…` becomes `<@U…>`, anything else (`<!subteam^S…>`) is kept."""
    written = []
    for mention in level.mention:
        if mention == OWNER:
            mention = owner
        if not mention:
            continue
        if mention[0] in "UW" and mention.isalnum() and mention.isupper():
            mention = f"<@{mention}>"
        if mention not in written:
            written.append(mention)
    return written


def channel_for(level: EscalationLevel, slack: SlackConfig) -> str:
    return level.channel or slack.escalation_channel


def dedup_key(ticket_id, clock: str) -> str:
    """The paging key of one ticket's clock (PagerDuty `dedup_key`; the on-call webhook's too)."""
    return f"earshot-{ticket_id}-{clock}"
