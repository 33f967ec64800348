"""The ownership and escalation keys of the YAML configuration: routes' `assign`, `sla.escalation`
and `sla.rules` (core.config_ownership), and the paging settings from the environment."""

from datetime import timedelta

import pytest

from core.config import load_config, parse_config
from core.config_ownership import Assignment, EscalationLevel, default_ladder
from core.settings import ConfigError
from integrations.paging.config import (
    DEFAULT_PAGERDUTY_EVENTS_URL,
    STANDIN_ROUTING_KEY,
    PagingConfig,
    from_environ,
    standin_port,
)

FULL = """
slack:
  escalation_mentions: ["<!subteam^S0ONCALL>"]
routes:
  - match: {urgency: [critical]}
    channel: "#support-critical"
    assign: {pool: [U0ALICE, U0BOB, W0CAROL], mode: least_loaded, max_open: 5}
  - match: {source: [facebook]}
    channel: "#support-social"
    assign: {pool: [U0DAVE]}
  - match: {keywords: [refund]}
    channel: "#billing"
sla:
  policies:
    critical: {first_response: 15m}
  escalation:
    - {after: 0s, mention: [owner, "<!subteam^S0ONCALL>"]}
    - {after: 30m, mention: ["<!subteam^S0LEADS>"], channel: "#support-leads", page: true}
    - {after: 30m, mention: [U0HEAD]}
  rules:
    - name: vip
      match: {min_followers: 100000, source: [X, instagram], authors: ["X:12345"], keywords: [Lawyer]}
      policies:
        critical: {first_response: 5m}
        high: {first_response: 15m, resolution: 4h, business_hours: false}
    - name: press
      match: {brand: [acme]}
      policies: {normal: {first_response: 1h}}
"""


def write(tmp_path, text: str) -> str:
    path = tmp_path / "earshot.yaml"
    path.write_text(text)
    return str(path)


def test_a_full_file_reads_assignment_ladder_and_rules(tmp_path):
    config = load_config(write(tmp_path, FULL))

    assert config.routes[0].assign == Assignment(("U0ALICE", "U0BOB", "W0CAROL"), "least_loaded", 5)
    assert config.routes[1].assign == Assignment(("U0DAVE",), "round_robin", None)
    assert config.routes[2].assign is None
    assert config.sla.escalation == (
        EscalationLevel(timedelta(0), ("owner", "<!subteam^S0ONCALL>"), None, False),
        EscalationLevel(timedelta(minutes=30), ("<!subteam^S0LEADS>",), "#support-leads", True),
        EscalationLevel(timedelta(minutes=30), ("U0HEAD",), None, False),
    )
    vip, press = config.sla.rules
    assert (vip.name, vip.source, vip.authors, vip.keywords, vip.min_followers) == (
        "vip", ("x", "instagram"), ("x:12345",), ("lawyer",), 100000)  # fmt: skip
    assert vip.policies["critical"].first_response == timedelta(minutes=5)
    # the keys a rule leaves out come from sla.policies, as do the tiers it does not name
    assert vip.policies["critical"].resolution == config.sla.policies["critical"].resolution
    assert vip.policies["critical"].business_hours is False
    assert vip.policies["high"].business_hours is False
    assert vip.policies["high"].resolution == timedelta(hours=4)
    assert vip.policies["normal"] == config.sla.policies["normal"]
    assert press.policies["normal"].first_response == timedelta(hours=1)
    assert press.policies["critical"] == config.sla.policies["critical"]


def test_absent_keys_keep_todays_behaviour():
    config = parse_config({"slack": {"escalation_mentions": ["<!here>"]}, "routes": [{"channel": "#a"}]})

    assert config.routes[0].assign is None
    assert config.sla.escalation == ()
    assert config.sla.rules == ()
    assert default_ladder(config.slack.escalation_mentions) == (EscalationLevel(timedelta(0), ("<!here>",)),)


