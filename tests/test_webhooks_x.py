"""GET/POST /webhooks/x: the CRC challenge and signatures as X documents them,
and Account Activity `tweet_create_events` stored as mentions."""

import base64
import hashlib
import hmac
import json

import pytest
from sqlalchemy import select

from core.timeutil import iso
from integrations.platforms import x
from integrations.platforms.mention import PayloadError
from service import create_app
from store.db import session_for
from store.schema import Mention, Ticket, TicketEvent
from tests.conftest import make_settings, run_jobs
from workers import queues

CONSUMER_SECRET = "x-consumer-secret-0123456789"
OAUTH2_SECRET = "x-oauth2-client-secret-0123456789"
BRAND_ID = "3001969357"


def x_signature(secret: str, message: bytes) -> str:
    """As X's guide computes it: base64 of HMAC-SHA256 keyed by the secret, prefixed `sha256=`."""
    digest = hmac.new(secret.encode("utf-8"), msg=message, digestmod=hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode("ascii")


def make_client(database_url, redis_url, app_config, **secrets):
    settings = make_settings(database_url, redis_url, **secrets)
    return settings, create_app(settings, app_config).test_client()


@pytest.fixture
def both(database_url, redis_url, app_config):
    return make_client(database_url, redis_url, app_config,
                       x_consumer_secret=CONSUMER_SECRET, x_oauth2_client_secret=OAUTH2_SECRET)


@pytest.fixture
def consumer_only(database_url, redis_url, app_config):
    return make_client(database_url, redis_url, app_config, x_consumer_secret=CONSUMER_SECRET)


def tweet(tweet_id="1050118621198921728", text="@acme my booking vanished and your phone line is down",
          user_id="6253282", screen_name="jane", **fields):
    """A tweet object as Account Activity delivers it (API v1.1 shape)."""
    payload = {
        "created_at": "Wed Oct 10 20:19:24 +0000 2018",
        "id": int(tweet_id),
        "id_str": tweet_id,
        "text": text,
        "source": '<a href="https://mobile.twitter.com" rel="nofollow">Twitter Web App</a>',
        "truncated": False,
        "in_reply_to_status_id": None,
        "in_reply_to_status_id_str": None,
        "in_reply_to_user_id": None,
        "in_reply_to_user_id_str": None,
        "in_reply_to_screen_name": None,
        "user": {
            "id": int(user_id),
            "id_str": user_id,
            "name": "Jane Doe",
            "screen_name": screen_name,
            "location": "Chicago",
            "followers_count": 1200,
            "friends_count": 300,
            "verified": False,
            "created_at": "Wed May 23 06:01:13 +0000 2007",
        },
        "geo": None,
        "place": None,
        "quote_count": 0,
        "reply_count": 0,
        "retweet_count": 0,
        "favorite_count": 0,
        "entities": {"hashtags": [], "urls": [], "user_mentions": [
            {"screen_name": "acme", "name": "Acme", "id": int(BRAND_ID), "id_str": BRAND_ID, "indices": [0, 5]}
        ], "symbols": []},
        "favorited": False,
        "retweeted": False,
        "filter_level": "low",
        "lang": "en",
        "timestamp_ms": "1539202764000",
    }
    payload.update(fields)
    return payload


def activity(*tweets, **fields) -> dict:
    return {"for_user_id": BRAND_ID, "user_has_blocked": False, "tweet_create_events": list(tweets), **fields}


def post(client, payload, secret=OAUTH2_SECRET, header=x.OAUTH2_HEADER):
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", header: x_signature(secret, body)}
    return client.post("/webhooks/x", data=body, headers=headers)


def stored(settings) -> list[Mention]:
    with session_for(settings.database_url) as session:
        return list(session.scalars(select(Mention).order_by(Mention.id)))


def test_crc_uses_the_oauth2_client_secret_when_the_app_has_one(both):
    _, client = both

    response = client.get("/webhooks/x?crc_token=ZTQ0YjNmZGQtMWY1MC00")

    assert response.status_code == 200
    assert response.get_json() == {"response_token": x_signature(OAUTH2_SECRET, b"ZTQ0YjNmZGQtMWY1MC00")}


def test_crc_uses_the_consumer_secret_for_an_oauth1_app(consumer_only):
    _, client = consumer_only

    response = client.get("/webhooks/x", query_string={"crc_token": "challenge+with/odd=chars"})

    assert response.get_json() == {"response_token": x_signature(CONSUMER_SECRET, b"challenge+with/odd=chars")}


def test_crc_without_a_token_is_refused(both):
    _, client = both

    response = client.get("/webhooks/x")

    assert response.status_code == 400
    assert response.get_json()["field"] == "crc_token"


def test_x_is_not_found_without_secrets(client):
    assert client.get("/webhooks/x?crc_token=abc").status_code == 404
    assert post(client, activity(tweet())).status_code == 404


def test_signed_with_the_oauth2_header(both):
    settings, client = both

    response = post(client, activity(tweet()))

    assert response.status_code == 200
    assert response.get_json() == {"accepted": 1, "duplicates": 0}
    [row] = stored(settings)
    assert (row.source, row.external_id, row.direction) == ("x", "1050118621198921728", "inbound")


def test_signed_with_the_legacy_header(consumer_only):
    settings, client = consumer_only

    response = post(client, activity(tweet()), secret=CONSUMER_SECRET, header=x.LEGACY_HEADER)

    assert response.status_code == 200
    assert len(stored(settings)) == 1


def test_the_oauth2_header_is_checked_first(both):
    settings, client = both
    body = json.dumps(activity(tweet())).encode()
    good_legacy = x_signature(CONSUMER_SECRET, body)

    forged = client.post("/webhooks/x", data=body, headers={
        "Content-Type": "application/json", x.OAUTH2_HEADER: "sha256=" + "A" * 43 + "=", x.LEGACY_HEADER: good_legacy})
    both_good = client.post("/webhooks/x", data=body, headers={
        "Content-Type": "application/json", x.OAUTH2_HEADER: x_signature(OAUTH2_SECRET, body),
        x.LEGACY_HEADER: good_legacy})

    assert forged.status_code == 401
    assert x.OAUTH2_HEADER in forged.get_json()["error"]
    assert both_good.status_code == 200


def test_the_oauth2_header_is_skipped_when_only_the_consumer_secret_is_set(consumer_only):
    _, client = consumer_only
    body = json.dumps(activity(tweet())).encode()

    response = client.post("/webhooks/x", data=body, headers={
        "Content-Type": "application/json", x.OAUTH2_HEADER: "sha256=unknowable",
        x.LEGACY_HEADER: x_signature(CONSUMER_SECRET, body)})

    assert response.status_code == 200


@pytest.mark.parametrize(
    "secret, header",
    [
        (CONSUMER_SECRET, x.OAUTH2_HEADER),
        (OAUTH2_SECRET, x.LEGACY_HEADER),
        ("someone-else", x.OAUTH2_HEADER),
        (OAUTH2_SECRET, "X-Some-Other-Signature"),
    ],
)
def test_bad_or_missing_signature_is_refused(both, secret, header):
    settings, client = both

    response = post(client, activity(tweet()), secret=secret, header=header)

    assert response.status_code == 401
    assert response.get_json()["error"]
    assert stored(settings) == []


def test_a_tweet_is_stored_with_its_author_time_and_link(both):
    settings, client = both
    reply = tweet(in_reply_to_status_id=1049000000000000000, in_reply_to_status_id_str="1049000000000000000",
                  in_reply_to_user_id_str=BRAND_ID, in_reply_to_screen_name="acme")

    assert post(client, activity(reply)).status_code == 200

    [row] = stored(settings)
    assert (row.author_id, row.author_handle, row.author_name, row.author_followers) == (
        "6253282", "@jane", "Jane Doe", 1200)
    assert row.text == "@acme my booking vanished and your phone line is down"
    assert iso(row.created_at) == "2018-10-10T20:19:24Z"
    assert row.url == "https://x.com/jane/status/1050118621198921728"
    assert row.in_reply_to == "1049000000000000000"
    assert row.language == "en"
    assert row.extra == {"for_user_id": BRAND_ID, "user_has_blocked": False}


def test_a_long_tweet_keeps_its_full_text(both):
    settings, client = both
    full = "@acme " + "I have been waiting on hold for three hours and nobody answers. " * 4
    long_tweet = tweet(text=full[:137] + "…", truncated=True,
                       extended_tweet={"full_text": full, "display_text_range": [0, len(full)]})

    post(client, activity(long_tweet))

    assert stored(settings)[0].text == full


def test_the_brands_own_reply_is_outbound(both):
    settings, client = both
    customer = tweet("1050118621198921728")
    answer = tweet("1050118621198921999", text="@jane so sorry! Please DM us your booking number.",
                   user_id=BRAND_ID, screen_name="acme", in_reply_to_status_id_str="1050118621198921728",
                   in_reply_to_user_id_str="6253282", in_reply_to_screen_name="jane")

    response = post(client, activity(customer, answer))

    assert response.get_json() == {"accepted": 2, "duplicates": 0}
    inbound, outbound = stored(settings)
    assert inbound.direction == "inbound"
    assert (outbound.direction, outbound.in_reply_to, outbound.author_handle) == (
        "outbound", "1050118621198921728", "@acme")


@pytest.mark.parametrize(
    "payload",
    [
        {"for_user_id": BRAND_ID, "favorite_events": [{"id": "a7ba59eab0bfcba386f7acedac279542",
                                                       "created_at": "Mon Mar 26 16:33:26 +0000 2018",
                                                       "timestamp_ms": 1522082006140}]},
        {"for_user_id": BRAND_ID, "follow_events": [{"type": "follow", "created_timestamp": "1517588749178"}]},
        {"for_user_id": BRAND_ID, "direct_message_indicate_typing_events": [{"created_timestamp": "1518127183443"}]},
        {"for_user_id": BRAND_ID, "tweet_delete_events": [{"status": {"id": "1", "user_id": "2"},
                                                           "timestamp_ms": "1528935091000"}]},
        activity(tweet(retweeted_status=tweet("99"), text="RT @acme: our spring sale is on")),
    ],
    ids=["favorite", "follow", "typing", "delete", "retweet"],
)
def test_other_events_are_acknowledged_and_ignored(both, payload):
    settings, client = both

    response = post(client, payload)

    assert response.status_code == 200
    assert response.get_json() == {"accepted": 0, "duplicates": 0}
    assert stored(settings) == []


def test_a_redelivered_tweet_is_a_duplicate(both):
    settings, client = both
    post(client, activity(tweet()))

    again = post(client, activity(tweet()))

    assert again.status_code == 200
    assert again.get_json() == {"accepted": 0, "duplicates": 1}
    assert len(stored(settings)) == 1


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"tweet_create_events": [tweet()]}, "for_user_id"),
        ({"for_user_id": BRAND_ID, "tweet_create_events": {"id": 1}}, "tweet_create_events"),
        (activity("not a tweet"), "tweet_create_events[0]"),
        (activity(tweet(user=None)), "tweet_create_events[0].user"),
        (activity({k: v for k, v in tweet().items() if k not in ("id", "id_str")}), "tweet_create_events[0].id_str"),
        (activity(tweet(text=None)), "tweet_create_events[0].text"),
        (activity(tweet(created_at="2018-10-10T20:19:24Z")), "tweet_create_events[0].created_at"),
        (activity(tweet(user={"id_str": "1", "followers_count": "many"})),
         "tweet_create_events[0].user.followers_count"),
        (activity(tweet(text="refund\x00please")), "text"),  # no database keeps a NUL in text
        (activity(tweet(created_at="Mon Jan 01 00:00:00 +2359 0001")), "tweet_create_events[0].created_at"),
        (activity(tweet(created_at="Fri Dec 31 23:59:59 -2359 9999")), "tweet_create_events[0].created_at"),
        (activity(tweet(id_str="1" * 256)), "tweet_create_events[0].id_str"),
        (activity(tweet(id_str="12a4")), "tweet_create_events[0].id_str"),
        (activity(tweet(id_str="-5")), "tweet_create_events[0].id_str"),
        (activity(tweet(user_id="9" * 300)), "tweet_create_events[0].user.id_str"),
        (activity(tweet(in_reply_to_status_id_str="7" * 300)), "tweet_create_events[0].in_reply_to_status_id_str"),
        (activity(tweet(conversation_id_str="4" * 300)), "tweet_create_events[0].conversation_id_str"),
        (activity(tweet(screen_name="j" * 300)), "tweet_create_events[0].user.screen_name"),
        (activity(tweet(screen_name="j" * 255)), "tweet_create_events[0].user.screen_name"),  # "@" + 255 is 256
        (activity(tweet(), for_user_id="3" * 300), "for_user_id"),
        (activity(tweet(), for_user_id="acme"), "for_user_id"),
    ],
)
def test_malformed_payloads_are_refused_with_the_field(both, payload, field):
    settings, client = both

    response = post(client, payload)

    assert response.status_code == 400
    assert response.get_json()["field"] == field
    assert stored(settings) == []


