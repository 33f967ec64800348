"""GET/POST /webhooks/meta: the verification handshake, `X-Hub-Signature-256`,
Page `feed` comments and posts, and Instagram `comments`."""

import hashlib
import hmac
import json

import pytest
from sqlalchemy import select

from core.timeutil import iso
from integrations.platforms import meta
from service import create_app
from store.db import session_for
from store.schema import Mention
from tests.conftest import make_settings

APP_SECRET = "meta-app-secret-0123456789abcdef"
VERIFY_TOKEN = "meta-verify-token-0123456789"
PAGE_ID = "104620612345678"
IG_ACCOUNT_ID = "17841405822304914"


def hub_signature(secret: str, body: bytes) -> str:
    """As Meta documents it: `sha256=` and the hex HMAC-SHA256 of the raw body keyed by the app secret."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


@pytest.fixture
def meta_app(database_url, redis_url, app_config):
    settings = make_settings(database_url, redis_url, meta_app_secret=APP_SECRET, meta_verify_token=VERIFY_TOKEN)
    return settings, create_app(settings, app_config).test_client()


def post(client, payload, secret=APP_SECRET):
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", meta.SIGNATURE_HEADER: hub_signature(secret, body)}
    return client.post("/webhooks/meta", data=body, headers=headers)


def stored(settings) -> list[Mention]:
    with session_for(settings.database_url) as session:
        return list(session.scalars(select(Mention).order_by(Mention.id)))


def page_feed(*values, page_id=PAGE_ID) -> dict:
    return {"object": "page",
            "entry": [{"id": page_id, "time": 1763733780, "changes": [{"field": "feed", "value": v} for v in values]}]}


def feed_comment(comment_id="1234567890123_9876543210", *, message="Your app charged me twice for one booking!",
                 sender=("5021773457912345", "Jane Doe"), parent_id=None, verb="add", **fields) -> dict:
    post_id = f"{PAGE_ID}_1234567890123"
    value = {
        "from": {"id": sender[0], "name": sender[1]},
        "post": {"status_type": "added_photos", "is_published": True, "updated_time": "2025-11-21T14:02:58+0000",
                 "permalink_url": f"https://www.facebook.com/{post_id}", "promotion_status": "inactive",
                 "id": post_id},
        "message": message,
        "post_id": post_id,
        "comment_id": comment_id,
        "created_time": 1763733780,
        "item": "comment",
        "parent_id": parent_id or post_id,
        "verb": verb,
    }
    value.update(fields)
    return value


def feed_post(post_id=f"{PAGE_ID}_5550001", message="Still waiting for my refund, 3 weeks now.", item="status",
              sender=("5021773457912345", "Jane Doe")) -> dict:
    return {"from": {"id": sender[0], "name": sender[1]}, "message": message, "post_id": post_id,
            "created_time": 1763733000, "item": item, "published": 1, "verb": "add"}


def instagram_comments(*values, account_id=IG_ACCOUNT_ID) -> dict:
    return {"object": "instagram",
            "entry": [{"id": account_id, "time": 1763733900,
                       "changes": [{"field": "comments", "value": v} for v in values]}]}


def ig_comment(comment_id="17865799348089039", text="@acme where is my order?? 😡", sender=("232323232", "jane.d"),
               parent_id=None) -> dict:
    value = {"from": {"id": sender[0], "username": sender[1]},
             "media": {"id": "18023345989012587", "media_product_type": "FEED"},
             "id": comment_id, "text": text}
    if parent_id:
        value["parent_id"] = parent_id
    return value


def test_verification_echoes_the_challenge(meta_app):
    _, client = meta_app

    response = client.get("/webhooks/meta", query_string={
        "hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"})

    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert response.get_data(as_text=True) == "1158201444"


@pytest.mark.parametrize(
    "query",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1158201444"},
        {"hub.mode": "subscribe", "hub.challenge": "1158201444"},
        {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"},
        {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN},
    ],
    ids=["wrong-token", "no-token", "wrong-mode", "no-challenge"],
)
def test_verification_is_refused_otherwise(meta_app, query):
    _, client = meta_app

    response = client.get("/webhooks/meta", query_string=query)

    assert response.status_code == 403
    assert "1158201444" not in response.get_data(as_text=True)


def test_meta_is_not_found_without_settings(client):
    query = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"}
    assert client.get("/webhooks/meta", query_string=query).status_code == 404
    assert post(client, page_feed(feed_comment())).status_code == 404


@pytest.mark.parametrize(
    "headers",
    [
        lambda body: {},
        lambda body: {meta.SIGNATURE_HEADER: hub_signature("another-app-secret", body)},
        lambda body: {meta.SIGNATURE_HEADER: hub_signature(APP_SECRET, body + b"\n")},
        lambda body: {meta.SIGNATURE_HEADER: "sha1=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha1).hexdigest()},
    ],
    ids=["missing", "other-secret", "other-body", "sha1-only"],
)
def test_bad_signature_is_refused(meta_app, headers):
    settings, client = meta_app
    body = json.dumps(page_feed(feed_comment())).encode()

    response = client.post("/webhooks/meta", data=body, headers={"Content-Type": "application/json", **headers(body)})

    assert response.status_code == 401
    assert meta.SIGNATURE_HEADER in response.get_json()["error"]
    assert stored(settings) == []


def test_a_page_comment_is_stored(meta_app):
    settings, client = meta_app

    response = post(client, page_feed(feed_comment()))

    assert response.status_code == 200
    assert response.get_json() == {"accepted": 1, "duplicates": 0}
    [row] = stored(settings)
    assert (row.source, row.external_id, row.direction) == ("facebook", "1234567890123_9876543210", "inbound")
    assert (row.author_id, row.author_name) == ("5021773457912345", "Jane Doe")
    assert row.text == "Your app charged me twice for one booking!"
    assert iso(row.created_at) == "2025-11-21T14:03:00Z"
    assert row.conversation_id == f"{PAGE_ID}_1234567890123"
    assert row.in_reply_to == f"{PAGE_ID}_1234567890123"
    assert row.url == f"https://www.facebook.com/{PAGE_ID}_1234567890123"


def test_a_visitor_post_is_stored(meta_app):
    settings, client = meta_app

    post(client, page_feed(feed_post(), feed_post(f"{PAGE_ID}_5550002", "Booking lost", item="post")))

    first, second = stored(settings)
    assert (first.external_id, first.text, first.in_reply_to) == (
        f"{PAGE_ID}_5550001", "Still waiting for my refund, 3 weeks now.", None)
    assert iso(first.created_at) == "2025-11-21T13:50:00Z"
    assert second.external_id == f"{PAGE_ID}_5550002"


def test_the_pages_own_reply_is_outbound(meta_app):
    settings, client = meta_app
    customer = feed_comment("1234567890123_111")
    answer = feed_comment("1234567890123_222", message="We're sorry, Jane. We've sent you a message.",
                          sender=(PAGE_ID, "Acme"), parent_id="1234567890123_111")

    response = post(client, page_feed(customer, answer))

    assert response.get_json() == {"accepted": 2, "duplicates": 0}
    inbound, outbound = stored(settings)
    assert inbound.direction == "inbound"
    assert (outbound.direction, outbound.in_reply_to, outbound.author_id) == ("outbound", "1234567890123_111", PAGE_ID)


def test_an_instagram_comment_is_stored(meta_app):
    settings, client = meta_app

    response = post(client, instagram_comments(ig_comment()))

    assert response.get_json() == {"accepted": 1, "duplicates": 0}
    [row] = stored(settings)
    assert (row.source, row.external_id, row.direction) == ("instagram", "17865799348089039", "inbound")
    assert (row.author_id, row.author_handle, row.text) == ("232323232", "@jane.d", "@acme where is my order?? 😡")
    assert row.conversation_id == "18023345989012587"
    assert iso(row.created_at) == "2025-11-21T14:05:00Z"
    assert row.extra == {"account_id": IG_ACCOUNT_ID, "media_product_type": "FEED"}


def test_the_instagram_accounts_own_reply_is_outbound(meta_app):
    settings, client = meta_app
    answer = ig_comment("17865799348089040", "@jane.d so sorry, check your DMs", sender=(IG_ACCOUNT_ID, "acme"),
                        parent_id="17865799348089039")

    post(client, instagram_comments(ig_comment(), answer))

    inbound, outbound = stored(settings)
    assert inbound.direction == "inbound"
    assert (outbound.direction, outbound.in_reply_to) == ("outbound", "17865799348089039")


@pytest.mark.parametrize(
    "payload",
    [
        page_feed(feed_comment(verb="remove")),
        page_feed(feed_comment(verb="hide")),
        page_feed({"item": "reaction", "verb": "add", "reaction_type": "angry", "post_id": "1_2",
                   "from": {"id": "5", "name": "Jane"}, "created_time": 1763733780}),
        page_feed({"item": "like", "verb": "add", "post_id": "1_2", "from": {"id": "5"}, "created_time": 1}),
        page_feed(feed_comment(message=None, photo="https://scontent.xx.fbcdn.net/sticker.png")),
        {"object": "page", "entry": [{"id": PAGE_ID, "time": 1, "changes": [
            {"field": "ratings", "value": {"item": "rating", "verb": "add", "review_text": "meh"}}]}]},
        {"object": "page", "entry": [{"id": PAGE_ID, "time": 1458692752478, "messaging": [
            {"sender": {"id": "1"}, "recipient": {"id": PAGE_ID}, "message": {"mid": "m", "text": "hi"}}]}]},
        {"object": "instagram", "entry": [{"id": IG_ACCOUNT_ID, "time": 1, "changes": [
            {"field": "mentions", "value": {"media_id": "1", "comment_id": "2"}}]}]},
        {"object": "user", "entry": [{"id": "1", "time": 1, "changes": [{"field": "feed", "value": {}}]}]},
    ],
    ids=["removed", "hidden", "reaction", "like", "sticker-only", "other-field", "messenger", "ig-mentions", "user"],
)
def test_other_changes_are_acknowledged_and_ignored(meta_app, payload):
    settings, client = meta_app

    response = post(client, payload)

    assert response.status_code == 200
    assert response.get_json() == {"accepted": 0, "duplicates": 0}
    assert stored(settings) == []


def test_an_edited_comment_is_a_duplicate_of_the_original(meta_app):
    settings, client = meta_app
    post(client, page_feed(feed_comment()))

    response = post(client, page_feed(feed_comment(verb="edited", message="edited: charged twice!")))

    assert response.get_json() == {"accepted": 0, "duplicates": 1}
    assert len(stored(settings)) == 1


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"object": "page", "entry": {"id": PAGE_ID}}, "entry"),
        ({"object": "page", "entry": ["x"]}, "entry[0]"),
        ({"object": "page", "entry": [{"time": 1, "changes": []}]}, "entry[0].id"),
        ({"object": "page", "entry": [{"id": PAGE_ID, "changes": {"field": "feed"}}]}, "entry[0].changes"),
        ({"object": "page", "entry": [{"id": PAGE_ID, "changes": [{"field": "feed", "value": "x"}]}]},
         "entry[0].changes[0].value"),
        (page_feed(feed_comment(**{"from": None})), "entry[0].changes[0].value.from.id"),
        (page_feed(feed_comment(comment_id=None)), "entry[0].changes[0].value.comment_id"),
        (page_feed(feed_comment(created_time="yesterday")), "entry[0].changes[0].value.created_time"),
        (page_feed(feed_comment(created_time=10**20)), "entry[0].changes[0].value.created_time"),
        (instagram_comments({"text": "hi", "from": {"id": "1"}}), "entry[0].changes[0].value.id"),
        (page_feed(feed_comment(), page_id="1" * 256), "entry[0].id"),
        (page_feed(feed_comment("9" * 300)), "entry[0].changes[0].value.comment_id"),
        (page_feed(feed_comment(post_id="8" * 300)), "entry[0].changes[0].value.post_id"),
        (page_feed(feed_comment(parent_id="7" * 300)), "entry[0].changes[0].value.parent_id"),
        (page_feed(feed_comment(sender=("6" * 300, "Jane"))), "entry[0].changes[0].value.from.id"),
        (instagram_comments(ig_comment("5" * 300)), "entry[0].changes[0].value.id"),
        (instagram_comments(ig_comment(parent_id="4" * 300)), "entry[0].changes[0].value.parent_id"),
        (instagram_comments(ig_comment(sender=("3" * 300, "jane"))), "entry[0].changes[0].value.from.id"),
        (instagram_comments(ig_comment(sender=("232323232", "j" * 300))), "entry[0].changes[0].value.from.username"),
        (instagram_comments({**ig_comment(), "media": {"id": "2" * 300}}), "entry[0].changes[0].value.media.id"),
    ],
)
def test_malformed_payloads_are_refused_with_the_field(meta_app, payload, field):
    settings, client = meta_app

    response = post(client, payload)

    assert response.status_code == 400
    assert response.get_json()["field"] == field
    assert stored(settings) == []


def test_a_long_display_name_is_cut_to_its_column_not_refused(meta_app):
    settings, client = meta_app

    response = post(client, page_feed(feed_comment(sender=("5021773457912345", "J" * 254 + "😀" + "e" * 45))))

    assert response.status_code == 200
    [row] = stored(settings)
    assert row.author_name == "J" * 254 + "😀"


def test_comment_text_is_plain_and_kept_exactly_as_sent(meta_app):
    settings, client = meta_app
    typed = "I <3 you & A &amp; B &lt;not an entity to Meta&gt;"

    post(client, page_feed(feed_comment(message=typed)))
    post(client, instagram_comments(ig_comment(text=typed)))

    assert [row.text for row in stored(settings)] == [typed, typed]


@pytest.mark.parametrize("body", [b"", b"null", b"[]", b"{", b'{"object": "page", "entry": [' * 20_000])
def test_bad_bodies_are_4xx(meta_app, body):
    _, client = meta_app
    headers = {"Content-Type": "application/json", meta.SIGNATURE_HEADER: hub_signature(APP_SECRET, body)}

    response = client.post("/webhooks/meta", data=body, headers=headers)

    assert response.status_code == 400
