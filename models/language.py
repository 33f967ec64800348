"""Which language a mention is written in, offline (py3langid ships its model): the heads were
trained on English, so a mention in another language is not scored but shown to a human."""

from __future__ import annotations

import threading

from models.text import normalize

# Below these, short or mixed posts ("lol", "ok thx", a name and an emoji) are too often called
# some other language; they are scored as English, as before.
MIN_CONFIDENCE = 0.9
MIN_WORDS = 3
_identifier = None
_loading = threading.Lock()


def _identify(text: str) -> tuple[str, float]:
    global _identifier
    with _loading:
        if _identifier is None:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier

            _identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    language, confidence = _identifier.classify(text)
    return language, float(confidence)


def unscored_language(text: str) -> str | None:
    """The language code of a post the model cannot read (not English, said with confidence), else None."""
    return unscored_words(normalize(text))


def unscored_words(words: str) -> str | None:
    """``unscored_language`` of a text already normalised (``models.text.normalize``)."""
    if len(words.split()) < MIN_WORDS:
        return None
    language, confidence = _identify(words)
    return language if language != "en" and confidence >= MIN_CONFIDENCE else None


def platform_language_unscored(language: str | None) -> str | None:
    """The platform's own language tag (X's `lang`), when it names a language other than English."""
    if not language:
        return None
    code = language.lower().split("-")[0]
    return None if code in ("en", "und", "zxx", "qme", "qht", "qam") else code