def test_a_long_display_name_is_cut_to_its_column_not_refused(both):
    settings, client = both
    long_name = tweet(screen_name="j" * 254)
    long_name["user"]["name"] = "J" * 254 + "😀" + "e" * 45

    assert post(client, activity(long_name)).status_code == 200

    [row] = stored(settings)
    assert row.author_name == "J" * 254 + "😀"
    assert row.author_handle == "@" + "j" * 254


def test_a_brand_reply_with_a_long_handle_is_recorded_within_the_event_actor(both, worker_env):
    settings, client = both
    customer = tweet("1050118621198921728", text="@acme you charged my card twice and my refund is lost")
    answer = tweet("1050118621198921999", text="@jane so sorry, we have refunded you", user_id=BRAND_ID,
                   screen_name="a" * 254, in_reply_to_status_id_str="1050118621198921728")
    post(client, activity(customer))
    run_jobs(settings.redis_url, queues.CLASSIFY)

    post(client, activity(answer))
    run_jobs(settings.redis_url, queues.CLASSIFY)

    with session_for(settings.database_url) as session:
        [ticket] = session.scalars(select(Ticket))
        [event] = session.scalars(select(TicketEvent).filter_by(type="public_reply"))
    assert ticket.status == "responded"
    assert event.actor == ("@" + "a" * 254)[:64]


