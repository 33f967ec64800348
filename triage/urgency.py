"""The urgency policy: from a model prediction and the mention's context to a tier with reasons.

Pure (no torch): the web process imports it to explain and re-check tiers.

1. Base tier from the model's urgency heads (``models.urgency_train``), trained on what a careful
   support lead would answer first (``models.urgency_tier``): ``critical`` when the critical head's
   P(critical) reaches the model's ``critical_at`` (unless the tier head reads the post as calm: its
   P(low) + P(none) reaches the model's ``calm_at``), or when one of its sentences, read alone, is
   (``models.passages``: quoted in the signals), else the answer head's tier of high, normal, low
   (``models.answer``; an artifact without it: the tier head's likeliest), and a post the heads think
   needs nothing is ``low`` here (whether it opens a ticket at all is ``needs_reply``). The harm
   behind it (safety, vulnerable person, security, privacy, money, stranded, outage, legal) is
   named in the signals, with the words that raised P(critical) most (``models.attribution``) when
   the post is critical or high or has a harm.
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

The operator's settings (thresholds, reach, repeat contacts, keywords, switched-off signals) are
``core.config_urgency.UrgencyConfig``, read from the YAML ``urgency:`` section; every function here
takes them as ``policy``. What they compile to (the signal patterns) is cached per settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from core.config_urgency import UrgencyConfig
from core.tiers import TIERS
from models.language import platform_language_unscored
from models.signals import DEFAULT_SIGNALS, CompiledSignals, compile_signals, find_signals
from models.urgency_tier import model_tier

SEVERITY_NAMES = {1: "no explicit reproach", 2: "disapproval", 3: "accusation", 4: "blame"}
PASSAGE_CHARS = 120  # a sentence quoted in the signals is cut to this
DEFAULT_POLICY = UrgencyConfig()


@dataclass(frozen=True)
class Decision:
    tier: str
    signals: list[str]
    needs_reply: bool = True


@lru_cache(maxsize=16)
def _compiled(keywords: tuple, disabled: tuple[str, ...]) -> tuple[CompiledSignals, CompiledSignals]:
    """(every signal in force, the YAML keywords alone), compiled once per settings: decide() runs per
    mention. Keyed by the settings' keywords and switched-off signals, which are all they depend on."""
    extra = {name: list(phrases) for name, phrases in keywords}
    return compile_signals(extra, disabled), compile_signals(extra, tuple(DEFAULT_SIGNALS))


def bump(tier: str, steps: int = 1) -> str:
    """Raise a tier by ``steps`` (critical is the top and stays there)."""
    return TIERS[max(0, TIERS.index(tier) - steps)]


def detect_signals(text: str, policy: UrgencyConfig = DEFAULT_POLICY) -> list[str]:
    compiled, _ = _compiled(policy.keywords, policy.disabled_signals)
    return find_signals(text or "", compiled, policy.negation_window)


def base_tier(complaint: float, severity: int, policy: UrgencyConfig) -> str:
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


def _quoted(sentence: str, most: int = PASSAGE_CHARS) -> str:
    sentence = " ".join(sentence.split())
    return sentence if len(sentence) <= most else sentence[: most - 1].rstrip() + "…"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _base(prediction, text: str, risks: list[str], policy: UrgencyConfig) -> tuple[str, list[str]]:
    """The tier from the model and the risk phrases, with the signals that explain it."""
    urgency = getattr(prediction, "urgency", None)
    if urgency is None:  # an artifact without the urgency heads
        return ("critical" if risks else base_tier(prediction.complaint, prediction.severity, policy)), list(risks)
    passage = getattr(urgency, "passage", None)
    tier = model_tier(urgency.tiers, urgency.p_critical, urgency.critical_at, urgency.evidence_at, bool(risks),
                      urgency.calm_at, passage is not None, getattr(urgency, "answer", None))  # fmt: skip
    if tier == "none":
        tier = "low"
    _, operator = _compiled(policy.keywords, policy.disabled_signals)
    if find_signals(text or "", operator, policy.negation_window):
        tier = "critical"
    signals = list(risks)
    if urgency.harm != "none":
        signals.insert(0, f"harm: {urgency.harm} {urgency.harm_probability:.2f}")
    weighed = urgency.weighed
    if weighed and (urgency.harm != "none" or tier in ("critical", "high")):
        signals.insert(1 if urgency.harm != "none" else 0, "weighed most: " + " / ".join(weighed))
    if passage:
        signals.insert(1 if urgency.harm != "none" else 0, f'read alone: "{_quoted(passage)}"')
    return tier, signals


def decide(
    prediction,
    text: str,
    *,
    followers: int | None,
    repeat_contacts: int,
    policy: UrgencyConfig = DEFAULT_POLICY,
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
