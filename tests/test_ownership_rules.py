"""The pure ownership and escalation rules: choosing an owner (triage.assignment), walking the
escalation ladder (triage.escalation) and picking an SLA policy on conditions (triage.sla_rules)."""

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from core.config import parse_config
from core.config_ownership import Assignment, EscalationLevel
from triage.assignment import choose, choose_for, plan, rotation
from triage.escalation import (
    channel_for,
    dedup_key,
    due_levels,
    ladder_for,
    mentions_for,
    next_level_at,
    pages,
)
from triage.sla_rules import DEFAULT, PolicyFacts, choose_policy, policy_named

POOL = ("U0A", "U0B", "U0C", "U0D")
T0 = datetime(2026, 11, 21, 3, 0, tzinfo=UTC)


# --- assignment -------------------------------------------------------------------------------


def test_round_robin_continues_after_the_cursor_and_wraps():
    assert rotation(POOL, "U0B") == ["U0C", "U0D", "U0A", "U0B"]
    assert choose(POOL, "round_robin", {}, last_assigned=None) == "U0A"
    assert choose(POOL, "round_robin", {}, last_assigned="U0B") == "U0C"
    assert choose(POOL, "round_robin", {}, last_assigned="U0D") == "U0A"
    assert choose(POOL, "round_robin", {}, last_assigned="U0GONE") == "U0A"  # left the pool: from the head


def test_round_robin_skips_away_and_full_agents():
    counts = {"U0C": 3}
    assert choose(POOL, "round_robin", counts, away={"U0A"}, last_assigned="U0B", max_open=3) == "U0D"
    assert choose(POOL, "round_robin", counts, away={"U0D", "U0A"}, last_assigned="U0B", max_open=3) == "U0B"
    assert choose(POOL, "round_robin", counts, last_assigned="U0B", max_open=None) == "U0C"  # no cap


def test_least_loaded_takes_the_fewest_and_breaks_ties_after_the_cursor():
    counts = {"U0A": 2, "U0B": 1, "U0C": 1, "U0D": 4}
    assert choose(POOL, "least_loaded", counts) == "U0B"  # tie B/C: pool order from the head
    assert choose(POOL, "least_loaded", counts, last_assigned="U0B") == "U0C"  # tie: next after the cursor
    assert choose(POOL, "least_loaded", counts, away={"U0B", "U0C"}) == "U0A"
    assert choose(POOL, "least_loaded", {}, last_assigned="U0A") == "U0B"


def test_nobody_when_all_are_away_or_full():
    assert choose(POOL, "round_robin", {}, away=set(POOL)) is None
    assert choose(POOL, "least_loaded", dict.fromkeys(POOL, 2), max_open=2) is None
    assert choose(POOL, "round_robin", {"U0A": 2, "U0B": 2}, away={"U0C", "U0D"}, max_open=2) is None


def test_plan_hands_out_waiting_tickets_oldest_first_until_capacity_runs_out():
    assign = Assignment(("U0A", "U0B"), "round_robin", max_open=2)
    given_out, cursor = plan(["t1", "t2", "t3", "t4"], assign, {"U0A": 1, "U0B": 0}, last_assigned="U0A")
    assert given_out == [("t1", "U0B"), ("t2", "U0A"), ("t3", "U0B")]
    assert cursor == "U0B"
    assert plan(["t1"], assign, {"U0A": 2, "U0B": 2}) == ([], None)


@settings(max_examples=30, deadline=None)
@given(size=st.integers(1, 8), away=st.sets(st.integers(0, 7), max_size=3), seed=st.integers(0, 10**6))
def test_round_robin_spreads_1000_tickets_within_one_of_even(size, away, seed):
    pool = tuple(f"U0{n}" for n in range(size))
    away_agents = {pool[n] for n in away if n < size}
    present = [agent for agent in pool if agent not in away_agents]
    counts, cursor = {}, random.Random(seed).choice(pool + (None,))
    for _ in range(1000):
        agent = choose(pool, "round_robin", counts, away_agents, cursor, None)
        if not present:
            assert agent is None
            return
        counts[agent] = counts.get(agent, 0) + 1
        cursor = agent
    assert set(counts) == set(present)
    assert max(counts.values()) - min(counts.values()) <= 1


