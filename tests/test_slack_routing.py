"""Routing: each rule key, AND-ed keys, first match wins, the default channel otherwise."""

import pytest

from core.config import parse_config
from triage.routing import TicketFacts, choose_channel

DEFAULT = "#support"


def _routes(*routes):
    return parse_config({"routes": list(routes)}, "<test>").routes


def _facts(**fields):
    values = dict(urgency="normal", source="x", text="my booking vanished", brand="acme", language="en",
                  followers=100)  # fmt: skip
    values.update(fields)
    return TicketFacts(**values)


@pytest.mark.parametrize(
    ("match", "hit", "miss"),
    [
        ({"urgency": ["critical", "high"]}, {"urgency": "high"}, {"urgency": "normal"}),
        ({"source": ["facebook", "instagram"]}, {"source": "Instagram"}, {"source": "x"}),
        ({"keywords": ["refund", "charge back"]}, {"text": "I want a REFUND now"}, {"text": "refunds are slow"}),
        ({"keywords": ["charge back"]}, {"text": "will do a charge back!"}, {"text": "charge backs"}),
        ({"brand": ["acme-air"]}, {"brand": "ACME-AIR"}, {"brand": "acme"}),
        ({"brand": ["acme-air"]}, {"brand": "acme-air"}, {"brand": None}),
        ({"language": ["de", "fr"]}, {"language": "fr"}, {"language": None}),
        ({"min_followers": 10000}, {"followers": 10000}, {"followers": 9999}),
        ({"min_followers": 1}, {"followers": 1}, {"followers": None}),
    ],
)
def test_each_rule_key(match, hit, miss):
    routes = _routes({"match": match, "channel": "#routed"})
    assert choose_channel(routes, DEFAULT, _facts(**hit)) == "#routed"
    assert choose_channel(routes, DEFAULT, _facts(**miss)) == DEFAULT


def test_keys_in_one_route_are_all_required():
    routes = _routes({"match": {"source": ["facebook"], "urgency": ["critical"]}, "channel": "#fb-critical"})
    assert choose_channel(routes, DEFAULT, _facts(source="facebook", urgency="critical")) == "#fb-critical"
    assert choose_channel(routes, DEFAULT, _facts(source="facebook", urgency="high")) == DEFAULT
    assert choose_channel(routes, DEFAULT, _facts(source="x", urgency="critical")) == DEFAULT


def test_first_match_wins():
    routes = _routes(
        {"match": {"urgency": ["critical"]}, "channel": "#support-critical"},
        {"match": {"keywords": ["refund"]}, "channel": "#billing"},
    )
    assert choose_channel(routes, DEFAULT, _facts(urgency="critical", text="refund")) == "#support-critical"
    assert choose_channel(routes, DEFAULT, _facts(urgency="low", text="refund")) == "#billing"


def test_empty_match_catches_everything_and_no_routes_means_default():
    assert choose_channel(_routes({"match": {}, "channel": "#all"}), DEFAULT, _facts()) == "#all"
    assert choose_channel((), DEFAULT, _facts()) == DEFAULT
