"""The ownership and escalation keys of the YAML configuration: a route's `assign`, the
`sla.escalation` ladder and the `sla.rules` that pick a named SLA policy on conditions.

```yaml
routes:
  - match: {urgency: [critical]}
    channel: "#support-critical"
    assign:                        # optional: give each new ticket of this route an owner
      pool: [U0ALICE, U0BOB]       # Slack user ids (U… or W…), no repeats, at most 200
      mode: least_loaded           # round_robin (default) or least_loaded
      max_open: 5                  # optional cap on open tickets per agent; over it, tickets wait
sla:
  escalation:                      # levels counted from the breach; absent: one level at 0s that
    - after: 0s                    # mentions slack.escalation_mentions in slack.escalation_channel
      mention: [owner, "<!subteam^S0ONCALL>"]   # `owner`: the ticket's owner; U…/W… ids become <@U…>
    - after: 30m
      mention: ["<!subteam^S0LEADS>"]
      channel: "#support-leads"    # optional; default slack.escalation_channel
      page: true                   # optional (false): page on-call (PagerDuty / on-call webhook)
  rules:                           # first match wins; no match: the per-tier `sla.policies`
    - name: vip                    # [a-z0-9_-], unique, not "default"
      match:                       # all keys optional and AND-ed; an empty match takes every ticket
        min_followers: 100000
        source: [x, instagram]
        brand: [acme]
        urgency: [critical, high]
        keywords: [lawyer, press]  # whole words, as routes match them
        authors: ["x:12345"]       # <source>:<author id>
      policies:                    # at least one tier; each key as in sla.policies, the missing
        critical: {first_response: 5m}        # ones (and tiers not named) taken from sla.policies
        high: {first_response: 15m, resolution: 4h}
```

At most 6 escalation levels, `after` from 0s to 30d and never decreasing; at most 50 rules. Each
mistake is one ConfigError naming the key path. This module imports nothing of config_sla: the
rule targets are read through the `policy` function config_sla passes in, so `sla.rules` and
`sla.policies` are checked by the same code.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from core.config_reader import Reader
from core.tiers import TIERS

MODES = ("round_robin", "least_loaded")
MAX_POOL = 200
MAX_LEVELS = 6
MAX_AFTER = timedelta(days=30)
MAX_RULES = 50
OWNER = "owner"  # the mention token that stands for the ticket's owner
RULE_KEYS = ("urgency", "source", "brand", "keywords", "authors", "min_followers")
_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")
_RULE_NAME = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,39}$")
_AUTHOR = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,31}:\S{1,255}$")
_ZERO = ("0", "0s", "0m", "0h", "0d")


@dataclass(frozen=True)
class Assignment:
    pool: tuple[str, ...]
    mode: str = "round_robin"
    max_open: int | None = None


@dataclass(frozen=True)
class EscalationLevel:
    after: timedelta
    mention: tuple[str, ...] = ()
    channel: str | None = None  # None: slack.escalation_channel
    page: bool = False


@dataclass(frozen=True)
class SlaRule:
    name: str
    policies: dict = field(default_factory=dict)  # every tier -> SlaPolicy (tiers not named: the default)
    urgency: tuple[str, ...] = ()
    source: tuple[str, ...] = ()
    brand: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()  # "<source>:<author id>", the source lower-cased
    min_followers: int | None = None


def default_ladder(escalation_mentions: tuple[str, ...]) -> tuple[EscalationLevel, ...]:
    """Today's behaviour when `sla.escalation` is absent: one level at the breach."""
    return (EscalationLevel(after=timedelta(0), mention=tuple(escalation_mentions)),)


