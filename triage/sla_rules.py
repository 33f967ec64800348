"""Which SLA policy a ticket follows: the first `sla.rules` entry whose every condition matches
(core.config_ownership `SlaRule`), else the per-tier `sla.policies` under the name "default".

Conditions: `urgency`, `source`, `brand` (case-insensitive), `keywords` (whole words, matched by
triage.routing's matcher, as routes match them), `authors` (`<source>:<author id>`) and
`min_followers`. A rule names targets for every tier (those it does not set come from
`sla.policies`), so the ticket's current urgency picks the row. The name is what a ticket stores:
`policy_named` finds its targets again later, falling back to the default when the configuration no
longer has that rule.
"""

from dataclasses import dataclass

from core.config_ownership import SlaRule
from core.config_sla import SlaConfig, SlaPolicy
from triage.routing import _has_keyword as has_keyword

DEFAULT = "default"


@dataclass(frozen=True)
class PolicyFacts:
    urgency: str
    source: str
    text: str = ""
    brand: str | None = None
    followers: int | None = None
    author: str | None = None  # "<source>:<author id>"

    @property
    def author_key(self) -> str:
        source, _, author_id = (self.author or "").partition(":")
        return f"{source.lower()}:{author_id}"


def matches(rule: SlaRule, facts: PolicyFacts) -> bool:
    checks = (
        lambda: not rule.urgency or facts.urgency in rule.urgency,
        lambda: not rule.source or facts.source.lower() in rule.source,
        lambda: not rule.brand or (facts.brand or "").lower() in rule.brand,
        lambda: not rule.authors or facts.author_key in rule.authors,
        lambda: rule.min_followers is None or (facts.followers or 0) >= rule.min_followers,
        lambda: not rule.keywords or has_keyword(facts.text or "", rule.keywords),  # the dearest, last
    )
    return all(check() for check in checks)


def policy_for(rules: tuple[SlaRule, ...], facts: PolicyFacts,
               defaults: dict[str, SlaPolicy]) -> tuple[str, SlaPolicy]:  # fmt: skip
    """(the policy's name, the targets for the ticket's urgency): the first matching rule, else
    ("default", the per-tier policy)."""
    for rule in rules:
        if matches(rule, facts):
            return rule.name, rule.policies[facts.urgency]
    return DEFAULT, defaults[facts.urgency]


def choose_policy(sla: SlaConfig, facts: PolicyFacts) -> tuple[str, SlaPolicy]:
    """`policy_for` with the configuration's rules and per-tier policies."""
    return policy_for(sla.rules, facts, sla.policies)


def policy_named(sla: SlaConfig, name: str | None, urgency: str) -> SlaPolicy:
    """The targets of a stored policy name at `urgency`; the default when the rule is gone."""
    for rule in sla.rules:
        if rule.name == name:
            return rule.policies[urgency]
    return sla.policies[urgency]
