"""/healthz names what fails: the database, Redis, or a classification backlog."""

from datetime import timedelta

from core.timeutil import utcnow
from service import create_app
from store.db import transaction
from store.schema import Mention
from tests.conftest import make_settings


def _waiting_mention(database_url: str, minutes: int) -> None:
    received = utcnow() - timedelta(minutes=minutes)
    with transaction(database_url) as session:
        session.add(Mention(source="x", external_id=f"w{minutes}", author_id="a", text="hello?",
                            created_at=received, received_at=received))  # fmt: skip


def test_healthy(client):
    answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.json["status"] == "ok" and answer.json["db"] == "ok" and answer.json["redis"] == "ok"
    assert answer.json["classification"] == "ok"


def test_a_stalled_model_worker_is_named(client, settings):
    _waiting_mention(settings.database_url, 1)
    assert client.get("/healthz").status_code == 200
    _waiting_mention(settings.database_url, 10)
    answer = client.get("/healthz")
    assert answer.status_code == 503
    assert answer.json["classification"] == "stalled" and answer.json["oldest_unprocessed_seconds"] >= 600
    assert client.get("/healthz?scope=web").status_code == 200, "the web process itself is fine"


def test_redis_down_is_named(database_url, app_config):
    app = create_app(make_settings(database_url, "redis://127.0.0.1:1/0"), app_config)
    answer = app.test_client().get("/healthz")
    assert answer.status_code == 503
    assert answer.json["redis"] == "unavailable" and answer.json["db"] == "ok"
