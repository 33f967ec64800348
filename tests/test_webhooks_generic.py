"""POST /webhooks/generic: signatures, validation, duplicates, exact storage, never a 500."""

import json
import threading
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from core.timeutil import iso, utcnow
from service import MAX_BODY_BYTES, create_app, intake
from store.db import session_for
from store.schema import Mention
from tests.conftest import WEBHOOK_SECRET, make_settings, mention, post_generic, signed_headers
from workers import queues


def stored(settings) -> list[Mention]:
    with session_for(settings.database_url) as session:
        return list(session.scalars(select(Mention).order_by(Mention.id)))


def post_raw(client, body: bytes, content_type: str = "application/json"):
    headers = signed_headers(body)
    headers["Content-Type"] = content_type
    return client.post("/webhooks/generic", data=body, headers=headers)


def test_single_mention_is_stored_and_queued(client, settings, redis_url):
    response = post_generic(client, mention("tw-1881", url="https://x.com/jane/status/1881"))

    assert response.status_code == 202
    assert response.get_json() == {"accepted": 1, "duplicates": 0}
    [row] = stored(settings)
    assert (row.source, row.external_id, row.direction) == ("x", "tw-1881", "inbound")
    assert (row.author_id, row.author_handle, row.author_name, row.author_followers) == ("u42", "@jane", "Jane", 1200)
    assert row.text == "@acme my booking vanished"
    assert iso(row.created_at) == "2026-11-21T14:03:00Z"
    assert (row.url, row.brand) == ("https://x.com/jane/status/1881", "acme")
    assert intake.settle()  # the classification request follows the answer
    assert queues.queue(queues.CLASSIFY, redis_url).count == 1


def test_batch_is_stored(client, settings):
    response = post_generic(client, {"mentions": [mention(f"tw-{n}") for n in range(3)]})

    assert response.status_code == 202
    assert response.get_json() == {"accepted": 3, "duplicates": 0}
    assert [row.external_id for row in stored(settings)] == ["tw-0", "tw-1", "tw-2"]


def test_a_mention_seen_again_is_a_duplicate(client, settings):
    assert post_generic(client, mention("tw-7")).get_json() == {"accepted": 1, "duplicates": 0}

    again = post_generic(client, mention("tw-7", text="edited text"))

    assert again.status_code == 202
    assert again.get_json() == {"accepted": 0, "duplicates": 1}
    [row] = stored(settings)
    assert row.text == "@acme my booking vanished"


def test_the_same_id_on_another_source_is_not_a_duplicate(client, settings):
    post_generic(client, mention("42"))
    response = post_generic(client, mention("42", source="facebook"))

    assert response.get_json() == {"accepted": 1, "duplicates": 0}
    assert sorted(row.source for row in stored(settings)) == ["facebook", "x"]


def test_an_id_repeated_inside_one_batch_is_stored_once(client, settings):
    batch = {"mentions": [mention("tw-1"), mention("tw-2"), mention("tw-1", text="again")]}

    response = post_generic(client, batch)

    assert response.status_code == 202
    assert response.get_json() == {"accepted": 2, "duplicates": 1}
    assert [row.external_id for row in stored(settings)] == ["tw-1", "tw-2"]


def test_outbound_brand_reply_is_stored_as_outbound(client, settings):
    post_generic(client, mention("tw-1"))
    reply = mention("tw-2", text="@jane sorry! DM us your booking number", direction="outbound", in_reply_to="tw-1",
                    author={"id": "acme-1", "handle": "@acme"})

    response = post_generic(client, reply)

    assert response.status_code == 202
    row = stored(settings)[-1]
    assert (row.external_id, row.direction, row.in_reply_to, row.author_id) == ("tw-2", "outbound", "tw-1", "acme-1")


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(lambda body: signed_headers(body, secret="not-the-secret"), id="wrong-secret"),
        pytest.param(lambda body: signed_headers(body + b" "), id="signed-other-body"),
        pytest.param(lambda body: {"Content-Type": "application/json"}, id="no-headers"),
        pytest.param(
            lambda body: {k: v for k, v in signed_headers(body).items() if k != "X-Earshot-Signature"},
            id="no-signature",
        ),
        pytest.param(
            lambda body: {**signed_headers(body), "X-Earshot-Timestamp": "yesterday"}, id="timestamp-not-a-number"
        ),
        pytest.param(lambda body: signed_headers(body, timestamp=int(time.time()) - 301), id="stale-timestamp"),
        # Well past the window: a slow run can spend seconds between signing and checking.
        pytest.param(lambda body: signed_headers(body, timestamp=int(time.time()) + 360), id="future-timestamp"),
        pytest.param(
            lambda body: {**signed_headers(body), "X-Earshot-Signature": "v1=" + "0" * 64}, id="forged-signature"
        ),
    ],
)
def test_bad_signature_is_refused(client, settings, headers):
    body = json.dumps(mention()).encode()

    response = client.post("/webhooks/generic", data=body, headers=headers(body))

    assert response.status_code == 401
    assert "error" in response.get_json()
    assert stored(settings) == []