@pytest.mark.parametrize("body", [b"", b"null", b"[]", b"{", b"[" * 50_000])
def test_bad_bodies_are_4xx(both, body):
    _, client = both
    headers = {"Content-Type": "application/json", x.OAUTH2_HEADER: x_signature(OAUTH2_SECRET, body)}

    response = client.post("/webhooks/x", data=body, headers=headers)

    assert response.status_code == 400


def test_created_at_parsing_ignores_the_locale():
    assert iso(x.parse_created_at("Sun Feb 29 23:59:59 +0130 2032")) == "2032-02-29T22:29:59Z"
    with pytest.raises(ValueError):
        x.parse_created_at("Sun Foo 29 23:59:59 +0000 2032")


@pytest.mark.parametrize("created_at", ["Mon Jan 01 00:00:00 +2359 0001", "Fri Dec 31 23:59:59 -2359 9999"])
def test_created_at_past_the_year_limits_is_a_payload_error(created_at):
    with pytest.raises(PayloadError) as refused:
        x.parse({"for_user_id": BRAND_ID, "tweet_create_events": [tweet(created_at=created_at)]})
    assert refused.value.field == "tweet_create_events[0].created_at"


def test_parse_without_tweets_returns_nothing():
    assert x.parse({"for_user_id": BRAND_ID}) == []
    with pytest.raises(PayloadError):
        x.parse(["not", "an", "object"])
