"""The urgency policy: from a model prediction and the mention's context to a tier with reasons.

Pure (no torch): the web process imports it to explain and re-check tiers.

1. Base tier from the model's urgency heads (``models.urgency_train``), trained on what a careful
   support lead would answer first: ``critical`` when the critical head's P(critical) reaches
   the model's ``critical_at``, else the tier head's likeliest of high, normal, low (a post the heads think needs
   nothing is ``low`` here; whether it opens a ticket at all is ``needs_reply``). The harm
   behind it (safety, vulnerable person, security, privacy, money, stranded, outage, legal) is
   named in the signals.
2. A built-in risk phrase (``models.signals``: safety risk, legal threat, fraud / account
   takeover, money taken, service down, time-critical) is evidence, not a verdict: it makes the
   post critical when P(critical) reaches the lower ``evidence_at``, and otherwise raises it to
   high. A phrase from the YAML ``urgency.keywords`` makes it critical: the operator said so.
3. A post in a language the heads cannot read is not scored: it is at least ``normal`` and
   always answered, with the signal "language xx not scored".
4. An author with at least ``reach_followers`` followers raises it one tier.
5. At least ``repeat_contacts`` earlier contacts while the ticket waits raise it one tier.

An artifact without the urgency heads scores as before them: score = complaint_weight *
P(complaint) + severity_weight * severity / 4, ``high`` from ``high_score``, ``normal`` from
``normal_score``, else ``low``; any risk phrase makes it ``critical``.

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
  disabled_signals     [[]]    built-in signals to switch off (their names as listed in step 2)
Nonsense raises ValueError("urgency.<key>: <reason>").
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from models.language import platform_language_unscored
from models.signals import DEFAULT_SIGNALS, CompiledSignals, compile_signals, find_signals

TIERS = ("critical", "high", "normal", "low")
SEVERITY_NAMES = {1: "no explicit reproach", 2: "disapproval", 3: "accusation", 4: "blame"}


@dataclass(frozen=True)
class Decision:
    tier: str
    signals: list[str]
    needs_reply: bool = True


@dataclass(frozen=True)
class UrgencyPolicy:
    complaint_threshold: float = 0.0
    complaint_weight: float = 0.5
    severity_weight: float = 0.5
    high_score: float = 0.75
    normal_score: float = 0.45
    reach_followers: int = 10000
    repeat_contacts: int = 1
    negation_window: int = 3
    keywords: dict = field(default_factory=dict)
    disabled_signals: tuple = ()
    compiled: CompiledSignals = field(init=False, repr=False, compare=False)
    operator: CompiledSignals = field(init=False, repr=False, compare=False)  # the YAML keywords alone

    def __post_init__(self):
        # Compiled once per policy: decide() runs per mention.
        object.__setattr__(self, "compiled", compile_signals(self.keywords, self.disabled_signals))
        object.__setattr__(self, "operator", compile_signals(self.keywords, tuple(DEFAULT_SIGNALS)))

    @classmethod
    def from_config(cls, mapping: dict | None) -> UrgencyPolicy:
        if mapping is None:
            return cls()
        if not isinstance(mapping, dict):
            raise ValueError("urgency: must be a mapping")
        known = {f.name for f in fields(cls) if f.init}
        values: dict[str, Any] = {}
        for key, value in mapping.items():
            if key not in known:
                raise ValueError(f"urgency.{key}: unknown key (known: {', '.join(sorted(known))})")
            values[key] = _CHECKS[key](key, value)
        policy = cls(**values)
        if policy.normal_score > policy.high_score:
            raise ValueError("urgency.normal_score: must not exceed high_score")
        if policy.complaint_weight + policy.severity_weight == 0:
            raise ValueError("urgency.complaint_weight: weights cannot both be 0")
        return policy


def _number(key, value, low=0.0, high=1.0):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ValueError(f"urgency.{key}: must be a number from {low} to {high}, got {value!r}")
    return float(value)


def _count(key, value, low=0, high=10**12):
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(
            f"urgency.{key}: must be a whole number from {low} to {high}, got {value!r}"
        )
    return value


def _keywords(key, value):
    def phrases_ok(phrases):
        return isinstance(phrases, list) and all(isinstance(p, str) and p.strip() for p in phrases)

    if not isinstance(value, dict) or not all(
        isinstance(name, str) and name.strip() and phrases_ok(phrases)
        for name, phrases in value.items()
    ):
        raise ValueError(f"urgency.{key}: must map signal names to lists of non-empty phrases")
    return {name: list(phrases) for name, phrases in value.items()}


def _disabled(key, value):
    if not isinstance(value, list) or not all(name in DEFAULT_SIGNALS for name in value):
        raise ValueError(f"urgency.{key}: must be a list of {', '.join(DEFAULT_SIGNALS)}")
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

DEFAULT_POLICY = UrgencyPolicy()


def bump(tier: str, steps: int = 1) -> str:
    """Raise a tier by ``steps`` (critical is the top and stays there)."""
    return TIERS[max(0, TIERS.index(tier) - steps)]


def detect_signals(text: str, policy: UrgencyPolicy = DEFAULT_POLICY) -> list[str]:
    return find_signals(text or "", policy.compiled, policy.negation_window)


def base_tier(complaint: float, severity: int, policy: UrgencyPolicy) -> str:
    if severity == 0 or complaint < policy.complaint_threshold:
        return "low"
    score = policy.complaint_weight * complaint + policy.severity_weight * severity / 4
    if score >= policy.high_score:
        return "high"
    return "normal" if score >= policy.normal_score else "low"


def _short_count(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}".rstrip("0").rstrip(".") + "M"
    if n >= 1_000:
        return f"{n / 1_000:.1f}".rstrip("0").rstrip(".") + "k"
    return str(n)


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def model_tier(tiers: dict, p_critical: float, critical_at: float, evidence_at: float, phrase: bool) -> str:
    """Step 1 and the evidence of step 2: ``p_critical`` from the critical head, ``tiers`` the tier
    head's P(tier) (TIER_LABELS, "none" included) for the rest."""
    if p_critical >= critical_at or (phrase and p_critical >= evidence_at):
        return "critical"
    likeliest = max((t for t in tiers if t != "critical"), key=tiers.get)
    if phrase and likeliest not in ("critical", "high"):
        return "high"
    return likeliest


