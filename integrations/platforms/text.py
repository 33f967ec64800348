"""Platform text as the customer wrote it: X's HTML escaping undone exactly once,
and its t.co links shown as where they lead."""

import re

MAX_LINKS = 50  # a tweet holds a handful; the bound keeps a forged payload cheap
MAX_LINK_LENGTH = 2048
# X escapes only these three, once: `&lt;3` arrives as `&amp;lt;3` and must stay `&lt;3`.
_X_ENTITY = re.compile(r"&(amp|lt|gt);")
_X_CHARACTERS = {"amp": "&", "lt": "<", "gt": ">"}
_SHORT_LINK = re.compile(r"https?://t\.co/[A-Za-z0-9]+")
_WEB_LINK = re.compile(r"https?://\S+", re.IGNORECASE)


def unescape_x(text: str) -> str:
    """`&amp;`, `&lt;` and `&gt;` decoded in one pass, so no decoded `&` starts a second entity."""
    return _X_ENTITY.sub(lambda match: _X_CHARACTERS[match.group(1)], text)


def _link_pairs(urls) -> dict[str, str]:
    """t.co link -> expanded http(s) link, from an X `entities.urls` list; anything else is skipped."""
    pairs = {}
    for item in urls[:MAX_LINKS] if isinstance(urls, list) else ():
        short = item.get("url") if isinstance(item, dict) else None
        expanded = item.get("expanded_url") if isinstance(item, dict) else None
        if not isinstance(short, str) or not _SHORT_LINK.fullmatch(short):
            continue
        if isinstance(expanded, str) and len(expanded) <= MAX_LINK_LENGTH and _WEB_LINK.fullmatch(expanded):
            pairs[short] = expanded
    return pairs


def expand_links(text: str, urls) -> str:
    """Each t.co link of `text` listed in `urls` replaced by its expanded link, in one pass
    (an expansion is never expanded again) and only where the whole t.co link stands."""
    pairs = _link_pairs(urls)
    if not pairs:
        return text
    alternatives = "|".join(re.escape(short) for short in sorted(pairs, key=len, reverse=True))
    return re.sub(f"(?:{alternatives})(?![A-Za-z0-9])", lambda match: pairs[match.group(0)], text)
