"""Property tests of the payload parsers and signature checks: whatever a stranger
sends, they raise PayloadError or SignatureError (which the views turn into a
4xx), never anything else; and a correctly signed body always verifies."""

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from integrations.platforms import generic, meta, x
from integrations.platforms.mention import IncomingMention, PayloadError, SignatureError
from integrations.platforms.text import expand_links, unescape_x
from integrations.slack import signature as slack_signature

SECRET = "fuzz-secret-0123456789"
NOW = 1_800_000_000.0
BOUNDED = settings(max_examples=150, deadline=None)

# JSON-shaped values, biased towards the keys the parsers read.
KEYS = st.sampled_from([
    "id", "source", "direction", "author", "text", "created_at", "url", "in_reply_to", "conversation_id",
    "brand", "language", "followers", "handle", "name", "mentions", "tweet_create_events", "for_user_id",
    "user", "id_str", "screen_name", "followers_count", "extended_tweet", "full_text", "truncated", "lang",
    "retweeted_status", "object", "entry", "changes", "field", "value", "item", "verb", "message", "from",
    "post_id", "comment_id", "parent_id", "created_time", "time", "media", "username", "entities", "urls",
    "url", "expanded_url",
]) | st.text(max_size=8)  # fmt: skip
SCALARS = (
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=40)
    | st.sampled_from(["x", "facebook", "inbound", "outbound", "page", "instagram", "feed", "comments", "comment",
                       "add", "2026-11-21T14:03:00Z", "Wed Oct 10 20:19:24 +0000 2018", "9999-12-31T23:59:59-23:59",
                       "Mon Jan 01 00:00:00 +2359 0001", "Fri Dec 31 23:59:59 -2359 9999", "&amp;lt;3 &gt;",
                       "https://t.co/abc", "\x00", "  "])
)  # fmt: skip
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=6),
                    max_leaves=25)  # fmt: skip


def _valid_generic(draw_text: str, created) -> dict:
    return {"id": "tw-1", "source": "x", "author": {"id": "u1"}, "text": draw_text, "created_at": created}


def _parses_or_refuses(parse, payload) -> None:
    try:
        mentions = parse(payload)
    except PayloadError as error:
        assert error.field and error.message
        return
    assert isinstance(mentions, list)
    assert all(isinstance(m, IncomingMention) and m.text.strip() for m in mentions)


@BOUNDED
@given(JSON)
def test_generic_parser_refuses_only_with_payload_error(payload):
    _parses_or_refuses(generic.parse, payload)


@BOUNDED
@given(st.text(max_size=300), st.one_of(st.none(), st.text(max_size=40), st.integers(), st.floats()))
def test_generic_parser_on_nearly_valid_mentions(text, created):
    _parses_or_refuses(generic.parse, _valid_generic(text, created))
    _parses_or_refuses(generic.parse, {"mentions": [_valid_generic(text, created)] * 2})


@BOUNDED
@given(JSON, st.sampled_from([None, "1", 7, True]))
def test_x_parser_refuses_only_with_payload_error(events, brand):
    _parses_or_refuses(x.parse, events)
    _parses_or_refuses(x.parse, {"for_user_id": brand, "tweet_create_events": [events]})


@BOUNDED
@given(st.sampled_from(["Mon Jan 01 00:00:00 +2359 0001", "Fri Dec 31 23:59:59 -2359 9999",
                        "Sat Jan 01 00:00:00 +0001 0001", "Fri Dec 31 23:59:59 -0001 9999"]),
       st.text(max_size=40))  # fmt: skip
def test_x_parser_at_the_year_limits(created_at, words):
    event = {"id_str": "1", "user": {"id_str": "2"}, "text": words or "x", "created_at": created_at}
    _parses_or_refuses(x.parse, {"for_user_id": "3", "tweet_create_events": [event]})


def _escaped_by_x(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@BOUNDED
@given(st.text(alphabet=st.sampled_from("&<>;amplgtq #") | st.characters(), max_size=80))
def test_x_text_decodes_back_to_exactly_what_was_written(written):
    assert unescape_x(_escaped_by_x(written)) == written


@BOUNDED
@given(st.text(max_size=200), JSON)
def test_link_expansion_takes_any_entities(text, urls):
    assert isinstance(expand_links(text, urls), str)
    assert isinstance(expand_links(text, [{"url": "https://t.co/a", "expanded_url": urls}]), str)


@BOUNDED
@given(JSON, st.sampled_from(["page", "instagram"]), st.sampled_from(["feed", "comments", "x"]))
def test_meta_parser_refuses_only_with_payload_error(value, kind, field):
    _parses_or_refuses(meta.parse, value)
    entry = {"id": "p1", "time": 1_700_000_000, "changes": [{"field": field, "value": value}]}
    _parses_or_refuses(meta.parse, {"object": kind, "entry": [entry]})


HEADER_VALUES = st.none() | st.text(max_size=80) | st.sampled_from(["", " ", "v1=", "sha256=", str(int(NOW)), "1e9",
                                                                     "-1", "99999999999999999999999"])  # fmt: skip


@BOUNDED
@given(st.binary(max_size=2048), HEADER_VALUES, HEADER_VALUES)
def test_timestamped_signatures_refuse_only_with_signature_error(body, timestamp, signed):
    for verify in (generic.verify, slack_signature.verify):
        try:
            verify(SECRET, timestamp, signed, body, NOW)
        except SignatureError as error:
            assert str(error)
        else:  # only a correct signature passes
            correct = (generic.sign(SECRET, timestamp, body), slack_signature.sign(SECRET, timestamp, body))
            assert signed.strip() in correct


@BOUNDED
@given(st.binary(max_size=2048), HEADER_VALUES, HEADER_VALUES)
def test_platform_signatures_refuse_only_with_signature_error(body, given_x, given_meta):
    headers = {x.OAUTH2_HEADER: given_x, x.LEGACY_HEADER: given_meta}
    for check in (lambda: x.verify(body, headers, SECRET, SECRET), lambda: meta.verify(body, given_meta, SECRET)):
        try:
            check()
        except SignatureError as error:
            assert str(error)


@BOUNDED
@given(st.binary(max_size=4096), st.integers(min_value=-400, max_value=400))
def test_a_correct_signature_verifies_within_the_window_only(body, skew):
    timestamp = int(NOW) + skew
    for module in (generic, slack_signature):
        signed = module.sign(SECRET, timestamp, body)
        try:
            module.verify(SECRET, str(timestamp), signed, body, NOW)
            assert abs(skew) <= 300
        except SignatureError:
            assert abs(skew) > 300
        if body:  # one flipped byte breaks it
            tampered = bytes([body[0] ^ 1]) + body[1:]
            try:
                module.verify(SECRET, str(timestamp), signed, tampered, NOW)
                raise AssertionError("a tampered body verified")
            except SignatureError:
                pass
    x.verify(body, {x.OAUTH2_HEADER: x.signature(SECRET, body)}, None, SECRET)
    meta.verify(body, "sha256=" + generic.hex_signature(SECRET, body), SECRET)


@BOUNDED
@given(JSON, st.sampled_from(["utf-8", "utf-16", "utf-32", "latin-1"]))
def test_encodings_other_than_utf8_are_refused_by_json_not_by_a_crash(payload, encoding):
    # The views decode with json.loads(bytes); what it refuses becomes a 400.
    raw = json.dumps(payload, ensure_ascii=False).encode(encoding, errors="replace")
    try:
        decoded = json.loads(raw)
    except ValueError:
        return
    _parses_or_refuses(generic.parse, decoded)
