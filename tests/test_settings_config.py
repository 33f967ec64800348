"""Settings from the environment and the YAML file: a mistake is one clear
ConfigError naming the variable, or the file, the key path and the reason."""

from datetime import date, time, timedelta

import pytest
import yaml

from core.config import load_config, parse_config
from core.settings import DEV_WEBHOOK_SECRET, ConfigError, load_settings
from core.tiers import TIERS

CONTRACT_EXAMPLE = """
slack:
  default_channel: "#support"
  escalation_channel: "#support-escalations"
  escalation_mentions: ["<!subteam^S0ONCALL>"]   # pinged at breach
routes:                      # first match wins; all keys optional, AND-ed
  - match: {urgency: [critical]}
    channel: "#support-critical"
  - match: {source: [facebook, instagram]}
    channel: "#support-social"
  - match: {keywords: [refund, chargeback]}
    channel: "#billing"
sla:
  timezone: "America/New_York"
  business_hours: {mon: ["09:00-18:00"], tue: ["09:00-18:00"]}   # omitted: 24/7
  holidays: ["2026-12-25"]
  warn_at: 0.75              # share of the target elapsed before a warning
  remind_every: 15m          # repeated reminders after a breach until answered
  policies:                  # per urgency
    critical: {first_response: 15m, next_response: 30m, resolution: 8h, business_hours: false}
    high:     {first_response: 1h,  next_response: 2h,  resolution: 24h}
    normal:   {first_response: 4h,  next_response: 8h,  resolution: 3d}
    low:      {first_response: 24h, next_response: 2d,  resolution: 7d}
"""


def test_defaults_need_no_environment():
    settings = load_settings({})

    assert (settings.port, settings.slack_standin_port) == (8000, 8001)
    assert settings.database_url == "sqlite:///instance/earshot.db"
    assert settings.redis_url is None and settings.uses_slack_standin
    assert settings.webhook_secret == DEV_WEBHOOK_SECRET
    assert settings.api_tokens == () and not settings.production


def test_a_full_environment_is_read(tmp_path):
    config = tmp_path / "earshot.yaml"
    config.write_text("slack: {default_channel: '#help'}\n")
    env = {
        "PORT": "9000", "SLACK_STANDIN_PORT": "9001", "DATABASE_URL": "postgresql+psycopg://u@db:5432/earshot",
        "REDIS_URL": "redis://cache:6379/2", "SLACK_BOT_TOKEN": "xoxb-1-2-3", "SLACK_SIGNING_SECRET": "sign-secret-1",
        "WEBHOOK_SECRET": "hook-secret-1234", "X_CONSUMER_SECRET": "x-consumer", "X_OAUTH2_CLIENT_SECRET": "x-oauth2",
        "META_APP_SECRET": "meta-secret", "META_VERIFY_TOKEN": "meta-token", "EARSHOT_CONFIG": str(config),
        "EARSHOT_API_TOKENS": " token-aaaaaaaaaaaaaaaa , token-bbbbbbbbbbbbbbbb ", "EARSHOT_PRODUCTION": "yes",
    }

    settings = load_settings(env)

    assert (settings.port, settings.slack_standin_port) == (9000, 9001)
    assert settings.redis_url == "redis://cache:6379/2" and not settings.uses_slack_standin
    assert settings.api_tokens == ("token-aaaaaaaaaaaaaaaa", "token-bbbbbbbbbbbbbbbb")
    assert settings.production and settings.secure_cookies
    assert load_config(settings.config_path).slack.default_channel == "#help"
    assert "hook-secret-1234" in settings.secrets()


@pytest.mark.parametrize(
    "env, names",
    [
        ({"PORT": "eighty"}, ["PORT", "eighty"]),
        ({"PORT": "70000"}, ["PORT", "65535"]),
        ({"PORT": "0"}, ["PORT"]),
        ({"SLACK_STANDIN_PORT": "-1"}, ["SLACK_STANDIN_PORT"]),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, ["SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN"]),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "   "}, ["SLACK_SIGNING_SECRET"]),
        ({"EARSHOT_PRODUCTION": "true"}, ["WEBHOOK_SECRET", "production"]),
        ({"EARSHOT_PRODUCTION": "true", "WEBHOOK_SECRET": DEV_WEBHOOK_SECRET}, ["WEBHOOK_SECRET"]),
        ({"EARSHOT_PRODUCTION": "maybe"}, ["EARSHOT_PRODUCTION", "maybe"]),
        ({"DATABASE_URL": "mysql://root@db/earshot"}, ["DATABASE_URL", "mysql"]),
        ({"DATABASE_URL": "/var/lib/earshot.db"}, ["DATABASE_URL"]),
        ({"REDIS_URL": "http://127.0.0.1:6379"}, ["REDIS_URL", "http"]),
        ({"SLACK_API_URL": "ftp://slack.example"}, ["SLACK_API_URL"]),
        ({"EARSHOT_API_TOKENS": "short"}, ["EARSHOT_API_TOKENS", "16"]),
        ({"EARSHOT_API_TOKENS": "long-enough-token-123456,short"}, ["EARSHOT_API_TOKENS"]),
        ({"EARSHOT_CONFIG": "/nonexistent/earshot.yaml"}, ["EARSHOT_CONFIG", "/nonexistent/earshot.yaml"]),
        ({"META_APP_SECRET": "meta-secret"}, ["META_VERIFY_TOKEN", "META_APP_SECRET"]),
        ({"META_VERIFY_TOKEN": "meta-token"}, ["META_APP_SECRET", "META_VERIFY_TOKEN"]),
    ],
)
def test_a_bad_environment_names_the_variable(env, names):
    with pytest.raises(ConfigError) as error:
        load_settings(env)

    message = str(error.value)
    assert "\n" not in message
    for name in names:
        assert name in message