def test_after_accepts_a_zero_in_any_unit():
    for zero in (0, "0", "0s", "0m"):
        config = parse_config({"sla": {"escalation": [{"after": zero}]}})
        assert config.sla.escalation[0].after == timedelta(0)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("routes: [{channel: '#a', assign: [U0A]}]\n", ["routes[0].assign", "mapping"]),
        ("routes: [{channel: '#a', assign: {pool: []}}]\n", ["routes[0].assign.pool", "non-empty"]),
        ("routes: [{channel: '#a', assign: {}}]\n", ["routes[0].assign.pool", "non-empty"]),
        ("routes: [{channel: '#a', assign: {pool: [alice]}}]\n", ["routes[0].assign.pool", "'alice'", "Slack user"]),
        ("routes: [{channel: '#a', assign: {pool: [U0A, 7]}}]\n", ["routes[0].assign.pool", "7"]),
        ("routes: [{channel: '#a', assign: {pool: [U0A, U0A]}}]\n", ["routes[0].assign.pool", "twice"]),
        ("routes: [{channel: '#a', assign: {pool: [U0A], mode: random}}]\n", ["routes[0].assign.mode", "random"]),
        ("routes: [{channel: '#a', assign: {pool: [U0A], max_open: 0}}]\n", ["routes[0].assign.max_open"]),
        ("routes: [{channel: '#a', assign: {pool: [U0A], max_open: 2.5}}]\n", ["routes[0].assign.max_open"]),
        ("routes: [{channel: '#a', assign: {pool: [U0A], max_open: true}}]\n", ["routes[0].assign.max_open"]),
        ("routes: [{channel: '#a', assign: {pool: [U0A], cap: 3}}]\n", ["routes[0].assign", "cap"]),
        ("routes: [{channel: '#a', owner: U0A}]\n", ["routes[0]", "owner", "allowed: match, channel, assign"]),
        ("sla: {escalation: {after: 0s}}\n", ["sla.escalation", "list"]),
        ("sla: {escalation: []}\n", ["sla.escalation", "non-empty"]),
        ("sla: {escalation: [{mention: [x]}]}\n", ["sla.escalation[0].after", "required"]),
        ("sla: {escalation: [{after: soon}]}\n", ["sla.escalation[0].after", "soon"]),
        ("sla: {escalation: [{after: -5m}]}\n", ["sla.escalation[0].after"]),
        ("sla: {escalation: [{after: 31d}]}\n", ["sla.escalation[0].after", "30d"]),
        ("sla: {escalation: [{after: 1h}, {after: 30m}]}\n", ["sla.escalation[1].after", "earlier"]),
        ("sla: {escalation: [{after: 0s, page: maybe}]}\n", ["sla.escalation[0].page", "true or false"]),
        ("sla: {escalation: [{after: 0s, channel: leads}]}\n", ["sla.escalation[0].channel", "leads"]),
        ("sla: {escalation: [{after: 0s, mention: [1]}]}\n", ["sla.escalation[0].mention"]),
        ("sla: {escalation: [{after: 0s, pager: true}]}\n", ["sla.escalation[0]", "pager"]),
        ("sla: {escalation: [" + ", ".join(["{after: 1m}"] * 7) + "]}\n", ["sla.escalation", "at most 6"]),
        ("sla: {rules: {name: vip}}\n", ["sla.rules", "list"]),
        ("sla: {rules: [{match: {}, policies: {high: {first_response: 1h}}}]}\n", ["sla.rules[0].name"]),
        ("sla: {rules: [{name: default, policies: {high: {first_response: 1h}}}]}\n", ["sla.rules[0].name"]),
        ("sla: {rules: [{name: 'V I P', policies: {high: {first_response: 1h}}}]}\n", ["sla.rules[0].name"]),
        ("sla: {rules: [{name: a, policies: {low: {resolution: 1d}}}, {name: a, policies: {low: {resolution: 2d}}}]}\n",
         ["sla.rules[1].name", "earlier rule"]),
        ("sla: {rules: [{name: vip}]}\n", ["sla.rules[0].policies", "at least one tier"]),
        ("sla: {rules: [{name: vip, policies: {urgent: {first_response: 1h}}}]}\n",
         ["sla.rules[0].policies", "urgent"]),
        ("sla: {rules: [{name: vip, policies: {high: {first_response: soon}}}]}\n",
         ["sla.rules[0].policies.high.first_response", "soon"]),
        ("sla: {rules: [{name: vip, policies: {high: {first_responce: 1h}}}]}\n",
         ["sla.rules[0].policies.high", "first_responce"]),
        ("sla: {rules: [{name: vip, policies: {high: {business_hours: sometimes}}}]}\n",
         ["sla.rules[0].policies.high.business_hours", "true or false"]),
        ("sla: {rules: [{name: vip, policies: {high: 1h}}]}\n", ["sla.rules[0].policies.high", "mapping"]),
        ("sla: {rules: [{name: vip, match: {colour: [red]}, policies: {high: {first_response: 1h}}}]}\n",
         ["sla.rules[0].match", "colour"]),
        ("sla: {rules: [{name: vip, match: {urgency: [hi]}, policies: {high: {first_response: 1h}}}]}\n",
         ["sla.rules[0].match.urgency", "hi"]),
        ("sla: {rules: [{name: vip, match: {authors: ['12345']}, policies: {high: {first_response: 1h}}}]}\n",
         ["sla.rules[0].match.authors", "12345", "<source>:<author id>"]),
        ("sla: {rules: [{name: vip, match: {min_followers: -1}, policies: {high: {first_response: 1h}}}]}\n",
         ["sla.rules[0].match.min_followers"]),
        ("sla: {rules: [{name: vip, match: {keywords: refund}, policies: {high: {first_response: 1h}}, x: 1}]}\n",
         ["sla.rules[0]", "allowed: name, match, policies"]),
        ("sla: {escalations: []}\n", ["sla", "escalations"]),
    ],
)
def test_a_bad_key_names_the_path_and_reason(tmp_path, text, expected):
    with pytest.raises(ConfigError) as error:
        load_config(write(tmp_path, text))

    message = str(error.value)
    assert message.startswith(f"{tmp_path / 'earshot.yaml'}: ")
    for part in expected:
        assert part in message
    assert "Traceback" not in message


