"""Urgency from the model's urgency heads: the tier rule (pure), risk phrases as evidence, the
language path, and the shipped heads on a few posts per harm category (written for these tests,
not taken from any urgency data set)."""

from dataclasses import dataclass

import pytest

from core.config_urgency import UrgencyConfig
from models.classifier import ModelUrgency
from models.language import platform_language_unscored, unscored_language
from models.urgency_tier import model_tier
from triage.urgency import PASSAGE_CHARS, decide


@dataclass(frozen=True)
class Pred:
    complaint: float
    severity: int
    urgency: ModelUrgency | None
    needs_reply: bool = True
    severity_cue: str | None = None
    language: str | None = None


def urgency(critical=0.0, high=0.0, normal=0.0, low=0.0, none=0.0, harm="none", harm_p=0.9):
    tiers = {"critical": critical, "high": high, "normal": normal, "low": low, "none": none}
    return ModelUrgency(tiers, critical, harm, harm_p, critical_at=0.5, evidence_at=0.2)


def decision(u, text="@acme hello", language=None, policy=None, **fields):
    return decide(Pred(0.9, 2, u, **fields), text, followers=None, repeat_contacts=0,
                  policy=policy or UrgencyConfig(), language=language)  # fmt: skip


@pytest.mark.parametrize(("tiers", "phrase", "expected"), [
    ({"critical": 0.6, "high": 0.3, "normal": 0.1, "low": 0, "none": 0}, False, "critical"),
    ({"critical": 0.49, "high": 0.1, "normal": 0.41, "low": 0, "none": 0}, False, "normal"),
    ({"critical": 0.3, "high": 0.1, "normal": 0.6, "low": 0, "none": 0}, True, "critical"),  # evidence
    ({"critical": 0.1, "high": 0.1, "normal": 0.8, "low": 0, "none": 0}, True, "high"),  # a phrase alone
    ({"critical": 0.1, "high": 0.0, "normal": 0.1, "low": 0.1, "none": 0.7}, False, "none"),
])  # fmt: skip
def test_model_tier(tiers, phrase, expected):
    assert model_tier(tiers, tiers["critical"], critical_at=0.5, evidence_at=0.2, phrase=phrase) == expected


def test_the_critical_head_decides_critical_not_the_tier_heads_argmax():
    tiers = {"critical": 0.9, "high": 0.1, "normal": 0, "low": 0, "none": 0}
    assert model_tier(tiers, 0.1, critical_at=0.5, evidence_at=0.2, phrase=False) == "high"
    assert model_tier({**tiers, "critical": 0.0}, 0.7, critical_at=0.5, evidence_at=0.2, phrase=False) == "critical"


def test_a_risk_phrase_is_evidence_not_a_verdict():
    calm = urgency(critical=0.05, normal=0.9)
    assert decision(calm, "@acme is it a scam? lol no, love the promo").tier == "high"
    assert decision(urgency(critical=0.3, normal=0.7), "@acme someone hacked my account").tier == "critical"


def test_the_operators_keywords_still_make_a_post_critical():
    policy = UrgencyConfig(keywords={"vip": ["platinum member"]})
    assert decision(urgency(low=0.9), "@acme platinum member here, app is slow", policy=policy).tier == "critical"


def test_the_harm_is_named_and_none_needs_nothing():
    d = decision(urgency(critical=0.8, harm="safety", harm_p=0.77))
    assert d.tier == "critical" and d.signals[0] == "harm: safety 0.77"
    quiet = decision(urgency(none=0.9), needs_reply=False)
    assert quiet.tier == "low" and not quiet.needs_reply


@pytest.mark.parametrize("language", ["es", "pt-br", "ja"])
def test_a_language_the_heads_cannot_read_opens_a_normal_ticket(language):
    d = decision(urgency(none=0.9), language=language, needs_reply=False)
    assert d.tier == "normal" and d.needs_reply and f"language {language.split('-')[0]} not scored" in d.signals
    assert decision(urgency(critical=0.9), language=language).tier == "critical"


def test_language_detection_is_offline_and_conservative():
    assert unscored_language("@acme mi pedido nunca llegó y nadie responde a mis mensajes") == "es"
    assert unscored_language("@acme Mein Paket ist seit zwei Wochen verschwunden") == "de"
    for english in ["@acme my order never arrived", "lol ok", "@acme thx!!", "@SouthwestAir stuck in DEN again"]:
        assert unscored_language(english) is None
    assert platform_language_unscored("und") is None and platform_language_unscored("en-gb") is None
    assert platform_language_unscored("fr") == "fr"


# A few posts per harm category, in plain words (no risk phrase), for the shipped heads.
CRITICAL_POSTS = {
    "safety": "@velocar pressed the brake pedal and it sank to the floor on the ring road, I coasted into a lay-by",
    "vulnerable": "@warmhome my dad is 91 and his heating has been off since your engineer left on friday, "
                  "it's 3 degrees",
    "security": "@mobilo someone moved my number to a new sim last night and now they're resetting my bank logins",
    "privacy": "@medicly your app just showed me another patient's test results and home address",
    "stranded": "@skyjet my 9 year old was flying alone and your staff can't tell me where she is now",
    "money": "@paywise my salary went in this morning and you've frozen the whole account, rent leaves tomorrow",
    "legal": "@telco I've reported you to the ombudsman and trading standards today",
    "outage": "@payterm none of our card machines have taken a payment since 9am, the whole shop is turning "
              "people away",
}
DENIALS = [  # alarming words denied or asked about: never critical
    "@acme no fraud here, just a question about your transfer fees",
    "@acme luckily nobody was hurt, but the parcel was three days late",
    "@acme is the smart lock safe to use with young kids around?",
]
CALM_POSTS = [
    "@velocar love the new colour options!",
    "@warmhome thanks, engineer came and all sorted",
    "@mobilo is the new plan available in my area?",
]


