"""The urgency policy and its risk signals: pure functions, no model."""

from dataclasses import dataclass

import pytest

from core.config_urgency import BUILT_IN_SIGNALS, UrgencyConfig
from core.tiers import TIERS
from models.signals import DEFAULT_SIGNALS
from triage.urgency import bump, decide, detect_signals


@dataclass(frozen=True)
class Pred:
    complaint: float
    severity: int
    severity_cue: str | None = None


def tier(pred, text="@acme meh", followers=None, repeat=0, policy=None):
    policy = policy or UrgencyConfig()
    return decide(pred, text, followers=followers, repeat_contacts=repeat, policy=policy).tier


@pytest.mark.parametrize(
    ("text", "signal"),
    [
        ("@acme the charger caught fire in my kitchen", "safety risk"),
        ("@acme my son was injured by the broken seat", "safety risk"),
        ("@acme I found glass in my salad, this is dangerous", "safety risk"),
        ("@acme my lawyer will be in touch", "legal threat"),
        ("@acme I'm going to sue you", "legal threat"),
        ("@acme reporting you to the FTC", "legal threat"),
        (
            "@acme someone logged into my account and changed my password",
            "fraud / account takeover",
        ),
        ("@acme unauthorized transactions on my card!!", "fraud / account takeover"),
        ("@acme my account was hacked", "fraud / account takeover"),
        ("@acme I did not authorise this payment", "fraud / account takeover"),
        ("@acme you double charged me for one order", "money taken"),
        ("@acme you took my money and never shipped", "money taken"),
        ("@acme still waiting for my refund after 6 weeks", "money taken"),
        ("@acme your site is down again", "service down"),
        ("@acme is there an outage? nothing loads", "service down"),
        ("@acme getting a 503 error on checkout", "service down"),
        ("@acme my flight is in 2 hours and I can't check in", "time-critical"),
        ("@acme I'm going to miss my connection because of you", "time-critical"),
        ("@acme stuck at the airport with no hotel", "time-critical"),
        ("@acme my appointment today was cancelled with no notice", "time-critical"),
    ],
)
def test_each_signal_is_detected(text, signal):
    assert signal in detect_signals(text)


@pytest.mark.parametrize(
    "text",
    [
        "no fraud here, thanks!",
        "@acme not a scam, just wanted to say the promo was real",
        "@acme nobody was injured, but the bus was late",
        "@acme my account wasn't hacked after all, I'd mistyped the password",
        "@acme never had an outage with you in five years",
        "@acme love the new app, thanks for the quick help",
        "@acme how do I change my delivery address?",
        "@acme the firework show was great, the crowd was on point",
    ],
)
def test_no_signal_in_harmless_or_negated_text(text):
    assert detect_signals(text) == []


def test_negation_does_not_reach_across_a_contrast():
    assert detect_signals("@acme not sure what happened, but I was scammed") == [
        "fraud / account takeover"
    ]


def test_negation_window_zero_turns_negation_off():
    policy = UrgencyConfig.from_config({"negation_window": 0})
    assert detect_signals("no fraud here", policy) == ["fraud / account takeover"]


@pytest.mark.parametrize(
    ("pred", "expected"),
    [
        (Pred(0.2, 0), "low"),  # not a complaint
        (Pred(0.55, 1), "low"),  # weak and mild: 0.275 + 0.125
        (Pred(0.8, 1), "normal"),  # 0.4 + 0.125
        (Pred(0.9, 2), "normal"),
        (Pred(0.9, 3), "high"),  # 0.45 + 0.375
        (Pred(0.95, 4), "high"),
    ],
)
def test_base_tier_from_complaint_and_severity(pred, expected):
    assert tier(pred) == expected


def test_risk_signal_makes_any_tone_critical():
    polite = Pred(0.3, 0)
    assert tier(polite, "@acme hi, small thing: my account was hacked") == "critical"


def test_reach_raises_one_tier_and_says_why():
    decision = decide(Pred(0.8, 1), "@acme meh", followers=120_000, repeat_contacts=0)
    assert decision.tier == "high"
    assert "reach 120k followers" in decision.signals
    assert tier(Pred(0.8, 1), followers=9_999) == "normal"
    assert tier(Pred(0.8, 1), followers=None) == "normal"


def test_repeat_contact_raises_one_tier_and_says_why():
    decision = decide(Pred(0.8, 1), "@acme meh", followers=None, repeat_contacts=1)
    assert decision.tier == "high"
    assert "repeat contact (2nd)" in decision.signals


