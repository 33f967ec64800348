"""Every refusal is JSON with a clear message; nothing ever shows a traceback."""

import logging

from flask import jsonify
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from ingest.wire import WriterUnavailable

log = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(self, status: int, message: str, **details):
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details


def _api_error(error: ApiError):
    return jsonify(error=error.message, **error.details), error.status


def _http_error(error: HTTPException):
    messages = {413: "the body is larger than 1 MiB"}
    message = messages.get(error.code, error.description or error.name)
    response = jsonify(error=message)
    response.status_code = error.code or 500
    if error.code == 405 and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


def _storage_down(error: OperationalError | TimeoutError | WriterUnavailable):
    # The platform retries on 503; nothing was acknowledged, so nothing is lost
    # (a write that still lands after a timeout is absorbed as a duplicate).
    log.error("storage unavailable", extra={"error": type(getattr(error, "orig", error)).__name__})
    return jsonify(error="storage is unavailable; retry later"), 503, {"Retry-After": "5"}


def _unexpected(error: Exception):
    log.exception("unhandled error")
    return jsonify(error="internal error; the request was logged"), 500


def init_app(app) -> None:
    app.register_error_handler(ApiError, _api_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(OperationalError, _storage_down)
    app.register_error_handler(TimeoutError, _storage_down)
    app.register_error_handler(WriterUnavailable, _storage_down)
    app.register_error_handler(Exception, _unexpected)
