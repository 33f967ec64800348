"""How the urgency heads' outputs read as a tier: the model's own step of the urgency policy
(triage.urgency), here because training (models.urgency_train) chooses ``critical_at`` and
``evidence_at`` through it. Pure (no torch, no numpy)."""


def model_tier(tiers: dict, p_critical: float, critical_at: float, evidence_at: float, phrase: bool,
               calm_at: float | None = None, passage: bool = False) -> str:  # fmt: skip
    """``p_critical`` from the critical head, ``tiers`` the tier head's P(tier) (TIER_LABELS, "none"
    included) for the rest; ``phrase``: a built-in risk phrase was found, evidence that makes the post
    critical from ``evidence_at`` and at least high otherwise. ``calm_at``: where the tier head gives
    P(low) + P(none) at least this, it has read the post as calm (a question about a recall, thanks
    for an emergency handled well), and the critical head alone does not make it critical.
    ``passage``: one of its sentences, read alone, is critical (``models.passages``)."""
    calm = calm_at is not None and tiers.get("low", 0.0) + tiers.get("none", 0.0) >= calm_at
    if passage or (not calm and (p_critical >= critical_at or (phrase and p_critical >= evidence_at))):
        return "critical"
    likeliest = max((t for t in tiers if t != "critical"), key=tiers.get)
    if phrase and likeliest not in ("critical", "high"):
        return "high"
    return likeliest
