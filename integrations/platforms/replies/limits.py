"""How long a reply may be on each platform, and how each platform counts it.

X counts weighted characters (twitter-text v3): after NFC normalization, a code point in
U+0000–U+10FF, U+2000–U+200D, U+2010–U+201F or U+2032–U+2037 weighs 1, any other 2; an emoji
sequence (one grapheme: flags, keycaps, ZWJ families, skin tones) weighs 2 as a whole; every URL
weighs 23 whatever its length. Limit 280. URLs are found as twitter-text finds them, less its full
TLD list: a URL with `http(s)://`, or a bare domain ending in a common generic TLD or any
two-letter country TLD. X has the last word at posting time; its refusal comes back as a failure.

Facebook comments allow 8,000 characters, Instagram comments 2,200, other platforms (the reply
webhook) 10,000.
"""

import unicodedata

import regex

X_LIMIT = 280
X_URL_WEIGHT = 23
LIMITS = {"x": X_LIMIT, "facebook": 8000, "instagram": 2200}
OTHER_LIMIT = 10000
_LIGHT_RANGES = ((0x0000, 0x10FF), (0x2000, 0x200D), (0x2010, 0x201F), (0x2032, 0x2037))
_LINE_ENDINGS = regex.compile(r"\r\n|\r")
_EMOJI = regex.compile(r"[\p{Emoji_Presentation}\p{Regional_Indicator}\u20E3\uFE0F]")
_GRAPHEME = regex.compile(r"\X")
_GENERIC_TLDS = ("com|net|org|edu|gov|mil|int|info|biz|name|pro|mobi|app|dev|page|blog|shop|store|online|site|"
                 "tech|news|live|cloud|link|club|xyz|top|company|email|support|help")  # fmt: skip
_URL = regex.compile(
    r"(?<![\w@＠#$/.\-])(?:"
    r"https?://[\w\-]+(?:\.[\w\-]+)+"  # with a protocol: any domain with a dot
    r"|(?:[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?\.)+(?:" + _GENERIC_TLDS + r"|[a-z]{2})(?![\w\-])"  # bare: known TLDs
    r")(?::\d{1,5})?(?:[/?#]\S*)?",
    regex.IGNORECASE,
)
_URL_TRAILING = ".,!?:;'\")]}…"


def url_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each URL in `text`, trailing punctuation left out, as twitter-text does."""
    spans = []
    for match in _URL.finditer(text):
        url = match.group(0)
        if "(" not in url:
            url = url.rstrip(_URL_TRAILING)
        spans.append((match.start(), match.start() + len(url)))
    return spans


def _light(code_point: int) -> bool:
    return any(low <= code_point <= high for low, high in _LIGHT_RANGES)


def _weigh(chunk: str) -> int:
    total = 0
    for cluster in _GRAPHEME.findall(chunk):
        if _EMOJI.search(cluster):
            total += 2
        else:
            total += sum(1 if _light(ord(char)) else 2 for char in cluster)
    return total


def normalized(text: str) -> str:
    """The text as X counts and stores it: NFC, line endings as `\\n`."""
    return _LINE_ENDINGS.sub("\n", unicodedata.normalize("NFC", text))


def x_weighted_length(text: str) -> int:
    text = normalized(text)
    total, position = 0, 0
    for start, end in url_spans(text):
        total += _weigh(text[position:start]) + X_URL_WEIGHT
        position = end
    return total + _weigh(text[position:])


def limit_for(source: str) -> int:
    return LIMITS.get(source, OTHER_LIMIT)


def length_for(source: str, text: str) -> int:
    """The length the platform of `source` compares with its limit."""
    if source == "x":
        return x_weighted_length(text)
    return len(unicodedata.normalize("NFC", text))


def validate(source: str, text: str) -> str | None:
    """Why `text` cannot be posted as a reply on `source`, as one sentence for the agent; None if it can."""
    if not isinstance(text, str) or not text.strip():
        return "Write a reply first: it is empty."
    if "\x00" in text:
        return "The reply contains a NUL character; remove it."
    length, limit = length_for(source, text), limit_for(source)
    if length <= limit:
        return None
    if source == "x":
        return (f"The reply counts {length} of X's {limit} characters (emoji and most non-Latin characters "
                f"count 2, each link {X_URL_WEIGHT}); shorten it by {length - limit}.")  # fmt: skip
    return f"The reply is {length} characters long; {source} allows {limit}. Shorten it by {length - limit}."
