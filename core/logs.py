"""Structured logs: one JSON object per line, with secrets redacted.

Call sites pass context as `extra={"mention_id": ..., "ticket_id": ...}`;
every such key lands in the JSON object. Secrets are redacted from every
string before the object is serialized, so that JSON's escaping of a `"` or
`\\` in a secret cannot hide it from the filter; each is redacted raw and in
the escaped forms a message may already hold it in (`written_forms`).
`mask_url` hides the password of a URL that is to be printed.
"""

import json
import logging
import re
import sys
from urllib.parse import urlsplit

from core.timeutil import utcnow

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
REDACTED = "[redacted]"
_QUERY_PASSWORD = re.compile(r"((?:^|&)password=)[^&]*", re.IGNORECASE)


def written_forms(secret: str) -> set[str]:
    """The secret as a message may hold it: raw; JSON-escaped (a logged JSON body); Python-escaped
    (repr, as in an exception's message), in either quoting."""
    return {secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1], repr(secret)[1:-1],
            repr("\"'" + secret)[4:-1]}  # fmt: skip


class JsonFormatter(logging.Formatter):
    def __init__(self, secrets=()):
        super().__init__()
        # Longest first: of a secret inside another, the longer one goes whole.
        self.secrets = sorted({form for s in secrets if s for form in written_forms(s)}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text

    def _redacted(self, value):
        """`value` as json.dumps(default=str) would write it, each string redacted."""
        if isinstance(value, str):
            return self.redact(value)
        if value is None or isinstance(value, bool | int | float):
            return value
        if isinstance(value, dict):
            return {self.redact(k) if isinstance(k, str) else k: self._redacted(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._redacted(item) for item in value]
        return self.redact(str(value))

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "at": utcnow().isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(self._redacted(entry), default=str, ensure_ascii=False)


def configure_logging(secrets=(), level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("urllib3", "slack_sdk", "rq.worker", "rq.cron", "rq.scheduler", "werkzeug", "alembic"):
        logging.getLogger(noisy).setLevel("WARNING")


def mask_url(url: str | None) -> str | None:
    """The URL with its password shown as `***`, in the user part or a `password=` query parameter
    (redis-py reads both): for start-up messages and logs."""
    if not url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:  # not a URL urlsplit can read: nothing of it is shown
        return "***"
    if parts.password is not None:
        url = url.replace(parts.netloc, f"{parts.username or ''}:***@{parts.netloc.rpartition('@')[2]}", 1)
    if parts.query:
        url = url.replace("?" + parts.query, "?" + _QUERY_PASSWORD.sub(r"\1***", parts.query), 1)
    return url
