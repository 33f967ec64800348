"""Replies on X: `POST /2/tweets` with `reply.in_reply_to_tweet_id`, as the brand account.

Authentication is user context: an OAuth 2.0 user access token (Bearer), or OAuth 1.0a
(requests-oauthlib signs each request). `find_sent` reads the brand's own posts newer than the
customer's (`GET /2/users/:id/tweets?since_id=`) for a reply to that post with the same text,
compared as X shows it: `&`, `<`, `>` HTML-escaped, links replaced by t.co links, and the
@mentions X puts in front of a reply.
"""

import logging
import time

import regex
import requests
from requests_oauthlib import OAuth1

from integrations.platforms.replies.config import ReplyConfig
from integrations.platforms.replies.limits import normalized, url_spans
from integrations.platforms.replies.outcome import Ambiguous, OutboundReply, SendResult, Sent
from integrations.platforms.replies.transport import BearerAuth, Transport, finish, json_body

log = logging.getLogger(__name__)
MAX_PAGES = 32  # 100 posts a page; X serves at most the latest 3,200 of a timeline
_LEADING_MENTIONS = regex.compile(r"^(?:[@＠]\w{1,15}\s+)+")


def _auth(config: ReplyConfig):
    if config.x_user_access_token:
        return BearerAuth(config.x_user_access_token)
    if config.x_oauth1:
        creds = config.x_oauth1
        return OAuth1(creds.consumer_key, creds.consumer_secret, creds.access_token, creds.access_token_secret)
    raise ValueError("X replies need X_USER_ACCESS_TOKEN or the four OAuth 1.0a variables")


def comparable(text: str) -> str:
    """A post's text as both sides of a comparison can agree on it: X's escaping undone, links and
    leading @mentions left out, whitespace collapsed."""
    text = normalized(text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))
    pieces, position = [], 0
    for start, end in url_spans(text):
        pieces += [text[position:start], " <link> "]
        position = end
    text = "".join(pieces) + text[position:]
    return " ".join(_LEADING_MENTIONS.sub("", text.strip()).split())


def _problem(response: requests.Response) -> str:
    """The short explanation of an X error answer (problem+json)."""
    body = json_body(response) or {}
    if not isinstance(body, dict):
        return ""
    errors = body.get("errors") if isinstance(body.get("errors"), list) else []
    detail = body.get("detail") or body.get("title") or (errors[0].get("message") if errors else "")
    return str(detail or "")[:120]


def _replies_to(tweet: dict, tweet_id: str) -> bool:
    return any(ref.get("type") == "replied_to" and str(ref.get("id")) == tweet_id
               for ref in tweet.get("referenced_tweets") or [])  # fmt: skip


class XReplyClient:
    source = "x"

    def __init__(self, config: ReplyConfig, http: requests.Session | None = None, clock=time.time):
        self.config = config
        self.transport = Transport("X", config, http, clock)
        self.auth = _auth(config)
        self.user_id = config.x_user_id

    def send(self, reply: OutboundReply) -> SendResult:
        body = {"text": reply.text, "reply": {"in_reply_to_tweet_id": reply.in_reply_to}}
        try:
            response = self.transport.request("POST", self.config.x_api_url + "tweets", json=body, auth=self.auth)
        except requests.RequestException as error:
            return finish(log, reply, self.transport.unanswered(error))
        if 200 <= response.status_code < 300:
            data = (json_body(response) or {}).get("data") or {}
            result = Sent(str(data["id"])) if data.get("id") else Ambiguous(self.transport.reason("2xx without an id"))
            return finish(log, reply, result)
        return finish(log, reply, self.transport.by_status(response, _problem(response)))

    def find_sent(self, reply: OutboundReply) -> str | None:
        params = {"max_results": 100, "tweet.fields": "referenced_tweets,conversation_id,created_at"}
        if reply.in_reply_to.isdigit():
            params["since_id"] = reply.in_reply_to  # a reply is always newer than its post
        wanted = comparable(reply.text)
        path = f"users/{self._user_id()}/tweets"
        for _ in range(MAX_PAGES):
            page = self._get(path, params)
            for tweet in page.get("data") or []:
                if _replies_to(tweet, reply.in_reply_to) and comparable(str(tweet.get("text", ""))) == wanted:
                    return str(tweet["id"])
            next_token = (page.get("meta") or {}).get("next_token")
            if not next_token:
                return None
            params["pagination_token"] = next_token
        return None

    def _user_id(self) -> str:
        if self.user_id is None:
            data = self._get("users/me", {}).get("data") or {}
            if not data.get("id"):
                raise self.transport.lookup_failed(status=200)
            self.user_id = str(data["id"])
        return self.user_id

    def _get(self, path: str, params: dict) -> dict:
        try:
            response = self.transport.request("GET", self.config.x_api_url + path, params=params, auth=self.auth)
        except requests.RequestException as error:
            raise self.transport.lookup_failed(error) from None
        body = json_body(response)
        if response.status_code != 200 or not isinstance(body, dict):
            after = self.transport.retry_after(response.headers) if response.status_code == 429 else 60.0
            raise self.transport.lookup_failed(status=response.status_code, after=after)
        return body

    def close(self) -> None:
        self.transport.http.close()
