"""Customer text made inert for Slack: escaped (`&`, `<`, `>`) and cut to a block's limit.

Kept apart from the message builders (integrations.slack.blocks) so that the modals, which the
action registry names, can use it without an import cycle through the registry.
"""

SECTION_LIMIT = 3000
TRUNCATED = "… (truncated; full text in Earshot)"


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def fit(raw: str, limit: int = SECTION_LIMIT) -> str:
    """Escape `raw` and cut it so the escaped text, marker included, stays within `limit`."""
    escaped = escape(raw)
    if len(escaped) <= limit:
        return escaped
    budget = limit - len(TRUNCATED)
    pieces, used = [], 0
    for char in raw:  # cut on whole characters, never inside an entity such as &amp;
        piece = escape(char)
        if used + len(piece) > budget:
            break
        pieces.append(piece)
        used += len(piece)
    return "".join(pieces) + TRUNCATED
