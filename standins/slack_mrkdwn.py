"""Slack markup (mrkdwn) to safe HTML, for the Slack stand-in's page.

Slack-escaped text is unescaped and then HTML-escaped, so a customer's
`&lt;!channel&gt;` shows as the harmless text it is; only Earshot's own
`<…>` tokens become mentions, dates and links.
"""

import html
import re

from markupsafe import Markup

_TOKEN = re.compile(r"<([^<>]*)>")
_BOLD = re.compile(r"\*([^*\n]+)\*")


def _unslack(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _plain(text: str) -> str:
    escaped = html.escape(_unslack(text))
    return _BOLD.sub(r"<b>\1</b>", escaped).replace("\n", "<br>")


def _token(token: str) -> str:
    target, _, label = token.partition("|")
    if target.startswith("@"):
        return f'<span class="mention">@{html.escape(target[1:])}</span>'
    if target.startswith("!date^"):
        return f'<span class="date">{html.escape(_unslack(label))}</span>'
    if target.startswith("!"):
        return f'<span class="broadcast">@{html.escape(target[1:])}</span>'
    if target.startswith("#"):
        return f'<span class="mention">#{html.escape(label or target[1:])}</span>'
    if target.startswith(("http://", "https://")):
        href = html.escape(_unslack(target), quote=True)
        return f'<a href="{href}" rel="noopener noreferrer">{html.escape(_unslack(label or target))}</a>'
    return html.escape(f"<{_unslack(token)}>")


def mrkdwn(text: str | None) -> Markup:
    text = text or ""
    parts, position = [], 0
    for match in _TOKEN.finditer(text):
        parts.append(_plain(text[position : match.start()]))
        parts.append(_token(match.group(1)))
        position = match.end()
    parts.append(_plain(text[position:]))
    return Markup("".join(parts))