def test_secret_values_are_not_in_the_message():
    with pytest.raises(ConfigError) as error:
        load_settings({"EARSHOT_API_TOKENS": "tiny-secret"})

    assert "tiny-secret" not in str(error.value)


def write(tmp_path, text: str) -> str:
    path = tmp_path / "earshot.yaml"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return str(path)


def test_the_contract_example_loads(tmp_path):
    config = load_config(write(tmp_path, CONTRACT_EXAMPLE))

    assert config.slack.escalation_mentions == ("<!subteam^S0ONCALL>",)
    assert [route.channel for route in config.routes] == ["#support-critical", "#support-social", "#billing"]
    assert config.routes[1].source == ("facebook", "instagram")
    assert config.sla.timezone == "America/New_York"
    assert config.sla.business_hours == {0: ((time(9), time(18)),), 1: ((time(9), time(18)),)}
    assert config.sla.holidays == frozenset({date(2026, 12, 25)})
    assert config.sla.remind_every == timedelta(minutes=15)
    assert config.sla.policies["critical"].first_response == timedelta(minutes=15)
    assert config.sla.policies["critical"].business_hours is False
    assert config.sla.policies["low"].resolution == timedelta(days=7)


def test_no_file_and_an_empty_file_give_the_defaults(tmp_path):
    built_in = load_config(None)
    empty = load_config(write(tmp_path, "# nothing configured yet\n"))

    for config in (built_in, empty):
        assert config.slack.default_channel == "#support" and config.routes == ()
        assert set(config.sla.policies) == set(TIERS)
        assert config.sla.policies["high"].first_response == timedelta(hours=1)


def test_the_digest_and_urgency_sections_are_read(tmp_path):
    config = load_config(write(tmp_path, "digest: {enabled: false, longest_waiting: 10}\n"
                                         "urgency: {reach_followers: 500, keywords: {vip: [platinum]}}\n"))

    assert (config.digest.enabled, config.digest.longest_waiting) == (False, 10)
    assert config.urgency.reach_followers == 500 and config.urgency.keywords == (("vip", ("platinum",)),)
    defaults = load_config(None)
    assert (defaults.digest.enabled, defaults.digest.longest_waiting) == (True, 5)
    assert defaults.urgency.reach_followers == 10000 and defaults.urgency.keywords == ()


@pytest.mark.parametrize("runtime", ["auto", "torch", "onnx"])
def test_every_model_runtime_is_read(tmp_path, runtime):
    assert load_config(write(tmp_path, f"model: {{runtime: {runtime}}}\n")).model.runtime == runtime


def test_unquoted_yaml_dates_are_holidays(tmp_path):
    config = load_config(write(tmp_path, "sla: {holidays: [2026-12-25, 2027-01-01]}\n"))

    assert config.sla.holidays == frozenset({date(2026, 12, 25), date(2027, 1, 1)})