def test_timestamp_within_the_window_is_accepted(client):
    body = json.dumps(mention()).encode()
    headers = signed_headers(body, timestamp=int(time.time()) - 290)

    assert client.post("/webhooks/generic", data=body, headers=headers).status_code == 202


def test_body_over_one_mebibyte_is_refused(client, settings):
    body = json.dumps(mention(text="x" * MAX_BODY_BYTES)).encode()

    response = post_raw(client, body)

    assert response.status_code == 413
    assert "1 MiB" in response.get_json()["error"]
    assert stored(settings) == []


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"])
def test_a_body_that_is_not_json_is_refused(client, content_type):
    response = post_raw(client, json.dumps(mention()).encode(), content_type)

    assert response.status_code == 415
    assert "JSON" in response.get_json()["error"]


def test_invalid_json_is_refused(client):
    response = post_raw(client, b'{"id": "tw-1", "source": ')

    assert response.status_code == 400
    assert "not valid JSON" in response.get_json()["error"]


@pytest.mark.parametrize(
    "body",
    [
        b'{"id": "tw-1", "source": "x", "author": {"id": "u1"}, "text": "half \\ud800 a pair"}',
        b'{"id": "tw-1", "source": "x", "author": {"id": "u1", "\\udfff": 1}, "text": "a key"}',
        b'{"id": "tw-1", "source": "x", "author": {"id": "u1"}, "text": "raw \xed\xa0\x80 bytes"}',
    ],
)
def test_an_unpaired_surrogate_is_refused_not_a_500(client, settings, body):
    response = post_raw(client, body)

    assert response.status_code == 400
    assert "surrogate" in response.get_json()["error"]
    assert stored(settings) == []


def test_an_escaped_surrogate_pair_is_an_emoji_stored_exactly(client, settings):
    body = b'{"id": "tw-1", "source": "x", "author": {"id": "u1"}, "text": "late again \\ud83d\\ude21"}'

    assert post_raw(client, body).status_code == 202
    assert stored(settings)[0].text == "late again \U0001F621"


def _without(path: str) -> dict:
    payload = mention()
    if path == "author.id":
        del payload["author"]["id"]
    else:
        del payload[path]
    return payload


@pytest.mark.parametrize("field", ["id", "source", "author.id", "text"])
def test_a_missing_required_field_is_named(client, settings, field):
    response = post_generic(client, _without(field))

    assert response.status_code == 400
    assert response.get_json()["field"] == field
    assert stored(settings) == []


def test_a_missing_field_inside_a_batch_is_named_with_its_index(client, settings):
    response = post_generic(client, {"mentions": [mention("tw-1"), _without("text")]})

    assert response.status_code == 400
    assert response.get_json()["field"] == "mentions[1].text"
    assert stored(settings) == [], "a batch is stored whole or not at all"


def test_more_than_a_thousand_mentions_are_refused(client, settings):
    batch = {"mentions": [mention(f"tw-{n}", text="hi") for n in range(1001)]}

    response = post_generic(client, batch)

    assert response.status_code == 400
    assert response.get_json()["field"] == "mentions"
    assert stored(settings) == []


def test_exactly_a_thousand_mentions_are_accepted(client, settings):
    batch = {"mentions": [mention(f"tw-{n}", text="hi") for n in range(1000)]}

    response = post_generic(client, batch)

    assert response.get_json() == {"accepted": 1000, "duplicates": 0}


