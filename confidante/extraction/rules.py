"""A deterministic, regex-based fact extractor: no model, fast, conservative.

Each rule matches the lead-in of a statement ("I live in", "my sister", "Ana works at"); its
handler reads the object from the rest of the sentence. Questions and hypotheticals yield nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime
from functools import partial
from typing import Any

from confidante.graph.schema import PREDICATES, RELATION_ALIASES, RELATION_WORDS, FactCandidate

Special = Callable[[re.Match[str], str, float, bool], list[FactCandidate]]
Cleaner = Callable[[str], list[str]]
Cut = re.Pattern[str] | None
Facts = list[FactCandidate]
Match = re.Match[str]

# -------- word lists. A list starts with its NAME; "word=canon" maps an alias, "_" is a space.
_LIST_TEXT = """
STOP a an the i my mine we our your he his she they their its and or but then also just not no yes
  ok okay well oh hey hi hello thanks thank please sorry now today tonight tomorrow yesterday still
  really very too quite pretty kind sort going doing trying feeling getting looking thinking working
  living planning learning having being fine good great happy sad tired glad excited sure done ready
  busy home free single married pregnant retired alive back new old young sick ill bored hungry
  afraid scared worried proud lucky alone always never currently actually honestly basically
  literally definitely probably finally recently anyway btw lol to of like as if each every two
  three everyone everybody someone somebody nobody anyone people friend monday tuesday wednesday
  thursday friday saturday sunday january february march july september october november december
  god american british portuguese brazilian canadian australian scottish mexican indian african
  european asian latino latina arab catholic muslim jewish buddhist hindu atheist gay straight trans
LANGUAGES english portuguese spanish french german italian chinese mandarin cantonese japanese
  korean russian arabic hindi urdu bengali punjabi dutch swedish norwegian danish finnish polish
  czech greek turkish hebrew persian farsi swahili vietnamese thai indonesian malay tagalog
  ukrainian romanian hungarian catalan basque galician irish welsh latin esperanto serbian croatian
VAGUE_FIRST it that this these those them you him her me us myself yourself what how when why who
  where which there here so whatever with in at on for from by around along outside together about
  over into your yours i i'm is was are were thought
VAGUE one ones something anything everything nothing stuff things thing lot much all both some any
  none home work night nights weekends
TO_REJECT think say know believe hear see imagine help ask thank mention remind share talk chat
  point add admit tell be have get do
JOBS engineer developer programmer nurse teacher doctor physician surgeon dentist designer student
  lawyer attorney manager writer author artist chef cook accountant architect scientist researcher
  professor lecturer journalist photographer musician pharmacist therapist psychologist consultant
  analyst mechanic electrician plumber carpenter firefighter officer pilot driver farmer waiter
  waitress barista cashier librarian veterinarian vet paramedic secretary translator editor
  producer entrepreneur freelancer counselor counsellor intern receptionist technician
POSSESSIONS car house apartment flat bike bicycle motorbike motorcycle scooter boat piano guitar
  violin laptop computer camera cabin cottage truck van garden farm yacht kayak drone
SPECIES dog puppy=dog cat kitten=cat rabbit bunny=rabbit guinea_pig hamster parrot budgie bird fish
  turtle tortoise horse snake lizard ferret gecko
DIETS vegetarian vegan pescatarian pescetarian=pescatarian keto gluten-free gluten_free=gluten-free
  plant-based
