"""/metrics: Prometheus text that parses, derived from the database and Redis, and moves as work happens."""

from datetime import timedelta

from prometheus_client.parser import text_string_to_metric_families

from core.timeutil import utcnow
from store.db import transaction
from store.schema import Mention, SlackMessage
from tests.conftest import mention, post_generic
from tests.seeding import seed_breach, seed_ticket


class Samples(dict):
    """(name, labels) -> value, and the names of the families exported, samples or not."""

    def __init__(self, *args):
        super().__init__(*args)
        self.families: set[str] = set()

    def exports(self, name: str) -> bool:
        return any(n == name for n, _ in self) or any(name.startswith(family) for family in self.families)


def scrape(client) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    samples = Samples()
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        samples.families.add(family.name)
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name, **labels) -> float:
    """The sample's value; a series of an exported family that has no sample yet reads 0 (Prometheus
    omits a labelled counter until it moves), but a family that is not exported at all fails."""
    assert samples.exports(name), f"{name} is not exported"
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_value_fails_on_a_metric_that_is_not_exported():
    """The reader itself can fail, so the == 0 checks above and below are not vacuous."""
    import pytest

    with pytest.raises(AssertionError, match="not exported"):
        value(Samples({("earshot_redis_up", ()): 1.0}), "earshot_no_such_metric")
    assert value(Samples({("earshot_x_total", (("a", "1"),)): 2.0}), "earshot_x_total", a="2") == 0.0


def test_mentions_received_move_when_mentions_arrive(client):
    before = scrape(client)
    assert value(before, "earshot_mentions_received_total", source="x", direction="inbound") == 0
    assert value(before, "earshot_redis_up") == 1
    assert post_generic(client, {"mentions": [mention("tw-1"), mention("tw-2", source="facebook")]}).status_code == 202
    after = scrape(client)
    assert value(after, "earshot_mentions_received_total", source="x", direction="inbound") == 1
    assert value(after, "earshot_mentions_received_total", source="facebook", direction="inbound") == 1
    assert value(after, "earshot_queue_depth", queue="classify") >= 1
    assert value(after, "earshot_queue_oldest_job_age_seconds", queue="classify") >= 0
    post_generic(client, mention("tw-3"))
    assert value(scrape(client), "earshot_mentions_received_total", source="x", direction="inbound") == 2


def test_tickets_sla_and_latency_histograms(client, settings):
    now = utcnow()
    with transaction(settings.database_url) as session:
        late = seed_ticket(session, now - timedelta(hours=3), urgency="critical")  # due 1 h after: past due
        seed_breach(session, late, now - timedelta(hours=2))
        seed_ticket(session, now - timedelta(minutes=5), urgency="high")
        seed_ticket(session, now - timedelta(hours=5), urgency="high", status="resolved",
                    answered_after=timedelta(minutes=9))
        for index, row in enumerate(session.query(Mention).order_by(Mention.id)):
            row.processed_at = row.received_at + timedelta(seconds=(0.2, 3, 40)[index])
        session.add_all([
            SlackMessage(dedupe_key="a", kind="parent", channel="#support", created_at=now - timedelta(seconds=2),
                         sent_at=now, attempts=1),
            SlackMessage(dedupe_key="b", kind="parent", channel="#support", created_at=now, attempts=3),
            SlackMessage(dedupe_key="c", kind="parent", channel="#support", created_at=now, attempts=2, failed_at=now),
        ])  # fmt: skip
    samples = scrape(client)
    assert value(samples, "earshot_tickets", urgency="critical", status="open") == 1
    assert value(samples, "earshot_tickets", urgency="high", status="open") == 1
    assert value(samples, "earshot_tickets", urgency="high", status="resolved") == 1
    assert value(samples, "earshot_sla_alerts_total", kind="breach", clock="first_response") == 1
    assert value(samples, "earshot_open_tickets_past_deadline", clock="first_response") == 1
    assert 3 * 3600 - 60 < value(samples, "earshot_oldest_unanswered_seconds") < 3 * 3600 + 60
    histogram = "earshot_classification_latency_seconds"
    assert value(samples, f"{histogram}_bucket", le="0.25") == 1
    assert value(samples, f"{histogram}_bucket", le="5.0") == 2
    assert value(samples, f"{histogram}_bucket", le="+Inf") == value(samples, f"{histogram}_count") == 3
    assert abs(value(samples, f"{histogram}_sum") - 43.2) < 0.01
    assert value(samples, "earshot_slack_delivery_latency_seconds_bucket", le="2.5") == 1
    assert value(samples, "earshot_slack_delivery_latency_seconds_bucket", le="1.0") == 0
    assert value(samples, "earshot_slack_delivery_errors_total") == 2 + 2  # b: 2 before its current try; c: both
    assert [value(samples, "earshot_slack_messages", state=s) for s in ("sent", "pending", "failed")] == [1, 1, 1]


def test_redis_down_is_reported_not_a_failure(database_url, app_config):
    from service import create_app
    from tests.conftest import make_settings

    client = create_app(make_settings(database_url, "redis://127.0.0.1:1/0"), app_config).test_client()
    samples = scrape(client)
    assert value(samples, "earshot_redis_up") == 0
    assert ("earshot_queue_depth", (("queue", "classify"),)) not in samples
