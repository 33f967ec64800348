"""The reply clients against the X and Meta stand-ins and a signed-webhook receiver, over real HTTP:
one post per reply whatever fails, rate limits waited out, refusals final, no credential leaked."""

import json
import logging
import socket
import threading
import time
from urllib.request import Request, urlopen

import pytest
from flask import Flask, jsonify, request

from core.settings import ConfigError
from integrations.platforms import generic
from integrations.platforms.mention import SignatureError
from integrations.platforms.replies import ReplyConfig, client_for, from_environ, length_for, limit_for, validate
from integrations.platforms.replies.clients import NoReplyTarget
from integrations.platforms.replies.config import OAuth1Credentials
from integrations.platforms.replies.outcome import Ambiguous, Failed, LookupFailed, OutboundReply, Retry, Sent
from standins.faults import start_in_thread
from standins.meta_graph import start_meta_standin_in_thread
from standins.x_api import start_x_standin_in_thread

X_TOKEN = "x-user-token-SECRET-0123456789"
META_TOKEN = "meta-page-token-SECRET-0123456789"
WEBHOOK_SECRET = "reply-webhook-SECRET-0123456789"
OAUTH1 = OAuth1Credentials("consumer-key-0123", "consumer-SECRET-4567", "access-token-SECRET-89", "access-SECRET-ab")
TEXT = "Sorry about that & thanks for waiting <3 Details: https://example.com/help/booking?id=42."
PLATFORMS = ["x", "facebook", "instagram"]


@pytest.fixture(scope="module")
def servers():
    x_url, x_server = start_x_standin_in_thread(token=X_TOKEN, oauth1_consumer_key=OAUTH1.consumer_key)
    meta_url, meta_server = start_meta_standin_in_thread(token=META_TOKEN)
    hook_app, received = _receiver()
    hook_url, hook_server = start_in_thread(hook_app, "reply-receiver")
    yield {"x": x_url, "facebook": meta_url, "instagram": meta_url, "webhook": hook_url, "received": received}
    for server in (x_server, meta_server, hook_server):
        server.shutdown()


@pytest.fixture
def services(servers):
    """The stand-ins, emptied of replies and faults, and the receiver of what it received."""
    for source in ("x", "facebook"):
        _control(servers[source], "/_standin/reset", {})
    servers["received"].clear()
    return servers


def _receiver():
    """A reply webhook receiver that verifies like /webhooks/generic and dedupes on idempotency_key."""
    app, received = Flask(__name__), {}

    @app.post("/replies")
    def replies():
        try:
            generic.verify(WEBHOOK_SECRET, request.headers.get("X-Earshot-Timestamp"),
                           request.headers.get("X-Earshot-Signature"), request.get_data(), time.time())  # fmt: skip
        except SignatureError as error:
            return jsonify(error=str(error)), 401
        body = request.get_json()
        received.setdefault(body["idempotency_key"], body)
        return jsonify(id=f"hook-{list(received).index(body['idempotency_key'])}")

    return app, received


def _config(services, **overrides) -> ReplyConfig:
    settings = {"x_api_url": services["x"] + "/2/", "x_user_access_token": X_TOKEN,
                "meta_graph_url": services["facebook"] + "/v21.0/", "meta_page_access_token": META_TOKEN,
                "reply_webhook_url": services["webhook"] + "/replies", "reply_webhook_secret": WEBHOOK_SECRET,
                "connect_timeout": 2.0, "read_timeout": 0.4, **overrides}  # fmt: skip
    return ReplyConfig(**settings)


@pytest.fixture
def make_client(services):
    made = []

    def make(source, **overrides):
        made.append(client_for(source, _config(services, **overrides)))
        return made[-1]

    yield make
    for client in made:
        client.close()


def _reply(source, text=TEXT, key="reply-1") -> OutboundReply:
    target = {"x": "1881000000000000001", "facebook": "104000000000001_555", "instagram": "17858893269000001"}
    return OutboundReply(ticket_id=7, source=source, in_reply_to=target.get(source, "post-9"), text=text,
                         idempotency_key=key)  # fmt: skip


def _control(base_url, path, spec=None):
    data = json.dumps(spec).encode() if spec is not None else None
    method = "POST" if spec is not None else "GET"
    with urlopen(Request(base_url + path, data=data, method=method,
                         headers={"Content-Type": "application/json"}), timeout=5) as answer:  # fmt: skip
        return json.loads(answer.read())


