"""Risk signals: phrases that make a mention critical whatever its tone. Pure functions, no model.

Patterns are regular expressions matched case-insensitively with word boundaries. A match is
dropped when a negation ("no", "not", "never", "n't", "without", ...) stands among the few words
just before it within the same clause ("no fraud here", "nobody was hurt", "wasn't hacked").
Patterns that are themselves negative ("didn't authorise", "never arrived") carry the negation
inside the match and are not affected.
"""

from __future__ import annotations

import re

DEFAULT_SIGNALS: dict[str, tuple[str, ...]] = {
    "safety risk": (
        r"injur(y|ies|ed)|bleeding|hurt (me|my|him|her|them|us|himself|herself|myself)",
        r"(ended up|taken|rushed|admitted) (in|to) (the )?hospital|emergency room|ambulance",
        r"poison(ed|ing)|allergic reaction|choking hazard|(shard|piece)s? of (glass|metal)",
        r"(caught|catching|on) fire|burst into flames|fire hazard",
        r"explod(ed|es|ing)|electric(al)? shock|electrocut\w*|gas leak|carbon monoxide",
        r"unsafe|dangerous|hazardous|(safety|health) (hazard|risk|issue)",
        r"stranded (alone|overnight|with (my|a) (baby|child|kid))",
    ),
    "legal threat": (
        r"lawyers?|attorneys?|solicitors?|law ?suits?|su(e|ing)|legal action",
        r"take (you|this) to court|small claims|class action|ombudsman",
        r"report(ing|ed)? (you|this|it) to (the )?"
        r"(bbb|ftc|cfpb|fca|cma|fcc|attorney general|regulator)",
    ),
    "fraud / account takeover": (
        r"fraud(ulent|ster)?|scam(med|mer|mers)?|phishing|identity theft",
        r"hack(ed|er|ers)|account (was |got |has been )?(compromised|taken over|hijacked)",
        r"unauthori[sz]ed (charge|payment|transaction|access|login|purchase|withdrawal)s?",
        r"(didn't|did not|never) authori[sz]e|someone (else )?(logged|got) into my account",
        r"(stolen|cloned) (card|account|identity)|changed my (password|email) without",
    ),
    "money taken": (
        r"(double|twice|over)[- ]?(charged|billed)",
        r"charged (me |my (credit |debit )?(card|account) )?(twice|two times|again|double)",
        r"(want|need|give me) (my|our) money back",
        r"(took|taken|deducted|debited|withdrew|charged( me)?) [$£€]\s?\d+",
        r"(took|taken|stole|stolen|deducted|debited|withdrawn|keeping) (all )?(my|our|the) "
        r"(money|funds|cash|payment|deposit|savings)",
        r"(money|funds|payment|deposit) (was |has been |got )?"
        r"(taken|deducted|debited|gone|vanished|missing)",
        r"no refund|refund (still |has )?(not|never|hasn't|didn't|isn't)|chargeback",
        r"(where is|still waiting for) my (refund|money)",
    ),
    "service down": (
        r"outage",
        r"(site|app|website|service|servers?|system|platform|network|checkout|payments?|login"
        r"|portal) (is |are |has been |have been |went |been |seems )?(down|offline)",
        r"down (for|since) (hours|days|everyone|all|the whole|\d+)",
        r"(nobody|no one|everyone) can('t| not) (log ?in|pay|access|connect|order)",
        r"(error|status) (code )?(500|502|503|504)|(500|502|503|504) (error|bad gateway)",
    ),
    "time-critical": (
        r"(flight|train|bus|ferry|appointment|surgery|wedding|interview|exam|check-?in"
        r"|boarding|departure|connection)\b[^.!?]{0,40}\b(today|tonight|right now"
        r"|this (morning|afternoon|evening)|tomorrow morning"
        r"|in (an?|\d+|few|a few) (hour|hr|min|minute)s?)",
        r"(miss(ing|ed)?|about to miss|going to miss) (my|our|the) "
        r"(flight|train|connection|appointment|surgery|interview)",
        r"(stranded|stuck) at (the )?(airport|station|gate)|boarding (now|in \d+)|gate closes",
    ),
}

_NEGATORS = re.compile(
    r"\b(no|not|never|nothing|nobody|none|without|neither|nor|zero)\b|n't\b|\bno one\b",
    re.IGNORECASE,
)
# A clause break or a contrast ends the reach of a negation ("not sure, but I was scammed").
_CLAUSE_BREAK = re.compile(r"[.!?;,:]|\b(?:but|however|yet|although|though)\b", re.IGNORECASE)

CompiledSignals = tuple[tuple[str, re.Pattern], ...]


def phrase_pattern(phrase: str) -> str:
    """A plain keyword from the config, as a whole-word pattern with flexible spacing."""
    return r"\s+".join(re.escape(word) for word in phrase.split())


def compile_signals(
    extra: dict[str, list[str]] | None = None, disabled: tuple[str, ...] = ()
) -> CompiledSignals:
    """Built-in patterns minus ``disabled`` signals, plus config keywords (new names allowed)."""
    merged: dict[str, list[str]] = {
        name: list(patterns) for name, patterns in DEFAULT_SIGNALS.items() if name not in disabled
    }
    for name, phrases in (extra or {}).items():
        merged.setdefault(name, []).extend(phrase_pattern(p) for p in phrases)
    return tuple(
        (name, re.compile(r"\b(?:" + "|".join(patterns) + r")\b", re.IGNORECASE))
        for name, patterns in merged.items()
        if patterns
    )


# How far back a negation is looked for, in characters: a few words, never the whole text
# (splitting all of it before every match made a long repetitive mention quadratic).
LOOK_BACK_PER_WORD = 32


def is_negated(text: str, start: int, window: int) -> bool:
    """Whether one of the ``window`` words before ``start``, in the same clause, negates.
    Reads at most ``window * LOOK_BACK_PER_WORD`` characters, whatever the text's length."""
    if window <= 0:
        return False
    reach = text[max(0, start - window * LOOK_BACK_PER_WORD) : start]
    before = _CLAUSE_BREAK.split(reach)[-1]
    return bool(_NEGATORS.search(" ".join(before.split()[-window:])))


def find_signals(text: str, compiled: CompiledSignals, negation_window: int = 3) -> list[str]:
    found = []
    for name, pattern in compiled:
        if any(not is_negated(text, m.start(), negation_window) for m in pattern.finditer(text)):
            found.append(name)
    return found
