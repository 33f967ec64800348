"""How the urgency heads' outputs read as a tier: the model's own step of the urgency policy
(triage.urgency), here because training (models.urgency_train) chooses ``critical_at`` and
``evidence_at`` through it. Pure (no torch, no numpy)."""


CALM = ("low", "none")  # the tiers of posts that need little or nothing


def calmness(tiers: dict) -> float:
    """The tier head's P(low) + P(none): how far it reads the post as calm."""
    return sum(tiers.get(tier, 0.0) for tier in CALM)


def read_as_calm(tiers: dict, calm_at: float | None) -> bool:
    return calm_at is not None and calmness(tiers) >= calm_at


def critical_by_head(tiers: dict, p_critical: float, critical_at: float, calm_at: float | None) -> bool:
    """The critical head's own verdict: P(critical) from ``critical_at``, unless read as calm."""
    return p_critical >= critical_at and not read_as_calm(tiers, calm_at)


def model_tier(tiers: dict, p_critical: float, critical_at: float, evidence_at: float, phrase: bool,
               calm_at: float | None = None, passage: bool = False, answer: str | None = None) -> str:  # fmt: skip
    """``p_critical`` from the critical head, ``tiers`` the tier head's P(tier) (TIER_LABELS, "none"
    included) for the rest; ``phrase``: a built-in risk phrase was found, evidence that makes the post
    critical from ``evidence_at`` and at least high otherwise. ``calm_at``: where the tier head gives
    P(low) + P(none) at least this, it has read the post as calm (a question about a recall, thanks
    for an emergency handled well), and the critical head alone does not make it critical.
    ``passage``: one of its sentences, read alone, is critical (``models.passages``). ``answer``: the
    answer head's tier for a post that is not critical (``models.answer``), where the artifact has one;
    else the tier head's likeliest below critical."""
    evidence = phrase and p_critical >= evidence_at and not read_as_calm(tiers, calm_at)
    if passage or evidence or critical_by_head(tiers, p_critical, critical_at, calm_at):
        return "critical"
    likeliest = answer or max((t for t in tiers if t != "critical"), key=tiers.get)
    if phrase and likeliest not in ("critical", "high"):
        return "high"
    return likeliest