@settings(max_examples=30, deadline=None)
@given(size=st.integers(1, 6), cap=st.integers(1, 5), seed=st.integers(0, 10**6),
       mode=st.sampled_from(["least_loaded", "round_robin"]))  # fmt: skip
def test_1000_assignments_with_closings_never_exceed_the_cap(size, cap, seed, mode):
    pool, rng = tuple(f"U0{n}" for n in range(size)), random.Random(seed)
    counts, cursor, waited, assigned = dict.fromkeys(pool, 0), None, 0, 0
    while assigned < 1000:
        away = {agent for agent in pool if rng.random() < 0.1}
        agent = choose(pool, mode, counts, away, cursor, cap)
        if agent is None:
            waited += 1
            assert all(counts[a] >= cap or a in away for a in pool)
        else:
            assert agent not in away and counts[agent] < cap
            counts[agent] += 1
            cursor, assigned = agent, assigned + 1
        assert max(counts.values()) <= cap
        for closing in [a for a in pool if counts[a] and rng.random() < 0.3]:
            counts[closing] -= 1


@settings(max_examples=30, deadline=None)
@given(size=st.integers(2, 6), seed=st.integers(0, 10**6))
def test_least_loaded_keeps_loads_within_one_when_nothing_closes(size, seed):
    pool = tuple(f"U0{n}" for n in range(size))
    counts = {agent: random.Random(seed + n).randint(0, 3) for n, agent in enumerate(pool)}
    for _ in range(1000):
        agent = choose_for(Assignment(pool, "least_loaded"), counts)
        counts[agent] += 1
    assert max(counts.values()) - min(counts.values()) <= 1


# --- escalation ---------------------------------------------------------------------------------

LADDER = (
    EscalationLevel(timedelta(0), ("owner", "<!subteam^S0ONCALL>")),
    EscalationLevel(timedelta(minutes=30), ("U0LEAD",), "#support-leads", page=True),
    EscalationLevel(timedelta(hours=1), ("W0HEAD", "owner")),
)


def test_levels_come_due_in_order_each_once():
    assert due_levels(LADDER, T0, T0 - timedelta(seconds=1)) == []
    assert due_levels(LADDER, T0, T0) == [0]
    assert due_levels(LADDER, T0, T0 + timedelta(minutes=31), fired={0}) == [1]
    assert due_levels(LADDER, T0, T0 + timedelta(hours=2)) == [0, 1, 2]  # a sweeper that was down
    assert due_levels(LADDER, T0, T0 + timedelta(hours=2), fired={0, 1, 2}) == []


def test_acknowledging_stops_the_ladder():
    assert due_levels(LADDER, T0, T0 + timedelta(hours=2), fired={0}, acknowledged=True) == []
    assert next_level_at(LADDER, T0, fired={0}, acknowledged=True) is None


def test_next_level_at_is_the_earliest_unfired_level():
    assert next_level_at(LADDER, T0) == T0
    assert next_level_at(LADDER, T0, fired={0}) == T0 + timedelta(minutes=30)
    assert next_level_at(LADDER, T0, fired={0, 1}) == T0 + timedelta(hours=1)
    assert next_level_at(LADDER, T0, fired={0, 1, 2}) is None


def test_mentions_channel_paging_and_key():
    slack = parse_config({}).slack
    assert mentions_for(LADDER[0], "U0OWNER") == ["<@U0OWNER>", "<!subteam^S0ONCALL>"]
    assert mentions_for(LADDER[0], None) == ["<!subteam^S0ONCALL>"]
    assert mentions_for(LADDER[2], "W0HEAD") == ["<@W0HEAD>"]  # named twice, mentioned once
    assert channel_for(LADDER[0], slack) == slack.escalation_channel
    assert channel_for(LADDER[1], slack) == "#support-leads"
    assert pages(LADDER, {0}) is False and pages(LADDER, {0, 1}) is True
    assert dedup_key(42, "first_response") == "earshot-42-first_response"


