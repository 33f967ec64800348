"""Replies on Facebook and Instagram through the Graph API, as the Page.

Facebook: `POST /{comment-id}/comments` with `message`; Instagram: `POST /{ig-comment-id}/replies`
with `message`. The Page access token goes in the Authorization header, never in a URL.
Graph errors are read by their code, not only their HTTP status: throttling (4, 17, 32, 613,
80001…) comes back as 400 or 403, and `is_transient` or codes 1 and 2 may follow a post that took
effect. `find_sent` lists the same edge for a reply from the Page (or the Instagram account) with
the same message; the account ids come from settings or, once, from `GET /me`.
"""

import json
import logging
import time
import unicodedata
from urllib.parse import quote

import requests

from integrations.platforms.replies.config import ReplyConfig
from integrations.platforms.replies.outcome import Ambiguous, Failed, OutboundReply, Retry, SendResult, Sent
from integrations.platforms.replies.transport import BearerAuth, Transport, finish, json_body

log = logging.getLogger(__name__)
MAX_PAGES = 10
THROTTLED = {4, 17, 32, 341, 613, 80001, 80002, 80004, 80005, 80006, 80008}
TRANSIENT = {1, 2}
TEMPORARY_BLOCK = 368


def comparable(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def _graph_error(response: requests.Response) -> dict:
    body = json_body(response)
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def _regain_seconds(headers) -> float | None:
    """`estimated_time_to_regain_access` (minutes) of X-Business-Use-Case-Usage, in seconds."""
    try:
        usage = json.loads(headers.get("X-Business-Use-Case-Usage", ""))
    except ValueError:
        return None
    minutes = [entry.get("estimated_time_to_regain_access") for entries in usage.values() if isinstance(entries, list)
               for entry in entries if isinstance(entry, dict)]  # fmt: skip
    minutes = [value for value in minutes if isinstance(value, int | float)]
    return max(minutes) * 60.0 if minutes else None


class GraphReplyClient:
    """The Graph API edge of one platform; see FacebookReplyClient and InstagramReplyClient."""

    source = ""
    platform = ""
    edge = ""
    text_field = ""  # what the listed replies call their text
    lookup_fields = ""

    def __init__(self, config: ReplyConfig, http: requests.Session | None = None, clock=time.time):
        self.config = config
        self.transport = Transport(self.platform, config, http, clock)
        self.auth = BearerAuth(config.meta_page_access_token)
        self.account_id = self._configured_account()

    def _configured_account(self) -> str | None:
        raise NotImplementedError

    def _account_from(self, me: dict) -> str | None:
        raise NotImplementedError

    def send(self, reply: OutboundReply) -> SendResult:
        url = f"{self.config.meta_graph_url}{quote(reply.in_reply_to, safe='')}/{self.edge}"
        try:
            response = self.transport.request("POST", url, data={"message": reply.text}, auth=self.auth)
        except requests.RequestException as error:
            return finish(log, reply, self.transport.unanswered(error))
        if 200 <= response.status_code < 300:
            reply_id = (json_body(response) or {}).get("id")
            result = Sent(str(reply_id)) if reply_id else Ambiguous(self.transport.reason("2xx without an id"))
            return finish(log, reply, result)
        return finish(log, reply, self._failure(response))

    def _failure(self, response: requests.Response) -> SendResult:
        error = _graph_error(response)
        code = error.get("code")
        detail = f"(code {code}) {str(error.get('message', ''))[:120]}" if code is not None else ""
        if code in THROTTLED or response.status_code == 429:
            wait = _regain_seconds(response.headers)
            after = self.transport.retry_after(response.headers) if wait is None else min(
                max(wait, 1.0), self.config.max_retry_after)  # fmt: skip
            return Retry(after, self.transport.reason(f"rate limited {detail}"))
        if code in TRANSIENT or error.get("is_transient") is True or response.status_code >= 500:
            return Ambiguous(self.transport.reason(f"HTTP {response.status_code} {detail}"))
        if code == TEMPORARY_BLOCK:
            return Failed(self.transport.reason(f"temporarily blocked {detail}"), permanent=False)
        if code is not None:
            return Failed(self.transport.reason(f"refused (HTTP {response.status_code}) {detail}"))
        return self.transport.by_status(response, "")

    def find_sent(self, reply: OutboundReply) -> str | None:
        account, wanted = self._account(), comparable(reply.text)
        url = f"{self.config.meta_graph_url}{quote(reply.in_reply_to, safe='')}/{self.edge}"
        params = {"fields": self.lookup_fields, "limit": 100}
        for _ in range(MAX_PAGES):
            page = self._get(url, params)
            for item in page.get("data") or []:
                author = item.get("from") if isinstance(item.get("from"), dict) else {}
                if str(author.get("id")) == account and comparable(str(item.get(self.text_field, ""))) == wanted:
                    return str(item["id"])
            after = ((page.get("paging") or {}).get("cursors") or {}).get("after")
            if not after or not (page.get("paging") or {}).get("next"):
                return None
            params["after"] = after  # the cursor, not `paging.next`: that URL carries the token
        return None

    def _account(self) -> str:
        if self.account_id is None:
            me = self._get(self.config.meta_graph_url + "me", {"fields": "id,instagram_business_account"})
            self.account_id = self._account_from(me)
            if self.account_id is None:
                raise self.transport.lookup_failed(status=200)
        return self.account_id

    def _get(self, url: str, params: dict) -> dict:
        try:
            response = self.transport.request("GET", url, params=params, auth=self.auth)
        except requests.RequestException as error:
            raise self.transport.lookup_failed(error) from None
        body = json_body(response)
        if response.status_code != 200 or not isinstance(body, dict):
            failure = self._failure(response)
            after = failure.after_seconds if isinstance(failure, Retry) else 60.0
            raise self.transport.lookup_failed(status=response.status_code, after=after)
        return body

    def close(self) -> None:
        self.transport.http.close()


class FacebookReplyClient(GraphReplyClient):
    source, platform, edge, text_field = "facebook", "Facebook", "comments", "message"
    lookup_fields = "id,message,from,created_time"

    def _configured_account(self):
        return self.config.meta_page_id

    def _account_from(self, me):
        return str(me["id"]) if me.get("id") else None


class InstagramReplyClient(GraphReplyClient):
    source, platform, edge, text_field = "instagram", "Instagram", "replies", "text"
    lookup_fields = "id,text,from,username,timestamp"

    def _configured_account(self):
        return self.config.instagram_account_id

    def _account_from(self, me):
        account = me.get("instagram_business_account") or {}
        return str(account["id"]) if isinstance(account, dict) and account.get("id") else None
