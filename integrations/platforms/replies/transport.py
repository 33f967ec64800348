"""HTTP for the reply clients: one session with short timeouts, and what a failure of the
network or an HTTP status means for a post (sent, retry later, ambiguous, failed).

Reasons are short, name the platform and status, and pass through `Redactor`, so that no
credential reaches a log line, a stored reason or an exception's text.
"""

import email.utils
import time

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

from integrations.platforms.replies.config import ReplyConfig
from integrations.platforms.replies.outcome import Ambiguous, Failed, LookupFailed, Retry, Sent

REASON_LENGTH = 200
DEFAULT_RETRY_AFTER = 60.0
NOT_SENT_RETRY_AFTER = 30.0
_NOT_SENT = (NewConnectionError, ConnectTimeoutError, NameResolutionError)
# X: the 15-minute window, and the 24-hour posting caps; a reset counts while its remaining is 0.
_RESET_HEADERS = (("x-rate-limit-reset", "x-rate-limit-remaining"),
                  ("x-user-limit-24hour-reset", "x-user-limit-24hour-remaining"),
                  ("x-app-limit-24hour-reset", "x-app-limit-24hour-remaining"))  # fmt: skip


class Redactor:
    """Replaces every configured credential in a text."""

    def __init__(self, secrets):
        self.secrets = sorted({secret for secret in secrets if secret}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "[redacted]")
        return text


def session() -> requests.Session:
    """A session that never retries by itself: a silent retry of a POST could post twice."""
    http = requests.Session()
    adapter = HTTPAdapter(max_retries=0)
    http.mount("http://", adapter)
    http.mount("https://", adapter)
    return http


class BearerAuth(requests.auth.AuthBase):
    """A bearer token (X user token, Meta Page token) in the Authorization header; its repr hides it."""

    def __init__(self, token: str):
        self._token = token

    def __call__(self, request):
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self):
        return "BearerAuth([redacted])"


class Transport:
    """Requests to one platform, with the configured timeouts and redaction."""

    def __init__(self, platform: str, config: ReplyConfig, http: requests.Session | None = None, clock=time.time):
        self.platform = platform
        self.config = config
        self.http = http or session()
        self.clock = clock
        self.redact = Redactor(config.secrets())

    def request(self, method: str, url: str, **kwargs) -> requests.Response:
        """The response; raises requests.RequestException on a network failure."""
        timeout = (self.config.connect_timeout, self.config.read_timeout)
        return self.http.request(method, url, timeout=timeout, allow_redirects=False, **kwargs)

    def reason(self, text: str) -> str:
        return self.redact(f"{self.platform}: {text}")[:REASON_LENGTH]

    def unanswered(self, error: requests.RequestException) -> Retry | Ambiguous:
        """A post that got no HTTP answer: never sent (retry), or sent and unanswered (ambiguous)."""
        if not_sent(error):
            return Retry(NOT_SENT_RETRY_AFTER, self.reason(f"could not connect ({type(error).__name__})"))
        if isinstance(error, requests.Timeout):
            return Ambiguous(self.reason(f"no answer within {self.config.read_timeout:g} s"))
        return Ambiguous(self.reason(f"the connection failed after sending ({type(error).__name__})"))

    def lookup_failed(self, error: requests.RequestException | None = None, status: int | None = None,
                      after: float = DEFAULT_RETRY_AFTER) -> LookupFailed:  # fmt: skip
        what = f"HTTP {status}" if status is not None else type(error).__name__
        return LookupFailed(self.reason(f"could not look up earlier replies ({what})"), after)

    def by_status(self, response: requests.Response, detail: str) -> Retry | Ambiguous | Failed:
        """The meaning of a non-2xx answer by its status alone."""
        status = response.status_code
        if status == 429:
            return Retry(self.retry_after(response.headers), self.reason(f"rate limited (429) {detail}".strip()))
        if status == 408:
            return Retry(NOT_SENT_RETRY_AFTER, self.reason("the server timed out reading the request (408)"))
        if status >= 500:
            return Ambiguous(self.reason(f"HTTP {status} {detail}".strip()))
        return Failed(self.reason(f"refused (HTTP {status}) {detail}".strip()))

    def retry_after(self, headers, default: float = DEFAULT_RETRY_AFTER) -> float:
        """Seconds to wait, from X's reset headers (epoch seconds) or `Retry-After`, capped."""
        now = self.clock()
        waits = [int(headers[reset]) - now for reset, remaining in _RESET_HEADERS
                 if headers.get(reset, "").isdigit() and headers.get(remaining, "0") == "0"]  # fmt: skip
        retry = headers.get("Retry-After", "").strip()
        if retry.isdigit():
            waits.append(float(retry))
        elif retry:
            try:
                waits.append(email.utils.parsedate_to_datetime(retry).timestamp() - now)
            except (TypeError, ValueError):
                pass  # an unreadable Retry-After: the default wait
        wait = max(waits) if waits else default
        return float(min(max(wait, 1.0), self.config.max_retry_after))


def not_sent(error: requests.RequestException) -> bool:
    """True when the request cannot have reached the server: the connection was never made."""
    if isinstance(error, requests.ConnectTimeout):
        return True
    if not isinstance(error, requests.ConnectionError) or isinstance(error, requests.ReadTimeout):
        return False
    cause = error.args[0] if error.args else None
    reason = getattr(cause, "reason", cause)
    return isinstance(reason, _NOT_SENT)


def json_body(response: requests.Response):
    """The parsed JSON of a response, or None when it is not JSON."""
    try:
        return response.json()
    except ValueError:
        return None


def finish(logger, reply, result):
    """Log how a send ended (never the text or a credential) and return the result."""
    fields = {"ticket_id": reply.ticket_id, "source": reply.source, "outcome": type(result).__name__.lower()}
    if isinstance(result, Sent):
        logger.info("reply posted", extra={**fields, "external_id": result.external_id})
    else:
        logger.warning("reply not posted: %s", result.reason, extra=fields)
    return result