def _recorded(services, source):
    return _control(services[source], "/_standin/replies")["replies"]


@pytest.mark.parametrize("source", PLATFORMS)
def test_a_reply_is_posted_once_and_found_again(services, make_client, source):
    client = make_client(source)
    result = client.send(_reply(source))
    assert isinstance(result, Sent)
    assert [r["id"] for r in _recorded(services, source)] == [result.external_id]
    assert client.find_sent(_reply(source)) == result.external_id
    assert client.find_sent(_reply(source, text="Another answer")) is None


def test_x_accepts_oauth1_user_context(services, make_client):
    client = make_client("x", x_user_access_token=None, x_oauth1=OAUTH1)
    assert isinstance(client.send(_reply("x")), Sent)
    assert len(_recorded(services, "x")) == 1


def test_the_webhook_target_is_signed_like_the_generic_webhook_and_deduped(services, make_client):
    client = make_client("trustpilot")
    first = client.send(_reply("trustpilot"))
    assert first == Sent("hook-0")
    assert client.find_sent(_reply("trustpilot")) is None  # resending is safe: the receiver dedupes
    assert client.send(_reply("trustpilot")) == Sent("hook-0")
    [body] = services["received"].values()
    assert body == {"ticket_id": 7, "source": "trustpilot", "in_reply_to": "post-9", "text": TEXT,
                    "idempotency_key": "reply-1"}  # fmt: skip
    assert client_for("trustpilot", _config(services, reply_webhook_secret="wrong")).send(
        _reply("trustpilot", key="k2")).reason.startswith("reply webhook: refused (HTTP 401)")  # fmt: skip


def test_other_sources_without_a_webhook_are_refused(services):
    with pytest.raises(NoReplyTarget, match="REPLY_WEBHOOK_URL"):
        client_for("trustpilot", _config(services, reply_webhook_url=None))


@pytest.mark.parametrize(("source", "wait"), [("x", 120), ("facebook", 120), ("instagram", 180)])
def test_rate_limits_are_waited_out(services, make_client, source, wait):
    _control(services[source], "/_standin/faults", {"kind": "rate_limit", "retry_after": wait})
    client = make_client(source)
    result = client.send(_reply(source))
    assert isinstance(result, Retry) and wait - 3 <= result.after_seconds <= wait
    assert _recorded(services, source) == []
    assert isinstance(client.send(_reply(source)), Sent)


@pytest.mark.parametrize("source", PLATFORMS)
def test_an_error_before_the_post_is_resent_once(services, make_client, source):
    _control(services[source], "/_standin/faults", {"kind": "error_before"})
    client = make_client(source)
    assert isinstance(client.send(_reply(source)), Ambiguous)
    assert client.find_sent(_reply(source)) is None
    assert isinstance(client.send(_reply(source)), Sent)
    assert len(_recorded(services, source)) == 1


@pytest.mark.parametrize("source", PLATFORMS)
@pytest.mark.parametrize("kind", ["error_after", "slow"])
def test_a_post_that_took_effect_is_found_not_resent(services, make_client, source, kind):
    _control(services[source], "/_standin/faults", {"kind": kind, "delay": 1.0})
    client = make_client(source)
    result = client.send(_reply(source))
    assert isinstance(result, Ambiguous)
    [stored] = _recorded(services, source)
    assert client.find_sent(_reply(source)) == stored["id"]


@pytest.mark.parametrize(("source", "kind", "words"), [("x", "duplicate", "duplicate content"),
                         ("x", "denied", "HTTP 403"), ("facebook", "denied", "code 200"),
                         ("instagram", "duplicate", "code 506")])  # fmt: skip
def test_refusals_are_permanent(services, make_client, source, kind, words):
    _control(services[source], "/_standin/faults", {"kind": kind})
    result = make_client(source).send(_reply(source))
    assert isinstance(result, Failed) and result.permanent and words in result.reason


def test_a_refused_connection_is_retried_not_ambiguous(make_client):
    result = make_client("x", x_api_url="http://127.0.0.1:9/2/").send(_reply("x"))
    assert isinstance(result, Retry) and "could not connect" in result.reason


