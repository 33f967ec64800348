"""The `urgency:` section of the YAML configuration: the operator's settings of the urgency policy
(triage.urgency applies them; its docstring says what each step does).

YAML ``urgency:`` keys (all optional; defaults in brackets):
  complaint_threshold  [0.0]   extra floor: P(complaint) below which a complaint stays low
  complaint_weight     [0.5]   weight of P(complaint) in the score
  severity_weight      [0.5]   weight of severity/4 in the score
  high_score           [0.75]  score from which the base tier is high
  normal_score         [0.45]  score from which the base tier is normal (<= high_score)
  reach_followers      [10000] followers from which the tier is raised one step
  repeat_contacts      [1]     earlier contacts from which the tier is raised one step
  negation_window      [3]     words before a keyword searched for a negation (0: off)
  keywords             [{}]    {signal name: [phrases]}: phrases added to a built-in signal, or a
                               new signal of that name; any of these phrases makes a mention critical
  disabled_signals     [[]]    built-in signals to switch off (their names in BUILT_IN_SIGNALS)
Nonsense raises ValueError("urgency.<key>: <reason>").
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

# The names of models.signals.DEFAULT_SIGNALS, in its order, so that a YAML naming a signal that does
# not exist is refused at start (core imports nothing of the model; tests/test_urgency.py checks the two agree).
BUILT_IN_SIGNALS = ("safety risk", "legal threat", "fraud / account takeover", "money taken", "service down",
                    "time-critical")  # fmt: skip


@dataclass(frozen=True)
class UrgencyConfig:
    """Plain settings, frozen and hashable: ``keywords`` is held as ((signal, (phrase, ...)), ...),
    in the YAML's order (a mapping given here is turned into that), so the policy can cache what it
    compiles from them."""

    complaint_threshold: float = 0.0
    complaint_weight: float = 0.5
    severity_weight: float = 0.5
    high_score: float = 0.75
    normal_score: float = 0.45
    reach_followers: int = 10000
    repeat_contacts: int = 1
    negation_window: int = 3
    keywords: tuple[tuple[str, tuple[str, ...]], ...] = ()
    disabled_signals: tuple[str, ...] = ()

    def __post_init__(self):
        if isinstance(self.keywords, dict):
            frozen = tuple((name, tuple(phrases)) for name, phrases in self.keywords.items())
            object.__setattr__(self, "keywords", frozen)
        object.__setattr__(self, "disabled_signals", tuple(self.disabled_signals))

    @classmethod
    def from_config(cls, mapping: dict | None) -> UrgencyConfig:
        if mapping is None:
            return cls()
        if not isinstance(mapping, dict):
            raise ValueError("urgency: must be a mapping")
        known = {f.name for f in fields(cls)}
        values: dict[str, Any] = {}
        for key, value in mapping.items():
            if key not in known:
                raise ValueError(f"urgency.{key}: unknown key (known: {', '.join(sorted(known))})")
            values[key] = _CHECKS[key](key, value)
        settings = cls(**values)
        if settings.normal_score > settings.high_score:
            raise ValueError("urgency.normal_score: must not exceed high_score")
        if settings.complaint_weight + settings.severity_weight == 0:
            raise ValueError("urgency.complaint_weight: weights cannot both be 0")
        return settings


def _number(key, value, low=0.0, high=1.0):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ValueError(f"urgency.{key}: must be a number from {low} to {high}, got {value!r}")
    return float(value)


def _count(key, value, low=0, high=10**12):
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"urgency.{key}: must be a whole number from {low} to {high}, got {value!r}")
    return value


def _keywords(key, value):
    def phrases_ok(phrases):
        return isinstance(phrases, list) and all(isinstance(p, str) and p.strip() for p in phrases)

    if not isinstance(value, dict) or not all(
        isinstance(name, str) and name.strip() and phrases_ok(phrases) for name, phrases in value.items()
    ):
        raise ValueError(f"urgency.{key}: must map signal names to lists of non-empty phrases")
    return {name: list(phrases) for name, phrases in value.items()}


def _disabled(key, value):
    if not isinstance(value, list) or not all(name in BUILT_IN_SIGNALS for name in value):
        raise ValueError(f"urgency.{key}: must be a list of {', '.join(BUILT_IN_SIGNALS)}")
    return tuple(value)


_CHECKS = {
    "complaint_threshold": _number,
    "complaint_weight": lambda k, v: _number(k, v, 0.0, 10.0),
    "severity_weight": lambda k, v: _number(k, v, 0.0, 10.0),
    "high_score": lambda k, v: _number(k, v, 0.0, 20.0),
    "normal_score": lambda k, v: _number(k, v, 0.0, 20.0),
    "reach_followers": _count,
    "repeat_contacts": lambda k, v: _count(k, v, 1),
    "negation_window": lambda k, v: _count(k, v, 0, 20),
    "keywords": _keywords,
    "disabled_signals": _disabled,
}