@pytest.fixture(scope="module")
def clf():
    from models.classifier import load_classifier

    shipped = load_classifier()
    if shipped.heads.tier is None:
        pytest.fail("the shipped artifact has no urgency heads (python -m models train-urgency)")
    return shipped


def test_the_shipped_heads_call_plain_words_critical(clf):
    texts = list(CRITICAL_POSTS.values())
    predictions = clf.predict(texts)
    tiers = [decide(p, t, followers=None, repeat_contacts=0).tier for p, t in zip(predictions, texts, strict=True)]
    assert tiers.count("critical") >= len(texts) - 1, dict(zip(CRITICAL_POSTS, tiers, strict=True))


def test_critical_posts_are_always_answered(clf):
    texts = list(CRITICAL_POSTS.values())
    for text, prediction in zip(texts, clf.predict(texts), strict=True):
        d = decide(prediction, text, followers=None, repeat_contacts=0)
        assert d.needs_reply or d.tier != "critical", (text, d)


def test_denied_harm_is_not_critical(clf):
    for text, prediction in zip(DENIALS, clf.predict(DENIALS), strict=True):
        assert decide(prediction, text, followers=None, repeat_contacts=0).tier != "critical", text


def test_a_decided_critical_post_opens_a_ticket_even_when_the_reply_rules_say_no():
    d = decision(urgency(critical=0.9, none=0.1), needs_reply=False)
    assert d.tier == "critical" and d.needs_reply
    praise = decision(urgency(critical=0.05, none=0.9), "@acme the crew on my flight today were wonderful",
                      needs_reply=False)  # fmt: skip
    assert praise.tier == "high" and not praise.needs_reply  # a phrase alone opens no ticket


def test_the_shipped_heads_leave_calm_posts_calm(clf):
    for text, prediction in zip(CALM_POSTS, clf.predict(CALM_POSTS), strict=True):
        d = decide(prediction, text, followers=None, repeat_contacts=0)
        assert d.tier in ("low", "normal"), (text, d)


def test_a_mild_complaint_still_gets_a_reply(clf):
    text = "@cardly the app keeps forgetting my card, annoying"
    [prediction] = clf.predict([text])
    assert decide(prediction, text, followers=None, repeat_contacts=0).needs_reply


def test_the_tier_head_reading_a_post_as_calm_overrules_the_critical_head_alone():
    calm = {"critical": 0.1, "high": 0.1, "normal": 0.1, "low": 0.3, "none": 0.4}
    assert model_tier(calm, 0.8, critical_at=0.5, evidence_at=0.2, phrase=False) == "critical"  # no gate
    assert model_tier(calm, 0.8, critical_at=0.5, evidence_at=0.2, phrase=False, calm_at=None) == "critical"
    assert model_tier(calm, 0.8, critical_at=0.5, evidence_at=0.2, phrase=True, calm_at=0.7) == "high"
    assert model_tier(calm, 0.8, critical_at=0.5, evidence_at=0.2, phrase=False, calm_at=0.71) == "critical"
    worried = {"critical": 0.2, "high": 0.3, "normal": 0.3, "low": 0.1, "none": 0.1}
    assert model_tier(worried, 0.6, critical_at=0.5, evidence_at=0.2, phrase=False, calm_at=0.3) == "critical"


def test_decide_reads_the_models_gate():
    u = ModelUrgency({"critical": 0.1, "high": 0.05, "normal": 0.05, "low": 0.3, "none": 0.5}, 0.9, "safety", 0.8,
                     critical_at=0.5, evidence_at=0.2, calm_at=0.6)  # fmt: skip
    assert decision(u, "@acme the recall letter came, thanks, which batch numbers were affected?").tier == "low"
    assert decision(ModelUrgency(u.tiers, 0.9, "safety", 0.8, critical_at=0.5, evidence_at=0.2)).tier == "critical"


NEAR = {"critical": 0.2, "high": 0.4, "normal": 0.2, "low": 0.1, "none": 0.1}


def test_the_sentence_is_quoted_in_the_signals_and_the_post_answered():
    sentence = "Anyway, checked my banking app and you have taken " + "the saddle money twice " * 10
    u = ModelUrgency(NEAR, 0.3, "money", 0.7, critical_at=0.55, evidence_at=0.5, calm_at=0.3, passage=sentence)
    d = decide(Pred(0.4, 0, u, needs_reply=False), "post", followers=None, repeat_contacts=0)
    assert d.tier == "critical" and d.needs_reply
    assert d.signals[0] == "harm: money 0.70"
    quoted = d.signals[1]
    assert quoted.startswith('read alone: "Anyway, checked my banking app') and quoted.endswith('…"')
    assert len(quoted) <= len('read alone: ""') + PASSAGE_CHARS
    unread = ModelUrgency(NEAR, 0.3, "money", 0.7, critical_at=0.55, evidence_at=0.5, calm_at=0.3)
    plain = decide(Pred(0.4, 0, unread, needs_reply=False), "post", followers=None, repeat_contacts=0)
    assert plain.tier == "high" and not any(s.startswith("read alone") for s in plain.signals)
