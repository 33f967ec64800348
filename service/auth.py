"""Who may look: bearer tokens for /api/v1, a login session for /dashboard.

Both accept the tokens of EARSHOT_API_TOKENS; with none configured, everything
is refused. The dashboard's cookie holds a fingerprint of the token, never the
token, and is signed with a key derived from the secrets: rotating the tokens
logs everyone out.
"""

import hashlib
import hmac
import secrets
from datetime import timedelta

from flask import abort, current_app, g, jsonify, request, session
from flask.sessions import SecureCookieSessionInterface

from core.settings import split_api_token

SESSION_LIFETIME = timedelta(hours=12)
_BEARER = "bearer "


def _named_tokens() -> tuple[tuple[str, str], ...]:
    return tuple(split_api_token(entry) for entry in current_app.config["SETTINGS"].api_tokens)


def _tokens() -> tuple[str, ...]:
    return tuple(token for _, token in _named_tokens())


def token_name(candidate: str) -> str | None:
    """The name of the token `candidate` is (see core.settings.split_api_token), None when it is
    none; compared with every token in constant time."""
    found = None
    for name, token in _named_tokens():
        if hmac.compare_digest(candidate.encode(), token.encode()):
            found = name
    return found


def _fingerprint(token: str) -> str:
    return hashlib.sha256(b"earshot-dashboard:" + token.encode()).hexdigest()


def valid_token(candidate: str) -> bool:
    """Compared with every token in constant time, so the answer's timing tells nothing."""
    matched = False
    for token in _tokens():
        matched |= hmac.compare_digest(candidate.encode(), token.encode())
    return matched


def _refuse(message: str):
    response = jsonify(error=message)
    response.status_code = 401
    response.headers["WWW-Authenticate"] = 'Bearer realm="earshot"'
    return response


def bearer_refusal():
    """For API requests: None when `Authorization: Bearer <token>` names a valid token, else the 401 answer."""
    if not _tokens():
        return _refuse("the API is disabled: EARSHOT_API_TOKENS is not set")
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith(_BEARER):
        return _refuse("missing bearer token: send 'Authorization: Bearer <token>'")
    name = token_name(header[len(_BEARER) :].strip())
    if name is None:
        return _refuse("invalid token")
    g.api_actor = name  # who does what through the API, as recorded in ticket events and erasures
    return None


def api_actor() -> str:
    return getattr(g, "api_actor", None) or "api"


def logged_in() -> bool:
    held = session.get("who")
    if not isinstance(held, str):
        return False
    matched = False
    for token in _tokens():
        matched |= hmac.compare_digest(held, _fingerprint(token))
    return matched


def log_in(token: str) -> bool:
    if not valid_token(token):
        return False
    session.clear()  # a fresh session (and CSRF token) after login: no session fixation
    session["who"] = _fingerprint(token)
    session["csrf"] = secrets.token_urlsafe(32)
    session.permanent = True
    return True


def log_out() -> None:
    session.clear()


def csrf_token() -> str:
    if not isinstance(session.get("csrf"), str):
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def check_csrf() -> None:
    """Every form that changes state carries the session's CSRF token."""
    expected = session.get("csrf")
    given = request.form.get("csrf_token", "")
    if not isinstance(expected, str) or not hmac.compare_digest(given.encode(), expected.encode()):
        abort(400, description="the form expired or did not come from this site; reload the page and retry")


class DashboardSessions(SecureCookieSessionInterface):
    """The login session belongs to /dashboard. Webhooks, Slack and the API carry their own
    credentials, so they skip building the cookie's signer on every request."""

    def open_session(self, app, request):
        if not request.path.startswith("/dashboard"):
            return self.make_null_session(app)
        return super().open_session(app, request)


def configure_sessions(app) -> None:
    app.session_interface = DashboardSessions()
    settings = app.config["SETTINGS"]
    if not app.secret_key:
        material = "\n".join((settings.webhook_secret, settings.slack_signing_secret, *settings.api_tokens))
        app.secret_key = hmac.new(material.encode(), b"earshot dashboard sessions", hashlib.sha256).hexdigest()
    app.config.update(
        SESSION_COOKIE_NAME="earshot_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
    )
