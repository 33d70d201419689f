"""The compliance thesaurus: the words a standard uses and the words a plant's procedures use
for the same thing, folded into one concept before a requirement is matched.

A standard says "certify", a procedure "sign off"; a standard "retraining", a procedure
"refresher"; a standard "energy isolating device", a procedure "isolation point". Two
tables, applied in this order by :func:`plantmind.comply.matcher.concepts`:

* :data:`PHRASES`: regular expressions over the raw text, replaced by one canonical word
  (phrases, spellings, hyphenation: "sign-off", "try out", "once a year");
* :data:`STEM_CONCEPTS`: a stem (after the tokenizer's stemming) → its concept stem.

The entries come from general maintenance and EHS vocabulary (lockout/tagout, permits,
training, inspection, contractors, records), not from one standard's or one procedure's
text. An entry folds words that a compliance reviewer would accept as the same obligation;
words that only sometimes mean the same ("check" for "inspect") are left apart, because a
false fold makes a gap look covered.
"""

from __future__ import annotations

import re

__all__ = ["PHRASES", "STEM_CONCEPTS"]

_RAW_PHRASES: tuple[tuple[str, str], ...] = (
    # references and boilerplate that name no concept
    (r"\bparagraphs?\s+(?:\([a-z0-9]{1,4}\))+(?:\s+(?:of|in)\s+this\s+(?:section|part))?", " "),
    (r"(?:\([a-z0-9]{1,4}\)){1,6}", " "),
    (r"\bthis\s+(?:standard|section|part|subpart|document)\b", " "),
    (r"\b(?:as\s+specified\s+in|in\s+accordance\s+with)\b", " "),
    (r"\b(?:but\s+)?not\s+(?:necessarily\s+)?limited\s+to\b", " "),
    (r"\band/or\b", "and"),
    # spellings and compounds
    (r"\bde-?energi[sz]\w*", "deenergize"),
    (r"\bre-?energi[sz]\w*", "reenergize"),
    (r"\b(?:locked|locking|lock)\s*-?\s*out\b", "lockout"),
    (r"\b(?:tagged|tagging|tag)\s*-?\s*out\b", "tagout"),
    (r"\bstart-?ups?\b", "startup"),
    (r"\bre-?train\w*|\brefresher\s+(?:training|course|session)s?\b|\brefreshers?\b", "retrain"),
    (r"\bre-?qualif\w*", "retrain"),
    # certification and sign-off
    (r"\bsign(?:ed|s|ing)?[\s-]*off\b|\bsign-?offs?\b|\bcounter-?sign\w*|\battest\w*", "certify"),
    # time
    (r"\b(?:once\s+(?:a|per|every)\s+(?:calendar\s+)?year|every\s+(?:12|twelve)\s+months|"
     r"yearly|every\s+year|per\s+annum|each\s+(?:calendar\s+)?year)\b", "annually"),
    (r"\b(?:every|each)\s+(?:shift|crew)\s+change\b|\bshift[\s-]*changes?\b", "shift"),
    (r"\bhand-?overs?\b|\bchange-?overs?\b|\bhanded\s+over\b|\bhand\s+over\b", "shift"),
    # people
    (r"\boutside\s+(?:servicing\s+)?(?:personnel|employers?|contractors?|firms?|companies)\b",
     "contractor"),
    (r"\bsub-?contractors?\b|\bvendors?\b|\bthird[\s-]part(?:y|ies)\b", "contractor"),
    (r"\bteam\s+members?\b|\bcrew\s+members?\b", "employee"),
    # energy and isolation
    (r"\bisolation\s+points?\b|\bisolating\s+points?\b|\bisolators?\b", "isolating device"),
    (r"\b(?:try|tried|trying)[\s-]*out\b|\btry-?outs?\b|\bbump[\s-]*test\w*", "verify"),
    (r"\bzero[\s-]*energy\s+(?:check|test|verification)\b", "verify deenergize"),
    (r"\bbleed\w*(?:\s+(?:off|down))?|\bvent(?:ed|ing|s)?\b|\bdissipat\w*", "relieve"),
    (r"\bblock(?:ed|ing)?\s+(?:out|off)\b|\bchock\w*", "block"),
    # records
    (r"\blog\s*books?\b|\blogged\b|\bregisters?\b", "record"),
)  # fmt: skip

#: (compiled pattern, replacement) applied to raw text before tokenizing
PHRASES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p, re.I), r) for p, r in _RAW_PHRASES
)

#: stem → concept stem (after tokenizing)
STEM_CONCEPTS: dict[str, str] = {
    # certification
    "certif": "certifi",
    # use
    "util": "use",
    # notification
    "notif": "notifi",
    "inform": "notifi",
    "advis": "notifi",
    "announc": "notifi",
    "brief": "notifi",
    "communic": "notifi",
    # legibility
    "illeg": "legibl",
    "readabl": "legibl",
    # devices
    "padlock": "lock",
    "lockout": "lock",
    "hasp": "lock",
    "tagout": "tag",
    # people
    "worker": "employe",
    "personnel": "employe",
    "staff": "employe",
    "technician": "employe",
    "craftsperson": "employe",
    "foreman": "supervisor",
    "superintend": "supervisor",
    # energy
    "energ": "energi",
    "power": "energi",
    # training
    "teach": "train",
    # verification
    "confirm": "verifi",
    "verif": "verifi",
    "perfom": "perform",
    "verfic": "verifi",
    # inspection
    "audit": "inspect",
    # documents
    "written": "document",
    "record": "document",
    "form": "document",
    "checklist": "document",
    # misc
    "movement": "move",
    "knowledg": "know",
    "machineri": "machin",
}