def test_reach_and_repeat_stack_but_stop_at_critical():
    assert tier(Pred(0.8, 1), followers=50_000, repeat=2) == "critical"
    assert (
        tier(Pred(0.8, 1), "@acme you double charged me", followers=50_000, repeat=3) == "critical"
    )


def test_signals_explain_the_decision():
    decision = decide(
        Pred(0.93, 4), "@acme you took my money", followers=1_500_000, repeat_contacts=0
    )
    assert decision.signals == [
        "money taken",
        "reach 1.5M followers",
        "complaint 0.93",
        "severity 4 blame",
    ]


def test_the_wording_behind_a_severity_is_shown_with_it():
    decision = decide(Pred(0.9, 4, "scammers"), "@acme scammers", followers=None, repeat_contacts=0)
    assert decision.signals[-1] == 'severity 4 blame ("scammers")'


@pytest.mark.parametrize(
    ("start", "steps", "expected"),
    [
        ("low", 1, "normal"),
        ("normal", 2, "critical"),
        ("critical", 1, "critical"),
        ("high", 0, "high"),
    ],
)
def test_bump(start, steps, expected):
    assert bump(start, steps) == expected
    assert expected in TIERS


def test_thresholds_and_weights_from_config():
    policy = UrgencyConfig.from_config(
        {"high_score": 0.55, "reach_followers": 500, "repeat_contacts": 2, "severity_weight": 0.2}
    )
    assert tier(Pred(0.9, 2), policy=policy) == "high"  # 0.45 + 0.1
    assert tier(Pred(0.8, 1), followers=500, policy=policy) == "high"
    assert tier(Pred(0.8, 1), repeat=1, policy=policy) == "normal"
    assert tier(Pred(0.8, 1), repeat=2, policy=policy) == "high"


def test_complaint_threshold_floor_from_config():
    policy = UrgencyConfig.from_config({"complaint_threshold": 0.9})
    assert tier(Pred(0.85, 4), policy=policy) == "low"


def test_keywords_extend_and_add_signals_from_config():
    policy = UrgencyConfig.from_config(
        {"keywords": {"money taken": ["pocketed my deposit"], "data breach": ["leaked my data"]}}
    )
    assert detect_signals("@acme you pocketed  my deposit", policy) == ["money taken"]
    assert tier(Pred(0.1, 0), "@acme you leaked my data", policy=policy) == "critical"
    decision = decide(
        Pred(0.1, 0), "leaked my data", followers=None, repeat_contacts=0, policy=policy
    )
    assert decision.signals[0] == "data breach"


def test_disabled_signals_from_config():
    policy = UrgencyConfig.from_config({"disabled_signals": ["service down"]})
    assert detect_signals("@acme the app is down", policy) == []


def test_none_config_gives_defaults():
    assert UrgencyConfig.from_config(None) == UrgencyConfig()


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ({"high_scor": 0.5}, "high_scor"),
        ({"complaint_threshold": 1.5}, "complaint_threshold"),
        ({"complaint_threshold": "high"}, "complaint_threshold"),
        ({"reach_followers": -1}, "reach_followers"),
        ({"reach_followers": 10.5}, "reach_followers"),
        ({"reach_followers": True}, "reach_followers"),
        ({"repeat_contacts": 0}, "repeat_contacts"),
        ({"normal_score": 0.9, "high_score": 0.5}, "normal_score"),
        ({"complaint_weight": 0, "severity_weight": 0}, "complaint_weight"),
        ({"keywords": ["refund"]}, "keywords"),
        ({"keywords": {"money taken": [""]}}, "keywords"),
        ({"disabled_signals": ["not a signal"]}, "disabled_signals"),
    ],
)
def test_bad_config_raises_naming_the_key(config, key):
    with pytest.raises(ValueError, match=rf"^urgency\.{key}: "):
        UrgencyConfig.from_config(config)


def test_bad_config_type_raises():
    with pytest.raises(ValueError, match="^urgency: "):
        UrgencyConfig.from_config(["critical"])


def test_the_settings_name_the_built_in_signals():
    assert BUILT_IN_SIGNALS == tuple(DEFAULT_SIGNALS)


def test_settings_are_hashable_and_equal_whatever_form_the_keywords_take():
    given = UrgencyConfig(keywords={"vip": ["platinum member"]})
    assert given == UrgencyConfig(keywords=(("vip", ("platinum member",)),))
    assert hash(given) == hash(UrgencyConfig.from_config({"keywords": {"vip": ["platinum member"]}}))


def test_urgency_module_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, triage.urgency; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