def test_a_connection_dropped_after_sending_is_ambiguous(make_client):
    """A server that reads the whole request, then closes without answering."""
    listener = socket.create_server(("127.0.0.1", 0))

    def drop_one():
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)

    thread = threading.Thread(target=drop_one, daemon=True)
    thread.start()
    with listener:
        result = make_client("facebook", meta_graph_url=f"http://127.0.0.1:{listener.getsockname()[1]}/v21.0/").send(
            _reply("facebook"))  # fmt: skip
        thread.join(5)
    assert isinstance(result, Ambiguous) and "after sending" in result.reason


@pytest.mark.parametrize("source", PLATFORMS)
def test_no_credential_reaches_a_log_or_a_reason(services, make_client, source, caplog):
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-token-SECRET-777"
    token = {"x_user_access_token": wrong} if source == "x" else {"meta_page_access_token": wrong}
    client = make_client(source, **token)
    failed = client.send(_reply(source))
    assert isinstance(failed, Failed) and failed.permanent
    _control(services[source], "/_standin/faults", {"kind": "slow", "delay": 1.0})
    timed_out = make_client(source).send(_reply(source))
    with pytest.raises(LookupFailed) as lookup:
        make_client(source, **token).find_sent(_reply(source))
    texts = [failed.reason, timed_out.reason, str(lookup.value), repr(_config(services)), repr(vars(client))]
    texts += [record.getMessage() + repr(record.__dict__) for record in caplog.records]
    for secret in (wrong, X_TOKEN, META_TOKEN, WEBHOOK_SECRET, *vars(OAUTH1).values()):
        assert not any(secret in text for text in texts), secret
    assert any(record.levelno == logging.WARNING for record in caplog.records)


@pytest.mark.parametrize(("text", "length"), [
    ("a" * 280, 280), ("日本語のテキスト", 16), ("😷", 2), ("👨‍👩‍👧‍👦 🇯🇵", 5), ("café – “quoted”", 15),
    ("see https://example.com/" + "x" * 100, 27), ("visit example.com, or foo.co.jp/x!", 58), ("a\r\nb", 3),
])  # fmt: skip
def test_x_counts_weighted_characters(text, length):
    assert length_for("x", text) == length


def test_limits_and_validation():
    assert validate("x", "a" * 280) is None
    assert "281" in validate("x", "a" * 281) and "shorten it by 1" in validate("x", "a" * 281)
    assert validate("x", "日" * 140) is None and validate("x", "日" * 141) is not None
    assert validate("x", "https://example.com/" + "p" * 400) is None
    assert validate("facebook", " \n\t ").startswith("Write a reply first")
    assert (limit_for("facebook"), limit_for("instagram"), limit_for("trustpilot")) == (8000, 2200, 10000)
    assert validate("instagram", "x" * 2200) is None and "2200" in validate("instagram", "x" * 2201)


def test_configuration_from_the_environment():
    assert from_environ({}).x_standin and from_environ({}).meta_standin
    env = {"X_USER_ACCESS_TOKEN": X_TOKEN, "META_PAGE_ACCESS_TOKEN": META_TOKEN,
           "REPLY_WEBHOOK_URL": "https://hooks.example/replies", "WEBHOOK_SECRET": WEBHOOK_SECRET}  # fmt: skip
    config = from_environ(env)
    assert (config.x_api_url, config.meta_graph_url) == ("https://api.x.com/2/", "https://graph.facebook.com/v21.0/")
    assert config.reply_webhook_secret == WEBHOOK_SECRET and not config.x_standin
    assert X_TOKEN not in repr(config) and WEBHOOK_SECRET not in repr(config)
    with pytest.raises(ConfigError, match="X_ACCESS_TOKEN_SECRET"):
        from_environ({"X_CONSUMER_KEY": "k", "X_CONSUMER_SECRET": "s", "X_ACCESS_TOKEN": "t"})
    with pytest.raises(ConfigError, match="REPLY_WEBHOOK_SECRET"):
        from_environ({"REPLY_WEBHOOK_URL": "https://hooks.example/replies"})
    with pytest.raises(ConfigError, match="META_GRAPH_URL"):
        from_environ({"META_PAGE_ACCESS_TOKEN": "t", "META_GRAPH_URL": "ftp://graph"})


def test_standin_controls_take_json_only(services):
    request_ = Request(services["x"] + "/_standin/faults", data=b"kind=slow", method="POST")
    with pytest.raises(Exception, match="415"):
        urlopen(request_, timeout=5)
