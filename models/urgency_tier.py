"""How the urgency heads' outputs read as a tier: the model's own step of the urgency policy
(triage.urgency), here because training (models.urgency_train) chooses ``critical_at`` and
``evidence_at`` through it. Pure (no torch, no numpy)."""


def model_tier(tiers: dict, p_critical: float, critical_at: float, evidence_at: float, phrase: bool) -> str:
    """``p_critical`` from the critical head, ``tiers`` the tier head's P(tier) (TIER_LABELS, "none"
    included) for the rest; ``phrase``: a built-in risk phrase was found, evidence that makes the post
    critical from ``evidence_at`` and at least high otherwise."""
    if p_critical >= critical_at or (phrase and p_critical >= evidence_at):
        return "critical"
    likeliest = max((t for t in tiers if t != "critical"), key=tiers.get)
    if phrase and likeliest not in ("critical", "high"):
        return "high"
    return likeliest