@pytest.mark.parametrize(
    "change, field",
    [
        ({"id": ["tw-1"]}, "id"),
        ({"id": {"n": 1}}, "id"),
        ({"id": True}, "id"),
        ({"text": 12}, "text"),
        ({"text": "   "}, "text"),
        ({"source": ["x"]}, "source"),
        ({"source": "Not A Source!"}, "source"),
        ({"author": "u42"}, "author"),
        ({"author": {"id": "u42", "followers": "many"}}, "author.followers"),
        ({"author": {"id": "u42", "followers": -1}}, "author.followers"),
        ({"author": {"id": None}}, "author.id"),
        ({"direction": "sideways"}, "direction"),
        ({"created_at": "yesterday"}, "created_at"),
        ({"created_at": 1700000000}, "created_at"),
        ({"in_reply_to": ["tw-0"]}, "in_reply_to"),
        ({"url": "x" * 3000}, "url"),
        ({"mentions": "tw-1"}, "mentions"),
        ({"mentions": []}, "mentions"),
    ],
)
def test_wrong_types_are_refused_with_the_field(client, settings, change, field):
    payload = change if "mentions" in change else {**mention(), **change}

    response = post_generic(client, payload)

    assert response.status_code == 400
    assert response.get_json()["field"] == field
    assert stored(settings) == []


def test_unknown_extra_fields_are_kept(client, settings):
    payload = mention(campaign={"name": "spring sale", "ids": [1, 2]}, sentiment_hint=-0.4, lang_guess="en")

    assert post_generic(client, payload).status_code == 202

    [row] = stored(settings)
    assert row.extra == {"campaign": {"name": "spring sale", "ids": [1, 2]}, "sentiment_hint": -0.4, "lang_guess": "en"}


def test_extra_fields_keep_nul_and_control_characters(client, settings):
    # A text column cannot hold NUL; the JSON of the extra fields keeps it escaped.
    extra = {"tag\x00key": ["a\x00b", "\x01\x1f"], "nested": {"\u2028": "line separator"}}
    payload = mention("tw-9", **extra)

    assert post_generic(client, {"mentions": [payload, mention("tw-10")]}).status_code == 202

    assert stored(settings)[0].extra == extra


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("Ünïcödé: 東京の予約が消えた — Привет, مرحبا", id="unicode"),
        pytest.param("@acme 😡😡 my flight ✈️ is gone 👨‍👩‍👧‍👦 🏳️‍🌈", id="emoji"),
        pytest.param(("é my booking vanished 😡 " * 500)[:10_000], id="10000-characters"),
        pytest.param("'); DROP TABLE mentions;-- \" OR 1=1; --", id="sql-looking"),
        pytest.param('<script>alert("x")</script><b>bold</b> &amp; <!-- c --> <@U123> <!channel>', id="html-looking"),
        pytest.param("line one\r\nline two\ttabbed\u2028sep   trailing  ", id="whitespace"),
    ],
)
def test_text_is_stored_exactly(client, settings, text):
    assert post_generic(client, mention(text=text)).status_code == 202

    [row] = stored(settings)
    assert row.text == text
    assert len(row.text) == len(text)


def test_future_created_at_starts_the_clock_at_receipt(client, settings):
    before = utcnow()
    assert post_generic(client, mention(created_at="2099-01-01T00:00:00Z")).status_code == 202
    after = utcnow()

    [row] = stored(settings)
    assert row.created_at == row.received_at
    assert before.replace(microsecond=0) <= row.created_at <= after


@pytest.mark.parametrize(
    "given, kept",
    [
        ("2026-11-21T15:03:00.123456+01:00", datetime(2026, 11, 21, 14, 3, 0, 123456, tzinfo=UTC)),
        ("0999-03-04T05:06:07Z", datetime(999, 3, 4, 5, 6, 7, tzinfo=UTC)),
        ("0001-01-01T00:00:00Z", datetime(1, 1, 1, tzinfo=UTC)),
    ],
)
def test_created_at_is_stored_in_utc_to_the_microsecond(client, settings, given, kept):
    assert post_generic(client, mention(created_at=given)).status_code == 202

    assert stored(settings)[0].created_at == kept