def test_existing_messages_are_unchanged(tmp_path):
    with pytest.raises(ConfigError, match=r"sla.policies.high.first_response: not a duration: 'soon'"):
        load_config(write(tmp_path, "sla: {policies: {high: {first_response: soon}}}\n"))
    with pytest.raises(ConfigError, match=r"sla.policies.low.business_hours: must be true or false"):
        load_config(write(tmp_path, "sla: {policies: {low: {business_hours: sometimes}}}\n"))


ROUTING_KEY = "0123456789abcdef0123456789abcdef"


def test_paging_is_off_when_nothing_is_configured():
    config = from_environ({"PAGERDUTY_STANDIN_PORT": "9104", "PAGERDUTY_EVENTS_URL": "http://127.0.0.1:9104/v2/enqueue"})

    assert config.enabled is False
    assert config.pagerduty_routing_key is None and config.pagerduty_standin is False
    assert config.oncall_webhook_url is None
    assert config.secrets() == ()
    assert standin_port({}) == 8004 and standin_port({"PAGERDUTY_STANDIN_PORT": "9104"}) == 9104


def test_the_development_key_pages_the_standin_and_is_no_secret():
    config = from_environ({"PAGERDUTY_ROUTING_KEY": STANDIN_ROUTING_KEY,
                           "PAGERDUTY_EVENTS_URL": "http://127.0.0.1:8004/v2/enqueue"})  # fmt: skip

    assert config.enabled is True and config.pagerduty_standin is True
    assert config.pagerduty_events_url == "http://127.0.0.1:8004/v2/enqueue"
    assert config.secrets() == ()


def test_paging_with_pagerduty_and_a_webhook():
    config = from_environ({"PAGERDUTY_ROUTING_KEY": ROUTING_KEY, "ONCALL_WEBHOOK_URL": "https://oncall.example/hook",
                           "ONCALL_WEBHOOK_SECRET": "hook-SECRET-123"})  # fmt: skip

    assert config.pagerduty_events_url == DEFAULT_PAGERDUTY_EVENTS_URL
    assert config.pagerduty_standin is False and config.enabled is True
    assert set(config.secrets()) == {ROUTING_KEY, "hook-SECRET-123"}
    assert ROUTING_KEY not in repr(config) and "hook-SECRET-123" not in repr(config)


def test_a_webhook_alone_turns_the_standin_off_and_takes_the_webhook_secret():
    config = from_environ({"ONCALL_WEBHOOK_URL": "http://127.0.0.1:9/hook", "WEBHOOK_SECRET": "generic-SECRET"})

    assert config.pagerduty_routing_key is None and config.pagerduty_standin is False and config.enabled is True
    assert config.oncall_webhook_secret == "generic-SECRET"


@pytest.mark.parametrize(
    "env, named",
    [
        ({"PAGERDUTY_ROUTING_KEY": "short-s3cr3t"}, "PAGERDUTY_ROUTING_KEY"),
        ({"PAGERDUTY_ROUTING_KEY": ROUTING_KEY, "PAGERDUTY_EVENTS_URL": "ftp://x/?token=s3cr3t"},
         "PAGERDUTY_EVENTS_URL"),
        ({"ONCALL_WEBHOOK_URL": "https://oncall.example/hook"}, "ONCALL_WEBHOOK_SECRET"),
        ({"ONCALL_WEBHOOK_URL": "oncall.example/?token=s3cr3t", "ONCALL_WEBHOOK_SECRET": "s"}, "ONCALL_WEBHOOK_URL"),
        ({"PAGERDUTY_STANDIN_PORT": "99999"}, "PAGERDUTY_STANDIN_PORT"),
    ],
)
def test_a_paging_mistake_names_the_variable_never_the_secret(env, named):
    with pytest.raises(ConfigError) as error:
        from_environ(env)
        standin_port(env)

    assert named in str(error.value)
    assert "s3cr3t" not in str(error.value)


def test_paging_config_is_a_plain_dataclass():
    assert PagingConfig().secrets() == ()
    assert PagingConfig().enabled is False
