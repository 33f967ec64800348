"""Customers' words exactly as they wrote them (issue 23): X's HTML escaping undone
once at the edge, Meta's plain text kept as sent, t.co links expanded, and each
reaching storage, the API and Slack (escaped there exactly once) unchanged; and the
one-off repair of X rows stored escaped."""

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.timeutil import utcnow
from ingest import decode_entities
from integrations.platforms.text import MAX_LINKS, expand_links, unescape_x
from store.db import session_for, transaction
from store.schema import Mention
from tests.conftest import API_TOKEN, make_settings, run_jobs
from tests.slack_support import jobs, parents, standin  # noqa: F401  (fixtures)
from tests.test_webhooks_meta import APP_SECRET, VERIFY_TOKEN, feed_comment, page_feed
from tests.test_webhooks_meta import post as post_meta
from tests.test_webhooks_x import OAUTH2_SECRET, activity, tweet
from tests.test_webhooks_x import post as post_x
from workers import deliver, queues

ESCAPED_BY_X = "@acme I &lt;3 you but order #5 &amp; my refund are lost &gt;:("
AS_WRITTEN = "@acme I <3 you but order #5 & my refund are lost >:("
ESCAPED_FOR_SLACK = "@acme I &lt;3 you but order #5 &amp; my refund are lost &gt;:("
# Emoji (a surrogate pair in JSON's \u escapes, a ZWJ family), right-to-left text with its
# marks, a zero-width space and joiner, a combining accent: storage keeps each as written.
UNICODE = ("@acme 😡 you charged my card twice 💳👩\u200d👩\u200d👧 and my refund is lost! "
           "\u202bاسترداد المال\u202c \u200fשלום\u200f zero\u200bwidth cafe\u0301 \ufeff")  # fmt: skip
META_TEXT = "I <3 you & A &amp; B"


@pytest.fixture
def settings(database_url, redis_url):
    """The app (and the stand-in's live app) with the X and Meta webhooks switched on."""
    return make_settings(database_url, redis_url, x_oauth2_client_secret=OAUTH2_SECRET,
                         meta_app_secret=APP_SECRET, meta_verify_token=VERIFY_TOKEN)  # fmt: skip


def _mention(database_url: str, external_id: str) -> Mention:
    with session_for(database_url) as session:
        return session.scalars(select(Mention).filter_by(external_id=external_id)).one()


def _api_ticket(client, ticket_id: int) -> dict:
    response = client.get(f"/api/v1/tickets/{ticket_id}", headers={"Authorization": f"Bearer {API_TOKEN}"})
    assert response.status_code == 200
    return response.get_json()


def _slack_text(standin_url: str, ticket: dict) -> str:
    deliver.drain([ticket["channel"]])
    [posted] = [m for m in parents(standin_url, ticket["channel"])
                if m["metadata"]["event_payload"]["ticket_id"] == ticket["id"]]  # fmt: skip
    return "\n".join(b["text"]["text"] for b in posted["blocks"] if b["type"] == "section")


@pytest.mark.parametrize(
    "sent, stored",
    [
        ("I &lt;3 you", "I <3 you"),
        ("a &gt; b &amp; c", "a > b & c"),
        ("typed &amp;amp; literally", "typed &amp; literally"),  # the customer wrote `&amp;`
        ("&amp;lt;3 is how HTML spells it", "&lt;3 is how HTML spells it"),
        ("&quot;quoted&quot; &#39;kept&#39; &nbsp;", "&quot;quoted&quot; &#39;kept&#39; &nbsp;"),  # X never sends these
        ("&amp &lt &AMP; &;", "&amp &lt &AMP; &;"),
        ("no entities 😀", "no entities 😀"),
    ],
)
def test_x_entities_are_decoded_exactly_once(sent, stored):
    assert unescape_x(sent) == stored