def _base(prediction, text: str, risks: list[str], policy: UrgencyPolicy) -> tuple[str, list[str]]:
    """The tier from the model and the risk phrases, with the signals that explain it."""
    urgency = getattr(prediction, "urgency", None)
    if urgency is None:  # an artifact without the urgency heads
        return ("critical" if risks else base_tier(prediction.complaint, prediction.severity, policy)), list(risks)
    tier = model_tier(urgency.tiers, urgency.p_critical, urgency.critical_at, urgency.evidence_at, bool(risks))
    if tier == "none":
        tier = "low"
    if find_signals(text or "", policy.operator, policy.negation_window):
        tier = "critical"
    signals = list(risks)
    if urgency.harm != "none":
        signals.insert(0, f"harm: {urgency.harm} {urgency.harm_probability:.2f}")
    return tier, signals


def decide(
    prediction,
    text: str,
    *,
    followers: int | None,
    repeat_contacts: int,
    policy: UrgencyPolicy = DEFAULT_POLICY,
    language: str | None = None,
) -> Decision:
    """``prediction`` needs ``complaint`` (0..1), ``severity`` (0..4), ``severity_cue`` (the
    wording that set the severity, or None), ``needs_reply`` and, from an artifact with the
    urgency heads, ``urgency`` and ``language``, as a Prediction has. ``language`` is the
    platform's tag for the post, where it gives one."""
    risks = detect_signals(text, policy)
    tier, signals = _base(prediction, text, risks, policy)
    # Whatever the reply rules said, a post judged critical is answered. (A risk phrase alone, which
    # raises a post to high, does not: "the crew on my flight today were wonderful" needs nothing.)
    needs_reply = bool(getattr(prediction, "needs_reply", True)) or tier == "critical"
    unscored = platform_language_unscored(language) or getattr(prediction, "language", None)
    if unscored:
        tier = tier if tier in ("critical", "high") else "normal"
        needs_reply = True
        signals.append(f"language {unscored} not scored")
    if followers is not None and followers >= policy.reach_followers:
        tier = bump(tier)
        signals.append(f"reach {_short_count(followers)} followers")
    if repeat_contacts >= policy.repeat_contacts:
        tier = bump(tier)
        signals.append(f"repeat contact ({_ordinal(repeat_contacts + 1)})")
    signals.append(f"complaint {prediction.complaint:.2f}")
    if prediction.severity:
        severity = f"severity {prediction.severity} {SEVERITY_NAMES[prediction.severity]}"
        if cue := prediction.severity_cue:
            severity += f' ("{cue}")'
        signals.append(severity)
    return Decision(tier, signals, needs_reply)
