"""Complaint severity from the model and the wording, after Trosborg (1995) as used by Jin &
Aletras (2021). Pure functions, no torch.

Each level is defined by what the writer does with words, whatever the industry:
- disapproval (2): negative emotion or judgement about the situation or the product;
- accusation (3): asserting, or asking pointedly, that the brand did something wrong;
- blame (4): condemning the brand or its staff outright (insults, "your fault", "scammers").

The severity head learns levels 1-3 well enough from xfincorp, the one rated data set, but its
annotators put "no answer for days" under blame (3 in 4 of its blame tweets are sad, not
condemning; insults there mostly sit under disapproval), so the head's blame does not carry to
other brands. Hence (``decide_severity``):
1. a blame cue makes it 4, and only a blame cue does: without one the head's best of 1-3 stands;
2. an accusation cue raises it to at least 3, a disapproval cue to at least 2.
A cue counts unless a negation stands just before it in its clause ("not a scam"), as for the
risk signals. EVALUATION.md measures the head alone against this.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from models.signals import is_negated

CUES: dict[int, tuple[str, ...]] = {
    2: (  # disapproval
        r"frustrat\w*|disappoint\w*|annoy\w*|upset|angry|furious|livid|fed up|sick (of|and tired)"
        r"|tired of|ridiculous|unacceptable|terrible|awful|horrible|horrendous|appalling|dreadful",
        r"poor (service|quality|experience|support|customer service)|bad (service|experience)"
        r"|worst|garbage|trash|rubbish|sucks|crap\w*|shit\w*|bullshit|f+u+c+k\w*|damn\w*",
        r"not (happy|impressed|ok|okay|acceptable)|so (slow|bad)|really bad|ugh+|smh|wtf|come on",
        r"what a (mess|nightmare|joke|let ?down)|a mess|let ?down|gutted|nightmare|hate (this|it|that)"
        r"|can'?t believe|unbelievable|shocking",
    ),
    3: (  # accusation
        r"you(?: guys)?(?: have| had|'ve)? (charged|overcharged|took|taken|cancell?ed|lied|promised"
        r"|told me|said|sent|lost|broke|damaged|ignored|refused|denied|billed|deducted|changed"
        r"|closed|blocked|stole|kept|messed up|screwed)",
        r"why (did|do|does|would|won'?t|can'?t|haven'?t|didn'?t|hasn'?t|isn'?t|aren'?t|is|are)"
        r" (you|your|it|this|my)|why am i (still )?|how (is|can) (it|this|you)",
        r"false(ly)? advertis\w*|misleading|mislead|lied|lying|broken promise|bait and switch",
        r"(you|your \w+) (claim|claimed|claims|promise|promised|advertised|guaranteed)",
        # The brand (or its staff) as the subject of what went wrong: "you sold me", "your
        # driver cancelled", "you keep taking payment", "you're billing me".
        r"(you|you guys|your \w+)( \w+ly| still| just| then| also)? (\w+ed|sent|sold|took|kept|knew|lost"
        r"|told|said|made|gave|broke|stole|left|let|put|got|shut|cut|threw|wrote|forgot|hid|ate|ran)",
        r"you (keep|kept) \w+ing|you'?re (\w+ing) (me|us|my|our|people|customers)"
        r"|you (clearly |obviously |just )?(don'?t|do not) care|sneaky",
    ),
    4: (  # blame
        r"scam(s|med|mer|mers|ming)?|thie(f|ves)|crooks?|robb(ed|ery|ing)|con artists?|rip-?off"
        r"|ripp(ed|ing) (me |us )?off",
        r"pathetic|useless|incompetent|disgrace\w*|shame on|shameful|disgusting|joke of a|clowns?"
        r"|idiots?|morons?|liars?|criminals?|cheat(s|ers?|ing|ed)?",
        r"(you'?re|you are|you guys are|y'?all are) (the |a )?(worst|joke)"
        r"|worst (company|bank|airline|brand|business|customer service|support|service ever)"
        r"|(you|your (\w+ )?\w+|you guys) (really |seriously )?sucks?",
        r"(your|their|its) fault|(you|they) (are|were) (to blame|responsible)|blame (you|your)"
        r"|(entirely |all |squarely )?on you|your incompetence|(should|ought to) be ashamed"
        r"|(you'?ll|you will) be (held )?responsible|a con",
        r"never (again|buying|using|ordering|flying|shopping)|boycott|do not (buy|use|order)"
        r"|don'?t (buy|use|order|trust)|stay away",
    ),
}
NEGATION_WINDOW = 3
VERSION = "cues-v1"  # part of the model version: a change here changes what the model answers
_COMPILED = {
    level: re.compile(r"\b(?:" + "|".join(patterns) + r")\b", re.IGNORECASE)
    for level, patterns in CUES.items()
}


@dataclass(frozen=True)
class Severity:
    level: int  # 1..4
    cue: str | None  # the phrase that set the level, if wording did


def strongest_cue(text: str) -> tuple[int, str] | None:
    """The highest level whose cue appears un-negated in ``text``, with the phrase found."""
    for level in sorted(_COMPILED, reverse=True):
        for match in _COMPILED[level].finditer(text):
            if not is_negated(text, match.start(), NEGATION_WINDOW):
                return level, match.group(0).lower()
    return None


def decide_severity(head_probabilities, text: str) -> Severity:
    """``head_probabilities``: the severity head's P(level) for levels 1-4, in that order."""
    cue = strongest_cue(text)
    if cue and cue[0] == 4:
        return Severity(4, cue[1])
    level = 1 + max(range(3), key=lambda i: head_probabilities[i])
    if cue and cue[0] > level:
        return Severity(cue[0], cue[1])
    return Severity(level, None)