def test_tco_links_become_where_they_lead():
    urls = [
        {"url": "https://t.co/abc", "expanded_url": "https://shop.example/order?id=5&x=1", "indices": [4, 20]},
        {"url": "https://t.co/abcd", "expanded_url": "http://b.example/"},
        {"url": "https://t.co/js", "expanded_url": "javascript:alert(1)"},
        {"url": "https://evil.example/", "expanded_url": "https://bank.example/"},
        {"url": "https://t.co/nul", "expanded_url": None},
        "not an entity",
    ]
    text = "see https://t.co/abc, https://t.co/abcd and https://t.co/js https://t.co/abcde https://evil.example/"

    assert expand_links(text, urls) == (
        "see https://shop.example/order?id=5&x=1, http://b.example/ and https://t.co/js https://t.co/abcde "
        "https://evil.example/")
    assert expand_links(text, None) == expand_links(text, {"url": 1}) == text


def test_an_expansion_is_never_expanded_again_and_the_list_is_bounded():
    chained = [{"url": "https://t.co/a", "expanded_url": "https://t.co/b"},
               {"url": "https://t.co/b", "expanded_url": "https://c.example/"}]  # fmt: skip
    many = [{"url": f"https://t.co/n{i}", "expanded_url": f"https://e.example/{i}"} for i in range(MAX_LINKS + 1)]

    assert expand_links("https://t.co/a", chained) == "https://t.co/b"
    assert expand_links(f"https://t.co/n0 https://t.co/n{MAX_LINKS}", many) == (
        f"https://e.example/0 https://t.co/n{MAX_LINKS}")


def test_x_text_name_and_links_are_stored_as_the_customer_wrote_them(client, settings):
    literal = tweet("1050118621198921001", "@acme I typed &amp;amp; on purpose", user_id="6253283")
    linked = tweet("1050118621198921002", "@acme order https://t.co/Ab12 &amp; nothing", user_id="6253284",
                   entities={"urls": [{"url": "https://t.co/Ab12", "expanded_url": "https://acme.example/o?a=1&b=2"}]})
    full = "@acme &lt;urgent&gt; refund https://t.co/Long1 " + "still waiting " * 20
    long_tweet = tweet("1050118621198921003", full[:137] + "…", user_id="6253285", truncated=True,
                       entities={"urls": []}, extended_tweet={"full_text": full, "entities": {"urls": [
                           {"url": "https://t.co/Long1", "expanded_url": "https://acme.example/refund"}]}})
    named = tweet("1050118621198921004", ESCAPED_BY_X, user_id="6253286")
    named["user"]["name"] = "Tom &amp; Jerry &lt;3"

    response = post_x(client, activity(literal, linked, long_tweet, named))

    assert response.get_json() == {"accepted": 4, "duplicates": 0}
    assert _mention(settings.database_url, "1050118621198921001").text == "@acme I typed &amp; on purpose"
    assert _mention(settings.database_url, "1050118621198921002").text == (
        "@acme order https://acme.example/o?a=1&b=2 & nothing")
    assert _mention(settings.database_url, "1050118621198921003").text == (
        "@acme <urgent> refund https://acme.example/refund " + "still waiting " * 20)
    row = _mention(settings.database_url, "1050118621198921004")
    assert (row.text, row.author_name) == (AS_WRITTEN, "Tom & Jerry <3")


def test_meta_text_is_plain_and_stored_exactly_as_sent(client, settings):
    comment = feed_comment("1234567890123_4242", message=META_TEXT, sender=("5021773457912345", "A &amp; B Ltd"))

    assert post_meta(client, page_feed(comment)).get_json() == {"accepted": 1, "duplicates": 0}

    row = _mention(settings.database_url, "1234567890123_4242")
    assert (row.text, row.author_name) == (META_TEXT, "A &amp; B Ltd")


