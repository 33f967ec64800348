"""The daily digest: queued once a day for the managers' channel and delivered through the Slack stand-in."""

import os
from datetime import timedelta

import pytest
import yaml

from core.timeutil import utcnow
from store.db import transaction
from store.schema import SlackMessage
from tests.seeding import seed_breach, seed_ticket
from tests.slack_support import jobs, standin, standin_messages  # noqa: F401  (fixtures)
from workers import context, deliver
from workers.digest import send_digest


@pytest.fixture
def config_data():
    return {"slack": {"default_channel": "#support", "managers_channel": "#support-managers"}}


def test_digest_reaches_the_managers_channel_once_a_day(settings, jobs, standin):  # noqa: F811
    now = utcnow()
    with transaction(settings.database_url) as session:
        waiting = seed_ticket(session, now - timedelta(hours=3), urgency="critical", author="@angry")
        seed_breach(session, waiting, now - timedelta(hours=2))
        for minutes in (4, 10):
            seed_ticket(session, now - timedelta(hours=5), answered_after=timedelta(minutes=minutes))
        waiting_id = waiting.id
    assert send_digest() is True
    assert send_digest() is True  # the same day: still one message
    with transaction(settings.database_url) as session:
        [row] = session.query(SlackMessage).filter_by(kind="channel").all()
        assert row.channel == "#support-managers" and row.ticket_id is None
    deliver.drain(["#support-managers"], timeout=20)
    [message] = standin_messages(standin, "#support-managers")
    text = message["blocks"][0]["text"]["text"]  # the fallback `text` is shortened for notifications
    assert "SLA breaches:* 1 (first response 1)" in text
    assert "p50 4m · p90 10m · 2 answered of 3 new tickets" in text
    assert f"#{waiting_id} critical · x · @angry · waiting 3h" in text


def test_digest_is_skipped_without_a_managers_channel(settings, jobs, config_data):  # noqa: F811
    config_data["slack"].pop("managers_channel")
    with open(os.environ["EARSHOT_CONFIG"], "w") as handle:  # `jobs` wrote it before this change
        yaml.safe_dump(config_data, handle)
    context.reset()
    assert send_digest() is False
    with transaction(settings.database_url) as session:
        assert session.query(SlackMessage).count() == 0


def test_digest_is_skipped_when_switched_off(settings, jobs, config_data):  # noqa: F811
    config_data["digest"] = {"enabled": False}
    with open(os.environ["EARSHOT_CONFIG"], "w") as handle:  # `jobs` wrote it before this change
        yaml.safe_dump(config_data, handle)
    context.reset()
    assert send_digest() is False
    with transaction(settings.database_url) as session:
        assert session.query(SlackMessage).count() == 0