def test_without_a_ladder_the_breach_pings_the_escalation_mentions_once():
    config = parse_config({"slack": {"escalation_mentions": ["<!subteam^S0ONCALL>"]}})
    ladder = ladder_for(config.sla, config.slack)
    assert ladder == (EscalationLevel(timedelta(0), ("<!subteam^S0ONCALL>",)),)
    assert due_levels(ladder, T0, T0 + timedelta(days=1), fired={0}) == []
    configured = parse_config({"sla": {"escalation": [{"after": "0s"}, {"after": "1h", "page": True}]}})
    assert len(ladder_for(configured.sla, configured.slack)) == 2


# --- policies on conditions ---------------------------------------------------------------------

RULES = parse_config({"sla": {
    "policies": {"high": {"first_response": "2h"}},
    "rules": [
        {"name": "vip", "match": {"min_followers": 100000}, "policies": {"critical": {"first_response": "5m"},
                                                                         "high": {"first_response": "15m"}}},
        {"name": "legal", "match": {"keywords": ["lawyer", "chargeback"], "source": ["x"]},
         "policies": {"normal": {"first_response": "30m"}}},
        {"name": "known", "match": {"authors": ["x:12345"], "brand": ["acme"], "urgency": ["low"]},
         "policies": {"low": {"first_response": "1h"}}},
    ]}}).sla  # fmt: skip


def facts(**fields) -> PolicyFacts:
    return PolicyFacts(**{"urgency": "high", "source": "x", "text": "my booking vanished", **fields})


def test_a_vip_rule_picks_its_policy():
    name, targets = choose_policy(RULES, facts(followers=250_000))
    assert (name, targets.first_response) == ("vip", timedelta(minutes=15))
    name, targets = choose_policy(RULES, facts(followers=250_000, urgency="critical"))
    assert (name, targets.first_response) == ("vip", timedelta(minutes=5))
    name, targets = choose_policy(RULES, facts(followers=250_000, urgency="normal"))  # a tier vip leaves out
    assert (name, targets) == ("vip", RULES.policies["normal"])


def test_first_match_wins_and_no_match_is_the_default():
    name, _ = choose_policy(RULES, facts(followers=250_000, text="my LAWYER will call", urgency="normal"))
    assert name == "vip"
    name, targets = choose_policy(RULES, facts(text="my LAWYER will call", urgency="normal"))
    assert (name, targets.first_response) == ("legal", timedelta(minutes=30))
    assert choose_policy(RULES, facts(text="lawyers", urgency="normal"))[0] == DEFAULT  # whole words only
    assert choose_policy(RULES, facts(text="lawyer", source="facebook", urgency="normal"))[0] == DEFAULT
    name, targets = choose_policy(RULES, facts(followers=99_999))
    assert (name, targets.first_response) == (DEFAULT, timedelta(hours=2))


def test_author_brand_and_urgency_all_must_match():
    assert choose_policy(RULES, facts(urgency="low", author="X:12345", brand="ACME"))[0] == "known"
    assert choose_policy(RULES, facts(urgency="low", author="x:12345", brand="other"))[0] == DEFAULT
    assert choose_policy(RULES, facts(urgency="high", author="x:12345", brand="acme"))[0] == DEFAULT
    assert choose_policy(RULES, facts(urgency="low", author="facebook:12345", brand="acme"))[0] == DEFAULT


def test_a_stored_name_finds_its_targets_again():
    assert policy_named(RULES, "vip", "critical").first_response == timedelta(minutes=5)
    assert policy_named(RULES, "gone", "critical") == RULES.policies["critical"]
    assert policy_named(RULES, None, "low") == RULES.policies["low"]
