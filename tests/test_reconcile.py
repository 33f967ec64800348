"""Redis can be stopped, restarted empty or flushed: a mention that got a 2xx
is still classified, because reconciliation re-queues what the database holds."""

import shutil
from datetime import timedelta

import pytest
import time_machine
from redis import Redis
from sqlalchemy import func, select

from core.timeutil import utcnow
from service import create_app
from store.db import session_for
from store.schema import Mention
from tests.conftest import make_settings, mention, post_generic, run_jobs
from tools.private_services import PrivateRedis
from workers import context, queues
from workers.maintenance import reconcile_mentions

REDIS_SERVER = shutil.which("redis-server")


@pytest.fixture
def private_redis():
    assert REDIS_SERVER, "redis-server is not installed (the machines CI runs on have it)"
    server = PrivateRedis()
    server.start()
    yield server
    server.stop()


def _unprocessed(url: str) -> int:
    with session_for(url) as session:
        return session.scalar(select(func.count()).select_from(Mention).where(Mention.processed_at.is_(None)))


def test_mentions_survive_redis_restart_and_flush(database_url, private_redis, worker_env, monkeypatch):
    monkeypatch.setenv("REDIS_URL", private_redis.url)
    context.reset()
    settings = make_settings(database_url, private_redis.url)
    client = create_app(settings).test_client()

    assert post_generic(client, mention("m-1", "@acme my refund never arrived")).status_code == 202
    Redis.from_url(private_redis.url).flushall()  # the queued job is gone

    private_redis.stop()
    assert post_generic(client, mention("m-2", "@acme app down again, cannot log in")).status_code == 202

    private_redis.start()  # back, and empty
    assert _unprocessed(database_url) == 2
    with time_machine.travel(utcnow() + timedelta(minutes=1)):
        assert reconcile_mentions() == 2
    run_jobs(private_redis.url, queues.CLASSIFY)
    assert _unprocessed(database_url) == 0