@pytest.mark.parametrize(
    "text, expected",
    [
        ("slack: [unclosed\n", ["not valid YAML", "line"]),
        ("routes:\n  - match: {urgency: [critical]}\n   channel: '#x'\n", ["not valid YAML"]),
        (b"slack: {default_channel: '#caf\xe9'}\n", ["UTF-8"]),
        ("- just\n- a list\n", ["(top level)", "mapping"]),
        ("slak: {}\n", ["(top level)", "slak"]),
        ("slack: {default_chanel: '#support'}\n", ["slack", "default_chanel"]),
        ("sla: {policies: {high: {first_responce: 1h}}}\n", ["sla.policies.high", "first_responce"]),
        ("sla: {policies: {urgent: {first_response: 1h}}}\n", ["sla.policies", "urgent"]),
        ("sla: {policies: {high: {first_response: soon}}}\n", ["sla.policies.high.first_response", "soon"]),
        ("sla: {policies: {low: {resolution: 0d}}}\n", ["sla.policies.low.resolution"]),
        ("sla: {policies: {low: {business_hours: sometimes}}}\n", ["sla.policies.low.business_hours"]),
        ("sla: {remind_every: 15 minutes}\n", ["sla.remind_every"]),
        ("routes: [{match: {urgency: [urgent]}, channel: '#x'}]\n", ["routes[0].match.urgency", "urgent"]),
        ("routes: [{match: {urgency: [critical]}, channel: '#a'}, {match: {urgency: high}, channel: '#b'},"
         " {match: {urgency: [hi]}, channel: '#c'}]\n", ["routes[2].match.urgency", "hi"]),
        ("routes: [{match: {colour: [red]}, channel: '#x'}]\n", ["routes[0].match", "colour"]),
        ("routes: [{match: {min_followers: -5}, channel: '#x'}]\n", ["routes[0].match.min_followers"]),
        ("routes: [{match: {min_followers: yes}, channel: '#x'}]\n", ["routes[0].match.min_followers"]),
        ("routes: {match: {}, channel: '#x'}\n", ["routes", "list"]),
        ("routes: [{match: {source: [x]}}]\n", ["routes[0].channel"]),
        ("sla: {timezone: Mars/Olympus_Mons}\n", ["sla.timezone", "Mars/Olympus_Mons"]),
        ("sla: {timezone: ../../etc/passwd}\n", ["sla.timezone"]),
        ("sla: {business_hours: {mon: ['9-17']}}\n", ["sla.business_hours.mon", "9-17"]),
        ("sla: {business_hours: {tue: ['18:00-09:00']}}\n", ["sla.business_hours.tue", "18:00-09:00"]),
        ("sla: {business_hours: {wed: ['09:00-25:00']}}\n", ["sla.business_hours.wed"]),
        ("sla: {business_hours: {thu: ['09:00-13:00', '12:00-18:00']}}\n", ["sla.business_hours.thu", "overlap"]),
        ("sla: {business_hours: {monday: ['09:00-18:00']}}\n", ["sla.business_hours", "monday"]),
        ("sla: {warn_at: 1.5}\n", ["sla.warn_at", "1.5"]),
        ("sla: {warn_at: 0}\n", ["sla.warn_at"]),
        ("sla: {warn_at: 75%}\n", ["sla.warn_at"]),
        ("sla: {warn_at: true}\n", ["sla.warn_at"]),
        ("sla: {holidays: [2026-13-45]}\n", ["sla.holidays", "2026-13-45"]),
        ("sla: {holidays: 2026}\n", ["sla.holidays", "list"]),
        ("sla: {holidays: {christmas: 2026-12-25}}\n", ["sla.holidays", "list"]),
        ("slack: {default_channel: support}\n", ["slack.default_channel", "support"]),
        ("slack: {escalation_channel: '#Support Escalations'}\n", ["slack.escalation_channel"]),
        ("slack: {escalation_mentions: '<!here>', managers_channel: 'managers'}\n", ["slack.managers_channel"]),
        ("routes: [{match: {}, channel: '#billing team'}]\n", ["routes[0].channel", "#billing team"]),
        ("model: {threads: 0}\n", ["model.threads"]),
        ("model: {claim: 0}\n", ["model.claim", "integer from 1"]),
        ("model: {runtime: gpu}\n", ["model.runtime", "auto, torch, onnx"]),
        ("model: {runtime: ONNX}\n", ["model.runtime", "auto, torch, onnx"]),
        ("digest: [daily]\n", ["digest", "mapping"]),
        ("digest: {channel: '#managers'}\n", ["digest", "channel", "allowed: enabled, longest_waiting"]),
        ("digest: {enabled: sometimes}\n", ["digest.enabled", "true or false"]),
        ("digest: {longest_waiting: 0}\n", ["digest.longest_waiting", "from 1 to 50", "0"]),
        ("digest: {longest_waiting: 5.5}\n", ["digest.longest_waiting", "integer"]),
        ("urgency: {reach_followers: -1}\n", ["urgency.reach_followers", "whole number"]),
        ("urgency: {disabled_signals: [fire]}\n", ["urgency.disabled_signals", "safety risk"]),
    ],
)
def test_a_bad_file_names_the_path_key_and_reason(tmp_path, text, expected):
    path = write(tmp_path, text)

    with pytest.raises(ConfigError) as error:
        load_config(path)

    message = str(error.value)
    assert message.startswith(path + ": ")
    assert "\n" not in message
    for part in expected:
        assert part in message


def test_an_unreadable_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(str(tmp_path))


def test_parse_config_names_its_source():
    with pytest.raises(ConfigError, match=r"^<test>: sla.warn_at: "):
        parse_config(yaml.safe_load("sla: {warn_at: 2}"), "<test>")
