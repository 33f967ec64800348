"""Webhook receivers: X, Meta and the generic signed webhook. Thin: the
adapters under integrations/platforms verify and parse."""

import logging
import time

from flask import Blueprint, abort, current_app, jsonify, request

from core.timeutil import utcnow
from integrations.platforms import generic, meta, x
from integrations.platforms.mention import PayloadError, SignatureError, storable
from service import jsonbody
from service.errors import ApiError
from service.intake import accept, expect_mentions, no_more_mentions
from store.db import transaction
from tickets import erasure

log = logging.getLogger(__name__)

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
bp.teardown_request(no_more_mentions)


@bp.before_request
def _announce():
    if request.method == "POST":
        expect_mentions()


def _settings():
    return current_app.config["SETTINGS"]


def _load_json(body: bytes):
    if request.mimetype != "application/json":
        raise ApiError(415, "the body must be JSON (Content-Type: application/json)")
    return jsonbody.load(body)


def _accepted(mentions, status: int):
    mentions = _checked(storable, mentions)
    saved = accept(mentions) if mentions else None
    accepted = len(saved.ids) if saved else 0
    duplicates = saved.duplicates if saved else 0
    return jsonify(accepted=accepted, duplicates=duplicates), status


def _erase_deleted(posts: list[tuple[str, str]]) -> None:
    """Deletions are applied in the request (an indexed lookup and a few updates), after the
    mentions of the same payload are stored, so a post created and deleted in one payload ends
    erased. A failure answers 503, so that the platform delivers the deletion again."""
    if not posts:
        return
    try:
        with transaction(_settings().database_url) as session:
            erasure.erase_deleted_posts(session, posts, utcnow())
    except Exception:
        log.exception("could not apply platform deletions", extra={"posts": len(posts)})
        raise ApiError(503, "deletions could not be applied now; deliver them again") from None


def _checked(check, *args):
    try:
        return check(*args)
    except SignatureError as error:
        raise ApiError(401, str(error)) from None
    except PayloadError as error:
        raise ApiError(400, f"{error.field} {error.message}", field=error.field) from None


@bp.post("/generic")
def generic_webhook():
    body = request.get_data(cache=True)
    _checked(
        generic.verify,
        _settings().webhook_secret,
        request.headers.get("X-Earshot-Timestamp"),
        request.headers.get("X-Earshot-Signature"),
        body,
        time.time(),
    )
    mentions = _checked(generic.parse, _load_json(body))
    return _accepted(mentions, 202)


def _x_secrets():
    settings = _settings()
    if not (settings.x_consumer_secret or settings.x_oauth2_client_secret):
        abort(404)
    return settings.x_consumer_secret, settings.x_oauth2_client_secret


@bp.get("/x")
def x_crc():
    consumer, oauth2 = _x_secrets()
    token = request.args.get("crc_token", "")
    if not token:
        raise ApiError(400, "crc_token is required", field="crc_token")
    if not x.is_crc_token(token):
        # Anything else could be a body to forge: the answer is the signature of the token.
        raise ApiError(400, "crc_token must be up to 128 characters of base64 or a UUID", field="crc_token")
    return jsonify(response_token=x.crc_response_token(token, consumer, oauth2))


@bp.post("/x")
def x_webhook():
    consumer, oauth2 = _x_secrets()
    body = request.get_data(cache=True)
    _checked(x.verify, body, request.headers, consumer, oauth2)
    payload = _load_json(body)
    mentions = _checked(x.parse, payload)
    answer = _accepted(mentions, 200)
    _erase_deleted(x.deletions(payload))
    return answer


def _meta_settings():
    settings = _settings()
    if not (settings.meta_app_secret and settings.meta_verify_token):
        abort(404)
    return settings


@bp.get("/meta")
def meta_subscribe():
    settings = _meta_settings()
    challenge = meta.verify_subscription(
        request.args.get("hub.mode"),
        request.args.get("hub.verify_token"),
        request.args.get("hub.challenge"),
        settings.meta_verify_token,
    )
    if challenge is None:
        raise ApiError(403, "hub.verify_token does not match")
    return challenge, 200, {"Content-Type": "text/plain"}


@bp.post("/meta")
def meta_webhook():
    settings = _meta_settings()
    body = request.get_data(cache=True)
    _checked(meta.verify, body, request.headers.get("X-Hub-Signature-256"), settings.meta_app_secret)
    payload = _load_json(body)
    mentions = _checked(meta.parse, payload)
    answer = _accepted(mentions, 200)
    _erase_deleted(meta.deletions(payload))
    return answer