def test_missing_created_at_starts_the_clock_at_receipt(client, settings):
    payload = mention()
    del payload["created_at"]

    assert post_generic(client, payload).status_code == 202

    [row] = stored(settings)
    assert row.created_at == row.received_at


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"[]", id="empty-list"),
        pytest.param(b"null", id="null"),
        pytest.param(b"42", id="number"),
        pytest.param(b'"text"', id="string"),
        pytest.param(b"[" * 50_000 + b"]" * 50_000, id="deeply-nested-list"),
        pytest.param(b'{"a":' * 50_000 + b"1" + b"}" * 50_000, id="deeply-nested-object"),
        pytest.param(b'{"id": "tw-1", "text": "\xff\xfe caf\xe9"}', id="invalid-utf8"),
        pytest.param(b"\xef\xbb\xbf{}", id="utf8-bom"),
        pytest.param(json.dumps({"mentions": [None]}).encode(), id="null-in-batch"),
        pytest.param(json.dumps({"mentions": {"id": 1}}).encode(), id="batch-not-a-list"),
        pytest.param(json.dumps(mention(text="nul \u0000 inside")).encode(), id="nul-character"),
        pytest.param(json.dumps(mention(author={"id": "u1", "followers": 10**30})).encode(), id="huge-followers"),
        pytest.param(json.dumps(mention(created_at="0001-01-01T00:00:00+14:00")).encode(), id="created-before-year-1"),
        pytest.param(json.dumps(mention(created_at="9999-12-31T23:59:59-14:00")).encode(), id="created-after-9999"),
        pytest.param(json.dumps(mention(score=float("inf"))).encode(), id="infinity-in-extra"),
        pytest.param(json.dumps(mention(score=float("nan"))).encode(), id="nan-in-extra"),
    ],
)
def test_bad_bodies_get_a_4xx_never_a_500(client, settings, body):
    response = post_raw(client, body)

    assert 400 <= response.status_code < 500, response.get_data(as_text=True)
    assert response.is_json and response.get_json()["error"]
    assert stored(settings) == []


def test_mentions_are_accepted_while_redis_is_down(database_url, app_config):
    settings = make_settings(database_url, "redis://127.0.0.1:1/0")
    client = create_app(settings, app_config).test_client()

    response = post_generic(client, mention("tw-offline"))

    assert response.status_code == 202
    assert response.get_json() == {"accepted": 1, "duplicates": 0}
    [row] = stored(settings)
    assert row.external_id == "tw-offline"
    assert row.processed_at is None


def test_secret_is_never_in_a_refusal(client):
    body = json.dumps(mention()).encode()
    response = client.post("/webhooks/generic", data=body, headers=signed_headers(body, secret="guess"))

    assert WEBHOOK_SECRET not in response.get_data(as_text=True)


def test_post_mention_tool_signs_and_posts_to_a_running_server(app, settings, monkeypatch, capsys):
    from werkzeug.serving import make_server

    from tools import post_mention

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("WEBHOOK_SECRET", WEBHOOK_SECRET)
    url = f"http://127.0.0.1:{server.server_port}"
    try:
        first = post_mention.main(["--url", url, "--text", "@acme my booking vanished 😡", "--id", "cli-1",
                                   "--author", "jane", "--followers", "1200"])
        reply = post_mention.main(["--url", url, "--text", "@jane sorry!", "--id", "cli-2", "--outbound",
                                   "--reply-to", "cli-1"])
        monkeypatch.setenv("WEBHOOK_SECRET", "not-the-secret")
        refused = post_mention.main(["--url", url, "--text", "forged"])
    finally:
        server.shutdown()
        thread.join()

    assert (first, reply, refused) == (0, 0, 1)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == '202 {"accepted": 1, "duplicates": 0}'
    assert lines[2].startswith("401 ")
    customer, answer = stored(settings)
    assert (customer.external_id, customer.author_handle, customer.author_followers) == ("cli-1", "@jane", 1200)
    assert customer.text == "@acme my booking vanished 😡"
    assert (answer.direction, answer.in_reply_to, answer.author_id) == ("outbound", "cli-1", "acme")