"""
_LISTS = {
    name: [w.replace("_", " ") for w in words.split()]
    for name, words in re.findall(r"^([A-Z_]+)\s((?:.|\n(?![A-Z]))*)", _LIST_TEXT, re.MULTILINE)
}


def _aliases(name: str) -> dict[str, str]:
    """List ``name`` as a mapping: ``"puppy=dog"`` maps "puppy" to "dog", "cat" maps to itself."""
    if name.lower() in RELATION_ALIASES:  # PARTNER, FAMILY, FRIEND: the graph's own words
        return RELATION_ALIASES[name.lower()]
    pairs = [w.partition("=") for w in _LISTS[name]]
    return {word: canon or word for word, _, canon in pairs}


_STOP, _LANGUAGES, _VAGUE_FIRST, _VAGUE_MORE, _TO_REJECT, _POSSESSIONS = (
    frozenset(_LISTS[n]) for n in "STOP LANGUAGES VAGUE_FIRST VAGUE TO_REJECT POSSESSIONS".split()
)
_VAGUE = _VAGUE_FIRST | _VAGUE_MORE
_SPECIES, _DIETS = _aliases("SPECIES"), _aliases("DIETS")


_NOT_NAMES = _STOP | _LANGUAGES | _VAGUE | set(RELATION_WORDS) | set(_DIETS)


def _alt(words: Iterable[str]) -> str:
    """A regex alternation of ``words``, longest first, spaces matching any whitespace."""
    items = sorted(set(words), key=len, reverse=True)
    return "(?:" + "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in items) + ")"


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


# -------- regex fragments
_CAP = r"(?-i:[A-ZÀ-ÖØ-Þ])"
_CAPWORD = _CAP + r"[\w-]*"
_REF = re.compile(r"<(=?)([A-Z][A-Z0-9_]*)>")
# Building blocks of the rule table: NAME, then its pattern; <NAME> refers to an earlier one.
_FRAGMENT_TABLE = r"""
MORE     honestly|especially|currently|now|recently|finally|kind\s+of|kinda|sort\s+of|do|even
ADV      (?:(?:really|also|absolutely|just|totally|truly|still|actually|definitely|<MORE>)\s+)*
I        \bI\s+<ADV>
IC       (?:\bI|(?P<cont>\band))\s+<ADV>
ICV      (?:\bI|(?P<cont>\band))(?:'ve|\s+have)?\s+<ADV>
IM       \bI(?:'m|\s+am)\s+<ADV>
IVE      \bI(?:'ve|\s+have)\s+<ADV>
DONT     \bI\s+(?:don't|dont|do\s+not)\s+<ADV>
NOMORE   \bI\s+(?:no\s+longer|don't|dont|do\s+not|used\s+to)\s+
HAVE     \bI(?:\s+have|'ve\s+got|\s+have\s+got|\s+(?:just\s+)?(?:got|adopted|bought)|\s+own)\s+
COUNT    (?P<count>a|an|one|two|three|four|five|\d+)
MOD      (?:(?P<mod>best|closest|oldest|old|good|dear|little|big|older|younger|baby|twin|new)\s+)?
LINK     (?P<link>'s\s+name\s+is|\s+(?:is|was)\s+(?:called|named)|\s+(?:called|named)|\s+is|\s*,)?
NEG      (?P<neg>no\s+longer\s+|doesn't\s+|does\s+not\s+)?
THIRD    \b(?P<subj><CAPWORD>(?:\s+<CAPWORD>)?)\s+<NEG><ADV>
JOB_FREE (?P<job>[\w-]+(?:\s+(?!at\b|for\b|in\b|with\b|and\b|but\b|since\b)[\w-]+){0,3})
QUIT     (?:quit|left|resigned\s+from|(?:got|was)\s+(?:fired|laid\s+off|let\s+go)\s+from)
GOT      (?:got|landed|accepted|started|have)
STOPPED  (?:stopped|quit|gave\s+up)
WORDS2   [\w-]+(?:\s+[\w-]+)?
DEGREE   (?:degree|masters?|master's|phd|bachelor's|bachelors)
FAN      (?:a\s+)?(?:big\s+|huge\s+|great\s+)?fan\s+of
MOVED    (?:moved|relocated)(?:\s+(?:back|over|away|out|here))?\s+(?=to\b|from\b|out\s+of\b)
ALLERGIC (?:(?:very|severely|mildly|highly|extremely)\s+)?allergic\s+to\s+
OWNED    (?=(?:a|an|my\s+first|our|a\s+new|two|three)\b)
ROLE     (?P<role><=PARTNER>|<=FAMILY>|<=FRIEND>)s?
SPEC     (?P<species><=SPECIES>)s?
DIET     (?P<diet><=DIETS>)\b
A_DIET   (?:a\s+)?<DIET>
JOB      (?P<job>(?:[\w-]+\s+){0,3}?<=JOBS>)\b
PET      <HAVE><COUNT>\s+(?:(?!<=SPECIES>)[\w-]+\s+)?<SPEC>\b
QUANT    a\s+lot\s+of|lots\s+of|plenty\s+of|all\s+(?:kinds|sorts)\s+of|a\s+bit\s+of|many|some|most
LEADING  ^(?:(?:<QUANT>|the|a|an)\s+)+
NAME     <CAPWORD>(?:\s+<CAPWORD>){0,2}
PET_LINK (?P<link>\s+(?:called|named)\s+|\s*[,:]\s*)?
UNIT     (?:day|week|month|year)s?
W1       next|tomorrow|tonight|soon|later\s+this|in\s+(?:a|two|three|a\s+few|\d+)\s+<UNIT>
W2       this\s+(?:weekend|week|month|year|summer|winter|spring|fall|autumn|evening|morning)
WHEN     \b(?:<W1>|<W2>|on\s+(?:mon|tues|wednes|thurs|fri|satur|sun)day)\b
VERBS    (?:live|work|study|speak|play|like|love|enjoy|hate|have|am|moved|just|really)\b
SUBJECTS (?:I|I'm|I've|I'd|we|he|she|they|it|my|you|then|also|now)\b
H1       but|because|cause|cuz|since|although|though|while|whereas|which|who|whom|whose|where|when
H2       whenever|if|unless|until|so|that|that's|except|like|especially|including|particularly
HARD_CUT [.!?;:()\[\]"]|\s+-\s+|\s+(?:<H1>|<H2>)\b|,\s*(?:and\s+|but\s+|so\s+)?<SUBJECTS>
HARD_CUT <HARD_CUT>|\s+and\s+<SUBJECTS>|\s+(?:and|or)\s+<VERBS>
S1       with|for|as|near|during|after|before|last|next|this|every|each|right\s+now|full[- ]time
MONTH1   jan(?:uary)?|feb(?:ruary)?|march|april|may|june|july
MONTH    <MONTH1>|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?
DAY      (?:mon|tues|wednes|thurs|fri|satur|sun)day
S2       (?:in|on)\s+(?:(?:19|20)\d\d|<MONTH>|<DAY>)|yesterday|recently|tomorrow|tonight
SOFT_CUT ,|\s+(?:<S1>|<S2>|part[- ]time)\b|\s+(?:and|or|&)\s+(?!<CAP>)
F1       now|too|also|anymore|any\s+more|a\s+lot|so\s+much|very\s+much|as\s+well|lately|nowadays
F2       these\s+days|right\s+now|at\s+the\s+moment|honestly|actually|really|fluently|well|haha|lol
F3       btw|either|already|today|again|here|there|sometimes|every\s+day|everyday|daily|a\s+bit
FILLER   (?:\s+(?:<F1>|<F2>|<F3>|a\s+little|at\s+all|of\s+course))+$
HY1      if|wish|would|could|might|should|maybe|perhaps|hope|hopefully|imagine|suppose|unless
HY2      whether|wonder|dream|dreaming|pretend|someday|doubt|don't\s+think|not\s+sure
HYPO     \b(?:<HY1>|<HY2>)\b|\b\w+'d\b
Q1       (?:(?:where|what|who|how|why|which|when)\s+)?
Q2       do|does|did|am|are|is|can|could|would|should|will|shall|have|has|was|were|don't|doesn't
QUESTION ^\W*<Q1>(?:<Q2>|didn't|aren't|isn't)\b
"""


def _expand(pattern: str, known: dict[str, str]) -> str:
    """``pattern`` with ``<NAME>`` replaced by a fragment, ``<=NAME>`` by a word list's words."""
    return _REF.sub(lambda m: known[m[2]] if not m[1] else _alt(_aliases(m[2])), pattern)


def _fragments() -> dict[str, str]:
    """The named fragments of ``_FRAGMENT_TABLE``, each expanded with those before it."""
    known = {"CAP": _CAP, "CAPWORD": _CAPWORD}
    for line in _FRAGMENT_TABLE.strip().splitlines():
        name, pattern = line.split(maxsplit=1)
        known[name] = _expand(pattern, known)
    return known


_FRAGMENTS = _fragments()
_WHEN, _HARD_CUT, _SOFT_CUT, _FILLER, _HYPOTHETICAL, _QUESTION_START = (
    _rx(_FRAGMENTS[n]) for n in "WHEN HARD_CUT SOFT_CUT FILLER HYPO QUESTION".split()
)
_PREP_CUT = _rx(r"\s+(?:at|in|on|by|with|for|from|since|during|every)\s+")
_LEADING = re.compile(_FRAGMENTS["LEADING"])  # case-sensitive: "The Beatles" keeps its article
_LANG_LEADING = _rx(r"^(?:(?:a\s+little|little|a\s+bit\s+of|some|basic|fluent|good)\s+)+")
_LIST_SEP = _rx(r"\s*,\s*(?:and\s+|or\s+)?|\s+(?:and|or|&|as\s+well\s+as)\s+")
_NAME_LIST = _rx(
    _FRAGMENTS["NAME"] + r"(?:(?:\s*,\s*(?:and\s+)?|\s+(?:and|&)\s+)" + _FRAGMENTS["NAME"] + ")*"
)
_NAME_ALONE = _rx(r"[\w-]+(?:\s+" + _CAPWORD + r")?\s*(?:$|[,.!;]|(?:and|from)\b)")
_NAME_SEP = _rx(r"\s*,\s*(?:and\s+)?|\s+(?:and|&)\s+")
_BROKE_UP = _rx(r"\b(?:broke\s+up|split\s+up|separated|divorced)\s+(?:with\s+|from\s+)?$")
_TO_VERB = _rx(r"^to\s+(?:just\s+|really\s+|also\s+|simply\s+)?([a-z]+)\b")
# Words an object cannot end with: the sentence went on ("escaping to", "around to keep"; "to"
# alone is what "I love to." leaves).
_DANGLING = _rx(r"(?:^|\s+)(?:to|a|an|the|it|of|for|with|and|or|my|our|your|at|in|on|from|that)$")
_ROLE_CUT = _rx(r"\s+as\s+(?:an?\s+)?[a-z]")
_EMPLOYER = _rx(r"^\s+(?:at|for|with)\s+")
_ARTICLE = _rx(r"^(?:the|a|an)\s+")
_IN_PLACE = re.compile(r"\b(?:in|near)\s+(" + _CAPWORD + r"(?:\s+" + _CAPWORD + r")*)")
_MOVE_PARTS = _rx(r"(?:(?:from|out\s+of)\s+(?P<old>.*?))?\s*(?:\bto\s+(?P<new>.*))?$")
_ANYMORE = _rx(r"\bany\s*more\b")
_ALLERGY_WORD = _rx(r"\s+allerg")
_SPACES = re.compile(r"\s+")
_DOUBLES = re.compile(r"^[^aeiou]?[^aeiou][aeiou][^aeiouwxy]$")  # run, swim, plan, shop
_SILENT_E = re.compile(r"(?<=..)(?<![eyo])e$")  # paint -> painting, make -> making, see -> seeing
_EDGES = re.compile(r"^\W+|\W+$")
_CLAUSE_BREAK = _rx(r";|\bbut\b")
_QUESTION_END = re.compile(r"\?\W*$")
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+|\n+")
_STRAIGHT = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})
_PRONOUNS = _rx(r"\b(?:i|we|you|he|she|they|it|my|his|her|their|our)\b")

# -------- object cleaning: from the rest of the sentence to clean objects


def _tidy(text: str, max_words: int = 8) -> str:
    """Whitespace collapsed, edge punctuation and trailing fillers gone, at most ``max_words``."""
    text = _EDGES.sub("", _FILLER.sub("", _EDGES.sub("", _SPACES.sub(" ", text))))
    text = " ".join(text.split()[:max_words])
    while (trimmed := _EDGES.sub("", _DANGLING.sub("", text))) != text:
        text = trimmed
    return text


def _hard(rest: str) -> str:
    """``rest`` up to the end of its clause."""
    return _soft(rest, _HARD_CUT, soft=False)


def _soft(text: str, extra: Cut = None, *, soft: bool = True) -> str:
    """``text`` cut before a comma, a lowercase "and", or a trailing modifier (and ``extra``)."""
    for cut in (_SOFT_CUT.search(text) if soft else None, extra.search(text) if extra else None):
        text = text[: cut.start()] if cut else text
    return text


def _checked(obj: str) -> list[str]:
    """``[obj]``, or nothing when it is empty or vague ("it", "that movie", "with them")."""
    words = obj.lower().split()
    return [] if not words or words[0] in _VAGUE_FIRST or obj.lower() in _VAGUE else [obj]


def _gerund(verb: str) -> str:
    """The -ing form of a simple English verb ("paint" -> "painting", "run" -> "running")."""
    v = verb.lower()
    if _DOUBLES.search(v):
        return v + v[-1] + "ing"
    return (v[:-2] + "y" if v.endswith("ie") else _SILENT_E.sub("", v)) + "ing"


def _phrase(rest: str, *, whole: bool = False, extra: Cut = None, words: int = 8) -> list[str]:
    """One phrase to the clause end; unless ``whole``, cut before a comma or trailing modifier."""
    return _checked(_tidy(_hard(rest) if whole else _soft(_hard(rest), extra), words))


_clause = partial(_phrase, whole=True)  # plans, favourites: "move to Lisbon next year"
_org = partial(_phrase, extra=_ROLE_CUT, words=6)  # "Acme Corp" (as a nurse)
_restricted = partial(_phrase, extra=_PREP_CUT, words=5)  # studies: "law" (at Lisbon University)


def _place(rest: str) -> list[str]:
    """A place name; a lowercase description counts only when it names a place inside."""
    text = _hard(rest).strip()
    if _ARTICLE.sub("", text)[:1].islower():
        inner = _IN_PLACE.search(text)
        if inner:
            text = inner.group(1)
        elif len(_soft(text).split()) > 2 or _ARTICLE.match(text) or text.startswith("my "):
            return []
    return _checked(_tidy(_soft(text), max_words=5))


def _items(rest: str, extra: Cut = None) -> list[str]:
    """A list of things ("pizza, pasta and sushi"), articles and quantifiers stripped."""
    text = _hard(rest).strip()
    to_verb = _TO_VERB.match(text)
    if to_verb:
        if to_verb.group(1).lower() in _TO_REJECT:
            return []
        text = _gerund(to_verb.group(1)) + text[to_verb.end() :]
    out: list[str] = []
    for part in _LIST_SEP.split(text):
        out += _checked(_tidy(_LEADING.sub("", _soft(part, extra).strip() if extra else part)))
    return out


_activities = partial(_items, extra=_PREP_CUT)  # "the guitar" (in a band)
_allergens = partial(_items, extra=_ALLERGY_WORD)  # "peanut" (allergy)


def _languages(rest: str) -> list[str]:
    """Language names: known ones, or capitalised single words."""
    items = [_LANG_LEADING.sub("", item) for item in _items(rest)]
    known = [i.capitalize() for i in items if i.lower() in _LANGUAGES]
    return known + [i for i in items if _is_name(i) and " " not in i and i not in known]


def _is_name(word: str) -> bool:
    return word[:1].isupper() and word.lower() not in _NOT_NAMES


def _names(rest: str, *, loose: bool = False) -> list[str]:
    """The names at the start of ``rest``: "Ana", "Ana Maria", "Ana and Rita"."""
    match = _NAME_LIST.match(rest[:1].upper() + rest[1:] if loose else rest)
    found = [n.split() for n in _NAME_SEP.split(match.group())] if match else []
    return [" ".join(w for w in n if _is_name(w)) for n in found if _is_name(n[0])]


def _person(text: str) -> str | None:
    """``text`` as a person's name, leading common words dropped; None if none is left."""
    words = text.split()
    while words and words[0].lower() in _NOT_NAMES:
        words.pop(0)
    return " ".join(words) if words and all(_is_name(w) for w in words) else None


# -------- handlers: each gets the match, the speaker, and the confidence and negation of its key


def _fact(subject: str, predicate: str, obj: str, **extra: Any) -> FactCandidate:
    extra = {"confidence": 0.9, **extra}  # role, confidence, negated
    return FactCandidate(subject=subject, predicate=predicate, object=obj, **extra)


def _an(word: str) -> str:
    return "an " if word[:1].lower() in "aeiou" else "a "


def _rest(m: re.Match[str]) -> str:
    return m.string[m.end() :]


def _group(m: re.Match[str], name: str) -> str:
    return (m.groupdict().get(name) or "").strip()


def _subject(m: re.Match[str], speaker: str) -> str | None:
    """The named third person of the match, else the speaker; None for a non-name."""
    return _person(m.group("subj")) if "subj" in m.groupdict() else speaker


def _generic(m: Match, who: str, conf: float, neg: bool, *, pred: str, clean: Cleaner) -> Facts:
    """One ``pred`` fact per object that ``clean`` finds after the match."""
    subject = _subject(m, who)
    negated = neg or bool(_group(m, "neg"))
    objs = clean(_rest(m)) if subject else []
    return [_fact(subject or "", pred, o, confidence=conf, negated=negated) for o in objs]


def _name(m: Match, speaker: str, conf: float, neg: bool) -> Facts:
    """The speaker's name; a ``loose`` group allows lowercase, ``alone`` wants nothing after."""
    if "alone" in m.re.groupindex and not _NAME_ALONE.match(_rest(m)):
        return []
    names = _names(_rest(m), loose="loose" in m.re.groupindex)[:1]
    names = [n for n in names if not n.lower().endswith("ing")]
    return [_fact(speaker, "name", n, confidence=conf) for n in names]


def _age(m: Match, speaker: str, conf: float, neg: bool) -> Facts:
    """For "I am 34 years old"."""
    age = int(m.group("age"))
    return [_fact(speaker, "age", str(age), confidence=conf)] if 0 < age < 120 else []


def _moved(m: Match, speaker: str, conf: float, neg: bool) -> Facts:
    """For "I moved (from X) to Y": closes X, opens Y."""
    subject = _subject(m, speaker)
    parts = _MOVE_PARTS.match(_hard(_rest(m)))
    if subject is None or parts is None:
        return []
    out = [_fact(subject, "lives_in", p, negated=True) for p in _place(parts.group("old") or "")]
    return out + [_fact(subject, "lives_in", p) for p in _place(parts.group("new") or "")]


def _job(m: Match, speaker: str, conf: float, neg: bool) -> Facts:
    """For "I'm a nurse (at X)": a job, and an employer when one follows."""
    subject = _subject(m, speaker)
    job = _tidy(_ARTICLE.sub("", _group(m, "job")), max_words=4)
    if subject is None or not _checked(job):
        return []
    negated = bool(_group(m, "neg"))
    employer = None if negated else _EMPLOYER.match(_rest(m))
    orgs = _org(_rest(m)[employer.end() :]) if employer else []
    return [_fact(subject, "job", job, confidence=conf, negated=negated)] + [
        _fact(subject, "works_at", o, confidence=conf) for o in orgs
    ]


def _relation(m: Match, speaker: str, conf: float, neg: bool) -> Facts:
    """For "my sister Ana", "my wife is called Maria", "Sam is my best friend"."""
    word = _group(m, "role").lower()
    pred, role = RELATION_WORDS[word]
    if pred == "friend" and _group(m, "mod").lower() in ("best", "closest"):
        role = "best friend"
    link = _group(m, "link").lower()
    if _group(m, "name"):
        names = [n for n in [_person(_group(m, "name"))] if n]
    else:
        names = _names(_rest(m), loose=any(w in link for w in ("call", "name")))
    conf = 0.6 if link in ("is", "was") else conf
    negated = bool(_BROKE_UP.search(m.string[: m.start()]))
    return [_fact(speaker, pred, n, role=role, confidence=conf, negated=negated) for n in names]


def _pet(m: Match, speaker: str, conf: float, neg: bool) -> Facts:
    """For "my dog Rex", "I have a cat named Luna", "I have two cats"."""
    word = _SPACES.sub(" ", _group(m, "species").lower())
    names = _names(_rest(m), loose=any(w in _group(m, "link") for w in ("call", "name")))
    objs = [f"{_an(word)}{word} named {n}" for n in names]
    count = _group(m, "count").lower()
    if not objs and count:
        objs = [f"{count} {word}" + ("" if count in ("a", "an", "one") else "s")]
    return [_fact(speaker, "pet", o, role=_SPECIES.get(word, word)) for o in objs]


def _favourite(m: Match, speaker: str, conf: float, neg: bool) -> Facts:
    """For "my favourite book is X": likes "X (favourite book)"."""
    what = _group(m, "what").lower()
    return [_fact(speaker, "likes", f"{o} (favourite {what})") for o in _clause(_rest(m))]


def _diet(m: Match, speaker: str, conf: float, neg: bool) -> Facts:
    """For "I'm vegetarian" (the diet named in the match, else vegetarian: "I don't eat meat")."""
    diet = _DIETS.get(_SPACES.sub(" ", _group(m, "diet").lower()), "vegetarian")
    return [_fact(speaker, "diet", diet, confidence=conf, negated=neg)]


def _dislikes(m: Match, speaker: str, conf: float, neg: bool) -> Facts:
    """For "I hate X"; "I don't like X anymore" also closes "likes X"."""
    objs = _items(_rest(m))
    out = [_fact(speaker, "dislikes", o) for o in objs]
    if _ANYMORE.search(_hard(_rest(m))):
        out += [_fact(speaker, "likes", o, negated=True) for o in objs]
    return out


def _going(m: Match, speaker: str, conf: float, neg: bool) -> Facts:
    """For "I'm going to X next week" (only with a time expression)."""
    objs = [o for o in _clause(_rest(m)) if _WHEN.search(o)]
    first = objs[0].split()[0] if objs else ""
    if objs and (first[0].isupper() or first.lower() in ("the", "a", "an", "my", "our")):
        objs = ["go to " + objs[0]]
    return [_fact(speaker, "plans", o) for o in objs]


def _owns(m: Match, speaker: str, conf: float, neg: bool) -> Facts:
    """For "I bought a house"; for a "have" (conf < 0.9) only things or brands; "I sold my car"."""
    if neg:
        return [_fact(speaker, "owns", _an(o) + o, negated=True) for o in _phrase(_rest(m))]
    out: list[FactCandidate] = []
    for obj in _phrase(_rest(m)):
        words = obj.split()
        head = words[-1].lower()
        if head.rstrip("s") in _SPECIES or head in _SPECIES or head in RELATION_WORDS:
            continue
        brand = all(_is_name(w) or w.isdigit() for w in words[1:])
        if conf >= 0.9 or head in _POSSESSIONS or brand:
            out.append(_fact(speaker, "owns", obj, confidence=conf))
    return out


# -------- the rule table. A line: the handler (@special, or predicate:cleaner; "-" negated,
# "~" confidence 0.6), then the pattern of the statement's lead-in (<NAME>: a fragment).
_TABLE = r"""
@name                 \bmy\s+name(?:\s+is|'s)\s+(?P<loose>)
@name                 \b(?:call\s+me|(?:people|everyone)\s+calls?\s+me|I\s+go\s+by)\s+
@name~                <IM>(?=<CAP>)(?P<alone>)
@age                  <IM>(?P<age>\d{1,3})\s*(?:years?\s+old|yrs?\s+old|yo|y/o)\b
@age                  <I>turned\s+(?P<age>\d{1,3})\b
lives_in:place        <IC>(?:live|reside)\s+in\s+
lives_in:place        <IM>(?:living|residing|based)\s+in\s+
lives_in:place        <IVE>(?:been\s+living|lived)\s+in\s+
@moved                <ICV><MOVED>
lives_in:place-       (?:<NOMORE>live|<IM>(?:no\s+longer|not)\s+living)\s+in\s+
from:place            (?:<IM>|<IC>(?:originally\s+)?come\s+)(?:originally\s+)?from\s+
from:place            <I>(?:grew\s+up|was\s+born(?:\s+and\s+raised)?|was\s+raised)\s+in\s+
works_at:org          <IC>work\s+(?:at|for)\s+(?!myself\b)
works_at:org          (?:<IM>|<IVE>been\s+)working\s+(?:at|for)\s+
works_at:org          <I>(?:<GOT>\s+(?:a\s+)?(?:new\s+)?job|started(?:\s+working)?)\s+at\s+
works_at:org~         <I>joined\s+(?=<CAP>)
works_at:org-         <NOMORE>work\s+(?:at|for)\s+
works_at:org-         <I><QUIT>\s+(?:my\s+(?:old\s+)?job\s+(?:at|with)\s+|(?=<CAP>))
@job                  (?:<IC>work|<IM>working)\s+as\s+(?:a|an)?\s*<JOB_FREE>
@job                  \bI\s+<ADV>(?:work|am\s+working)\b[^.;!?]*?\s+as\s+(?:a|an)\s+<JOB>
@job                  \bmy\s+(?:current\s+)?job\s+is\s+(?:being\s+)?(?:a|an)\s+<JOB_FREE>
@job                  \bI(?:'m|\s+am)\s+(?P<neg>no\s+longer|not)\s+(?:a|an)\s+<JOB>
@job                  \bI\s+(?P<neg>used\s+to\s+be|(?:quit|stopped)\s+being)\s+(?:a|an)\s+<JOB>
@job~                 <IM>(?:a|an)\s+<JOB>
studies:restricted    <IC>(?:study|major\s+in)\s+
studies:restricted    <IM>(?:studying|majoring\s+in|doing\s+(?:a|an|my)\s+<DEGREE>\s+in)\s+
@relation             \bmy\s+<MOD><ROLE><LINK>\s+
@relation             \b(?P<name><CAPWORD>(?:\s+<CAPWORD>)?)\s+is\s+my\s+<MOD><ROLE>\b
@relation             <HAVE><COUNT>\s+<MOD><ROLE>(?P<link>\s+(?:called|named)|\s*[,:])\s+
@relation             <IM>(?P<role>married|engaged)\s+to\s+
partner:names-        <I>(?:(?:broke|split)\s+up\s+with|separated\s+from|divorced)\s+(?!my\b)
@pet                  \bmy\s+<MOD><SPEC><LINK>\s+
@pet                  <PET><PET_LINK>
likes:items           <IC>(?:like|love|enjoy|adore)\s+
likes:items           <IM>(?:<FAN>|into|passionate\s+about|obsessed\s+with|crazy\s+about)\s+
@favourite            \bmy\s+(?:all-time\s+)?favou?rite\s+(?P<what><WORDS2>)\s+(?:is|are)\s+
@dislikes             <IC>(?:hate|dislike|detest|loathe|despise)\s+
@dislikes             (?:<I>(?:can't|cannot|can\s+not|cant)\s+stand|<DONT>(?:like|enjoy))\s+
@dislikes             \bI(?:'m|\s+am)\s+not\s+<ADV>(?:<FAN>|into)\s+
likes:items-          <I>(?:no\s+longer\s+(?:like|love|enjoy)|stopped\s+(?:liking|enjoying))\s+
allergic_to:items     (?:<IM><ALLERGIC>|<HAVE>(?:an\s+)?allerg(?:y|ies)\s+to\s+)
allergic_to:allergens <HAVE>(?:a|an)\s+(?:severe\s+|mild\s+)?(?=[\w-]+\s+allerg)
@diet                 <IM>(?:a\s+|on\s+a\s+)?<DIET>
@diet                 <I>(?:became|went|turned|eat)\s+(?:a\s+)?<DIET>
@diet                 <IVE>been\s+(?:a\s+)?<DIET>
@diet~                (?:<DONT>eat\s+(?:any\s+)?|<I><STOPPED>\s+eating\s+)meat\b
@diet-                \bI(?:(?:'m|\s+am)\s+(?:not|no\s+longer)|\s+<STOPPED>\s+being)\s+<A_DIET>
@diet-~               \bI\s+used\s+to\s+be\s+(?:a\s+)?<DIET>
speaks:languages      (?:<IC>(?:can\s+)?speak|<IM>fluent\s+in)\s+
plays:activities      <IC>play\s+
plays:activities      <IVE>been\s+playing\s+
plays:activities~     <IM>learning\s+(?:how\s+)?to\s+play\s+
plays:activities-     (?:<NOMORE>play|<I><STOPPED>\s+playing)\s+
@owns                 <IC>(?:bought|purchased|own)\s+<OWNED>
@owns~                \bI(?:\s+have|'ve\s+got|\s+have\s+got)\s+(?=(?:a|an)\s)
@owns-                <I>sold\s+my\s+
plans:clause          (?:<IM>planning|<I>(?:plan|intend)|<IVE>decided)\s+to\s+
@going                <IM>(?:going\s+to|gonna)\s+
lives_in:place        <THIRD>lives?\s+in\s+
@moved                <THIRD><MOVED>
works_at:org          <THIRD>works?\s+(?:at|for)\s+
@job                  <THIRD>works?\s+as\s+(?:a|an)?\s*<JOB_FREE>
allergic_to:items     <THIRD>is\s+<ALLERGIC>
from:place            <THIRD>(?:is|comes)\s+(?:originally\s+)?from\s+
studies:restricted    <THIRD>studies\s+
"""


_CLEANERS: dict[str, Cleaner] = {"place": _place, "org": _org, "clause": _clause, "items": _items}
_CLEANERS |= {"restricted": _restricted, "activities": _activities, "allergens": _allergens}
_CLEANERS |= {"languages": _languages, "names": _names}
_SPECIAL: dict[str, Special] = {f.__name__[1:]: f for f in (_name, _age, _moved, _job, _relation)}
_SPECIAL |= {f.__name__[1:]: f for f in (_pet, _favourite, _diet, _dislikes, _going, _owns)}


def _compile(line: str) -> tuple[re.Pattern[str], Callable[[Match, str], Facts]]:
    """One ``_TABLE`` line as (pattern, handler)."""
    key, pattern = line.split(maxsplit=1)
    conf, neg = (0.6 if "~" in key else 0.9), "-" in key
    name, _, clean = key.strip("@-~").partition(":")
    special = partial(_generic, pred=name, clean=_CLEANERS[clean]) if clean else _SPECIAL[name]
    return _rx(_expand(pattern, _FRAGMENTS)), lambda m, who: special(m, who, conf, neg)


_RULES = tuple(_compile(line) for line in _TABLE.strip().splitlines())


# -------- the extractor


def _sentences(text: str) -> list[str]:
    """The statements in ``text``: curly quotes straightened, questions dropped."""
    text = text.translate(_STRAIGHT)
    sentences = (_SPACES.sub(" ", s).strip() for s in _SENTENCE_SPLIT.split(text))
    return [
        s for s in sentences if s and not _QUESTION_END.search(s) and not _QUESTION_START.match(s)
    ]


def _applies(m: re.Match[str]) -> bool:
    """Whether a match is asserted: not hypothetical, and a bare "and <verb>" follows an "I"."""
    prefix = m.string[: m.start()]
    if _HYPOTHETICAL.search(_CLAUSE_BREAK.split(prefix)[-1]):
        return False
    if _group(m, "cont"):
        pronouns = _PRONOUNS.findall(prefix)
        return bool(pronouns) and pronouns[-1].lower() == "i"
    return True


class RuleExtractor:
    """Finds facts with hand-written patterns: deterministic, fast, and conservative.

    Handles first-person statements about the speaker ("I live in Lisbon", "my sister Ana")
    and a few third-person ones about named people ("Ana works at Acme"). Questions and
    hypotheticals ("if I lived in Paris") yield nothing.
    """

    def extract(
        self, text: str, *, speaker: str, when: datetime | None = None
    ) -> list[FactCandidate]:
        """Facts in ``text``; ``speaker`` is the entity that "I" refers to (``SELF`` or a name)."""
        found: list[tuple[int, int, FactCandidate]] = []
        for index, sentence in enumerate(_sentences(text)):
            for pattern, handle in _RULES:
                for match in pattern.finditer(sentence):
                    if _applies(match):
                        found += [(index, match.start(), c) for c in handle(match, speaker)]
        seen: set[tuple[object, ...]] = set()
        out: list[FactCandidate] = []
        for _, _, fact in sorted(found, key=lambda item: (item[0], item[1])):
            key = (fact.subject, fact.predicate, fact.object.casefold(), fact.role, fact.negated)
            if key not in seen and fact.predicate in PREDICATES:
                seen.add(key)
                out.append(replace(fact, valid_from=when) if when else fact)
        return out
