"""Fixtures: a real PostgreSQL database and a real Redis database per test session,
SQLite files per test, and the app wired to them.

Several test sessions may run at once on one machine, so each takes its own
PostgreSQL database and its own Redis database number.
"""

import json
import os
import shutil
import time
import uuid

import pytest
from redis import Redis
from sqlalchemy import create_engine, text

from core.config import parse_config
from core.settings import Settings
from integrations.platforms import generic
from store import migrate
from store.db import dispose_all, get_engine
from store.schema import Base
from tickets import incidents
from workers import after_commit

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

PG_ADMIN_URL = os.environ.get("EARSHOT_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_HOST_URL = os.environ.get("EARSHOT_TEST_REDIS", "redis://127.0.0.1:6379")
WEBHOOK_SECRET = "test-webhook-secret-0123456789"
SLACK_SIGNING_SECRET = "test-slack-signing-secret-0123"
API_TOKEN = "test-api-token-0123456789abcdef"


class _RunningTestsRedis(after_commit.AfterCommit):
    """The after-commit handler of the tests: jobs go to the Redis of the test running (REDIS_URL,
    which the `redis_url` fixture sets, and a test may point at a dead Redis)."""

    def __init__(self):
        super().__init__(None)

    def __call__(self, found) -> None:
        self.redis_url = os.environ.get("REDIS_URL")
        super().__call__(found)


_TESTS_AFTER_COMMIT = _RunningTestsRedis()


@pytest.fixture(scope="session", autouse=True)
def after_commit_effects():
    """The tests run the jobs in this process, as the worker entry point would: installed once."""
    after_commit.install(_TESTS_AFTER_COMMIT)


@pytest.fixture(autouse=True)
def _tests_after_commit_handler(after_commit_effects):
    # create_app installs the handler of its settings; every test starts with the tests' own again.
    yield
    after_commit.install(_TESTS_AFTER_COMMIT)


@pytest.fixture(scope="session")
def postgres_url():
    name = f"earshot_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    migrate.upgrade(url)
    yield url
    dispose_all()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    migrate.upgrade(f"sqlite:///{path}")
    dispose_all()
    return path


def _truncate_postgres(url: str) -> None:
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    with get_engine(url).begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
def sqlite_url(tmp_path, sqlite_template):
    """A migrated SQLite database of this test's own."""
    path = tmp_path / "earshot.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request):
    """Each database test runs against SQLite and against PostgreSQL."""
    if request.param == "sqlite":
        yield request.getfixturevalue("sqlite_url")
        return
    url = request.getfixturevalue("postgres_url")
    _truncate_postgres(url)
    incidents.forget()  # its in-memory window must not outlive the rows it mirrors
    yield url


@pytest.fixture
def empty_database(database_url, sqlite_template):
    """Empties this test's database again, ids starting over, as `database_url` first handed it out."""

    def empty() -> None:
        if database_url.startswith("sqlite"):
            dispose_all()
            shutil.copy(sqlite_template, database_url.removeprefix("sqlite:///"))
        else:
            _truncate_postgres(database_url)
        incidents.forget()

    return empty


@pytest.fixture(scope="session")
def redis_db():
    """A Redis database number of our own, held by a lock key in database 0."""
    lock = Redis.from_url(REDIS_HOST_URL + "/0")
    for number in range(1, 16):
        if lock.set(f"earshot:test-lock:{number}", os.getpid(), nx=True, ex=3600):
            break
    else:
        pytest.fail("no free Redis database for this test session")
    yield number
    Redis.from_url(f"{REDIS_HOST_URL}/{number}").flushdb()
    lock.delete(f"earshot:test-lock:{number}")


@pytest.fixture
def redis_url(redis_db, monkeypatch):
    url = f"{REDIS_HOST_URL}/{redis_db}"
    Redis.from_url(url).flushdb()
    monkeypatch.setenv("REDIS_URL", url)
    return url


def make_settings(database_url: str, redis_url: str, **overrides) -> Settings:
    values = dict(
        database_url=database_url,
        redis_url=redis_url,
        webhook_secret=WEBHOOK_SECRET,
        slack_signing_secret=SLACK_SIGNING_SECRET,
        api_tokens=(API_TOKEN,),
    )
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def config_data():
    """The raw YAML mapping; tests may change it before `app` is built."""
    return {
        "slack": {"default_channel": "#support", "escalation_channel": "#support-escalations"},
        "routes": [{"match": {"urgency": ["critical"]}, "channel": "#support-critical"}],
    }


@pytest.fixture
def app_config(config_data):
    return parse_config(config_data, "<test>")


@pytest.fixture
def settings(database_url, redis_url):
    return make_settings(database_url, redis_url)


@pytest.fixture
def app(settings, app_config):
    from service import create_app

    app = create_app(settings, app_config)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def live_app(app):
    """The app served over HTTP on a free port (for a browser, or the stand-in's buttons)."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def client(app):
    return app.test_client()


def signed_headers(body: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> dict:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        "Content-Type": "application/json",
        "X-Earshot-Timestamp": str(timestamp),
        "X-Earshot-Signature": generic.sign(secret, timestamp, body),
    }


def post_generic(client, payload, **kwargs):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return client.post("/webhooks/generic", data=body, headers=signed_headers(body, **kwargs))


def mention(external_id: str = "tw-1", text: str = "@acme my booking vanished", **fields) -> dict:
    payload = {
        "id": external_id,
        "source": "x",
        "author": {"id": "u42", "handle": "@jane", "name": "Jane", "followers": 1200},
        "text": text,
        "created_at": "2026-11-21T14:03:00Z",
        "brand": "acme",
    }
    payload.update(fields)
    return payload


@pytest.fixture
def worker_env(settings, config_data, tmp_path, monkeypatch):
    """The environment a worker process reads (workers.context), matching `settings` and `config_data`."""
    import yaml

    from workers import context

    path = tmp_path / "earshot.yaml"
    path.write_text(yaml.safe_dump(config_data))
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("REDIS_URL", settings.redis_url)
    monkeypatch.setenv("EARSHOT_CONFIG", str(path))
    monkeypatch.setenv("WEBHOOK_SECRET", WEBHOOK_SECRET)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SLACK_SIGNING_SECRET)
    context.reset()
    yield
    context.reset()


def run_jobs(redis_url: str, *queue_names: str) -> None:
    """Run everything queued on `queue_names` in this process, as a worker would, then return."""
    from rq import SimpleWorker

    from service import intake
    from workers import queues

    # A webhook is answered once its mentions are committed; their classification
    # request follows on the writer thread. Wait for it, as a worker would in time.
    assert intake.settle(), "the intake writer did not finish"

    queued = [queues.queue(name, redis_url) for name in queue_names]
    worker = SimpleWorker(queued, connection=queues.connection(redis_url))
    worker.work(burst=True, with_scheduler=False)