@pytest.mark.slow
def test_words_reach_the_api_and_slack_unchanged_and_slack_escapes_once(client, settings, worker_env, jobs,
                                                                        standin):  # fmt: skip
    escaped = tweet("1050118621198922001", ESCAPED_BY_X, user_id="6253290")
    emoji = tweet("1050118621198922002", UNICODE, user_id="6253291")
    body = json.dumps(activity(escaped, emoji))  # ensure_ascii: the emoji travel as surrogate-pair escapes
    assert "\\ud83d\\ude21" in body
    meta_complaint = "@acme I <3 you but you charged me twice & my refund is lost >:( A &amp; B"
    assert post_x(client, json.loads(body)).status_code == 200
    assert post_meta(client, page_feed(feed_comment("1234567890123_5151", message=meta_complaint))).status_code == 200

    run_jobs(settings.redis_url, queues.CLASSIFY)

    for external_id, written, for_slack in [
        ("1050118621198922001", AS_WRITTEN, ESCAPED_FOR_SLACK),
        ("1050118621198922002", UNICODE, UNICODE),
        ("1234567890123_5151", meta_complaint,
         "@acme I &lt;3 you but you charged me twice &amp; my refund is lost &gt;:( A &amp;amp; B"),
    ]:
        row = _mention(settings.database_url, external_id)
        assert row.text == written
        assert row.ticket_id is not None, f"{external_id} opened no ticket"
        ticket = _api_ticket(client, row.ticket_id)
        assert [m["text"] for m in ticket["mentions"]] == [written]
        assert for_slack in _slack_text(standin, ticket)


def _stored_row(session, external_id: str, text: str, received_at, *, source="x", name=None, extra=None) -> None:
    session.add(Mention(source=source, external_id=external_id, author_id="6253282", author_name=name, text=text,
                        extra={"for_user_id": "3001969357"} if extra is None else extra, created_at=received_at,
                        received_at=received_at))  # fmt: skip


def test_the_repair_decodes_x_rows_stored_escaped_once_and_only_once(database_url, capsys):
    fixed_at = utcnow()
    before = fixed_at - timedelta(days=1)
    with transaction(database_url) as session:
        _stored_row(session, "old-1", ESCAPED_BY_X, before, name="Tom &amp; Jerry")
        _stored_row(session, "old-2", "typed &amp;amp; on purpose", before)
        _stored_row(session, "old-3", "nothing escaped", before)
        _stored_row(session, "generic-x", "I &lt;3 plain text", before, extra={})  # the generic webhook
        _stored_row(session, "fb-1", "A &amp; B", before, source="facebook", extra={"page_id": "1"})
        _stored_row(session, "new-1", "typed &amp; after the fix", fixed_at + timedelta(seconds=1))
    argv = ["--before", fixed_at.isoformat()]

    assert decode_entities.main([*argv, "--dry-run"], database_url) == 0
    assert "would decode 2" in capsys.readouterr().out
    assert _mention(database_url, "old-1").text == ESCAPED_BY_X
    outcome = decode_entities.decode_x_entities(database_url, fixed_at, size=2)  # several batches
    again = decode_entities.decode_x_entities(database_url, fixed_at)

    assert (outcome.scanned, outcome.decoded, again.decoded) == (4, 2, 0)
    old = _mention(database_url, "old-1")
    assert (old.text, old.author_name) == (AS_WRITTEN, "Tom & Jerry")
    assert old.extra == {"for_user_id": "3001969357", decode_entities.MARKER: True}
    assert _mention(database_url, "old-2").text == "typed &amp; on purpose"
    for external_id, text in [("old-3", "nothing escaped"), ("generic-x", "I &lt;3 plain text"),
                              ("fb-1", "A &amp; B"), ("new-1", "typed &amp; after the fix")]:  # fmt: skip
        assert _mention(database_url, external_id).text == text


def test_the_repair_needs_a_cut_off(database_url, capsys):
    with pytest.raises(SystemExit):
        decode_entities.main([], database_url)
    with pytest.raises(SystemExit):
        decode_entities.main(["--before", "yesterday"], database_url)
    assert "--before" in capsys.readouterr().err