def _positive_int(r: Reader, value, key: str, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
        r.fail(key, f"must be an integer from 1 to {high}, got {value!r}")
    return value


def parse_assign(r: Reader, raw, key: str) -> Assignment | None:
    """A route's `assign:` (None when absent)."""
    if raw is None:
        return None
    raw = r.mapping(raw, key)
    r.unknown(raw, ("pool", "mode", "max_open"), key)
    pool = raw.get("pool")
    if not isinstance(pool, list) or not pool:
        r.fail(f"{key}.pool", "must be a non-empty list of Slack user ids like U0123ABCD")
    for value in pool:
        if not isinstance(value, str) or not _USER.match(value):
            r.fail(f"{key}.pool", f"{value!r} is not a Slack user id like U0123ABCD")
    if len(set(pool)) != len(pool):
        r.fail(f"{key}.pool", "names an agent twice")
    if len(pool) > MAX_POOL:
        r.fail(f"{key}.pool", f"must list at most {MAX_POOL} agents")
    mode = raw.get("mode", "round_robin")
    if mode not in MODES:
        r.fail(f"{key}.mode", f"must be one of {', '.join(MODES)}, got {mode!r}")
    max_open = raw.get("max_open")
    if max_open is not None:
        max_open = _positive_int(r, max_open, f"{key}.max_open", 10_000)
    return Assignment(pool=tuple(pool), mode=mode, max_open=max_open)


def _after(r: Reader, value, key: str) -> timedelta:
    if value is None:
        r.fail(key, "is required (e.g. 0s, 30m)")
    if (isinstance(value, int) and not isinstance(value, bool) and value == 0) or value in _ZERO:
        return timedelta(0)
    after = r.duration(value, key)
    if after > MAX_AFTER:
        r.fail(key, "must be at most 30d")
    return after


def parse_escalation(r: Reader, raw) -> tuple[EscalationLevel, ...]:
    """`sla.escalation` (an empty tuple when absent: see default_ladder)."""
    if raw is None:
        return ()
    if not isinstance(raw, list) or not raw:
        r.fail("sla.escalation", "must be a non-empty list of {after: ..., mention: [...], channel: ..., page: ...}")
    if len(raw) > MAX_LEVELS:
        r.fail("sla.escalation", f"must have at most {MAX_LEVELS} levels")
    levels = []
    for index, entry in enumerate(raw):
        key = f"sla.escalation[{index}]"
        entry = r.mapping(entry, key)
        r.unknown(entry, ("after", "mention", "channel", "page"), key)
        after = _after(r, entry.get("after"), f"{key}.after")
        if levels and after < levels[-1].after:
            r.fail(f"{key}.after", "must not be earlier than the level before it")
        channel = entry.get("channel")
        levels.append(EscalationLevel(
            after=after,
            mention=r.strings(entry.get("mention", []), f"{key}.mention") if entry.get("mention") else (),
            channel=r.channel(channel, f"{key}.channel") if channel is not None else None,
            page=r.flag(entry, f"{key}.page", False),
        ))  # fmt: skip
    return tuple(levels)


def _rule_match(r: Reader, raw, key: str) -> dict:
    match = r.mapping(raw, key)
    r.unknown(match, RULE_KEYS, key)
    fields = {name: r.strings(match[name], f"{key}.{name}") for name in RULE_KEYS[:-1] if name in match}
    bad = set(fields.get("urgency", ())) - set(TIERS)
    if bad:
        r.fail(f"{key}.urgency", f"unknown tier(s) {', '.join(sorted(bad))}; tiers: {', '.join(TIERS)}")
    fields = {name: tuple(v.lower() for v in values) for name, values in fields.items() if name != "authors"}
    authors = []
    for author in r.strings(match["authors"], f"{key}.authors") if "authors" in match else ():
        source, _, author_id = author.partition(":")
        author = f"{source.lower()}:{author_id}"
        if not _AUTHOR.match(author):
            r.fail(f"{key}.authors", f"{author!r} must look like <source>:<author id>, e.g. x:12345")
        authors.append(author)
    followers = match.get("min_followers")
    if followers is not None and (isinstance(followers, bool) or not isinstance(followers, int) or followers < 0):
        r.fail(f"{key}.min_followers", "must be a non-negative integer")
    return {**fields, "authors": tuple(authors), "min_followers": followers}


PolicyReader = Callable[[dict, str, object], object]  # (raw targets, key path, the tier's default) -> SlaPolicy


def parse_rules(r: Reader, raw, policy: PolicyReader, defaults: dict) -> tuple[SlaRule, ...]:
    """`sla.rules`; `defaults` are the per-tier policies, `policy` reads one tier's targets."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        r.fail("sla.rules", "must be a list of {name: ..., match: ..., policies: ...}")
    if len(raw) > MAX_RULES:
        r.fail("sla.rules", f"must have at most {MAX_RULES} rules")
    rules, names = [], set()
    for index, entry in enumerate(raw):
        key = f"sla.rules[{index}]"
        entry = r.mapping(entry, key)
        r.unknown(entry, ("name", "match", "policies"), key)
        name = entry.get("name")
        if not isinstance(name, str) or not _RULE_NAME.match(name) or name == "default":
            r.fail(f"{key}.name", f"must be a name of a-z, 0-9, _ and - (not 'default'), got {name!r}")
        if name in names:
            r.fail(f"{key}.name", f"{name!r} is used by an earlier rule")
        names.add(name)
        targets = r.mapping(entry.get("policies"), f"{key}.policies")
        r.unknown(targets, TIERS, f"{key}.policies")
        if not targets:
            r.fail(f"{key}.policies", "must name at least one tier")
        policies = {tier: policy(r.mapping(targets[tier], f"{key}.policies.{tier}"), f"{key}.policies.{tier}",
                                 defaults[tier]) if tier in targets else defaults[tier]
                    for tier in TIERS}  # fmt: skip
        rules.append(SlaRule(name=name, policies=policies, **_rule_match(r, entry.get("match"), f"{key}.match")))
    return tuple(rules)
