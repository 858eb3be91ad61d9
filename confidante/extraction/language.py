"""The linguistic layer under the rules: clean text, sentences, clauses, and who each is about.

No English pipeline on PyPI ships a current model for offline use (spaCy's are downloaded from
GitHub), so this is the small part of one that fact extraction needs:

- ``normalise``: quotes straightened; URLs, code and emoji out; texting shorthand ("im",
  "rn", "w/") spelt out, so rules read one spelling.
- ``sentences``: split at sentence ends, not after "Dr.", "St.", "Mt." or an initial.
- ``clauses``: a sentence cut where a new subject starts ("..., but now I'm...", "... and she
  works at..."), each clause with who it is about: the speaker ("I", "we", no subject), or a
  named person ("my sister Leila", "Omar", "she" after a name), rewritten in the first person
  ("Leila lives in Vancouver with her husband" -> "I live in Vancouver with my husband", about
  Leila), so that one set of rules reads statements about anyone.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from confidante.graph.schema import RELATION_WORDS

_STRAIGHT = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})
_URL = re.compile(r"\b(?:https?://|www\.)\S+", re.IGNORECASE)
_CODE = re.compile(r"```.*?(?:```|$)|`[^`\n]*`", re.DOTALL)
# Pictographs, dingbats, flags, variation selectors and joiners: feelings, not words. A run of
# them usually ends a thought ("got a puppy 🐶 her name is..."), so it becomes a comma.
_EMOJI = re.compile(
    "[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\ufe0f\u200d\U0001f1e6-\U0001f1ff]+"
)
_SPACES = re.compile(r"[ \t]+")
# Texting shorthand, word for word: the spelling the rules read.
_SHORTHAND = {
    "i": "I",
    "im": "I'm",
    "ive": "I've",
    "dont": "don't",
    "doesnt": "doesn't",
    "didnt": "didn't",
    "cant": "can't",
    "wont": "won't",
    "isnt": "isn't",
    "wasnt": "wasn't",
    "havent": "haven't",
    "thats": "that's",
    "shes": "she's",
    "theyre": "they're",
    "rn": "right now",
    "atm": "at the moment",
    "bc": "because",
    "b/c": "because",
    "w/": "with",
    "u": "you",
    "ur": "your",
    "r": "are",
    "n": "and",
    "bf": "boyfriend",
    "gf": "girlfriend",
    "bff": "best friend",
    "bday": "birthday",
    "b-day": "birthday",
    "hubby": "husband",
    "wifey": "wife",
    "sis": "sister",
    "gonna": "going to",
    "wanna": "want to",
    "tho": "though",
    "yrs": "years",
    "yr": "year",
    "mo": "months",
    "mos": "months",
    "ppl": "people",
}
_SHORT_WORD = re.compile(
    r"(?<![\w'/-])("
    + "|".join(re.escape(w) for w in sorted(_SHORTHAND, key=len, reverse=True))
    + r")(?![\w/-])(?!'(?!s\b))",
    re.IGNORECASE,
)
# "w my cousin": "w" alone is "with" only before a word.
_W_WITH = re.compile(r"(?<![\w'])w(?=\s+[a-z])")


def normalise(text: str) -> str:
    """``text`` as rules read it: quotes straightened, no URLs/code/emoji, shorthand spelt out."""
    text = _CODE.sub(" ", _URL.sub(" ", text.translate(_STRAIGHT)))
    text = _EMOJI.sub(", ", text)
    text = _W_WITH.sub("with", text)

    def spelt(m: re.Match[str]) -> str:
        word = m.group(1)
        # Capitalised "U", "R", "N" are initials or names, not shorthand.
        if len(word) == 1 and word.isupper() and word != "I":
            return word
        return _SHORTHAND[word.lower()] if word.lower() in _SHORTHAND else word

    text = _SHORT_WORD.sub(spelt, text)
    # "Ana and I are...": the rules read what "I" is.
    text = re.sub(r"\band\s+I\s+are\b", "and I am", text)
    text = re.sub(r"\band\s+I\s+were\b", "and I was", text)
    text = re.sub(r"(?:\s*,)+(?=\s*[,.!?]|\s*$)", "", text)  # an emoji before a full stop
    return _SPACES.sub(" ", text).strip()


# Abbreviations a full stop does not end a sentence after: titles before a name, and words
# inside a name or an address. Company suffixes (Co., Inc.) end one only before "I", "We"...
_TITLES = frozenset(
    "mr mrs ms mx dr prof st mt ft sgt capt lt col gen rev hon fr sr jr pres gov sen rep "
    "no vs etc approx dept univ ave rd blvd hwy apt e.g i.e a.m p.m u.s u.k".split()
)
_SUFFIXES = frozenset("co inc ltd corp llc bros plc".split())
_SENTENCE_END = re.compile(r"[.!?]+(?=\s+|$)|\n+|\s+\|\s+")
_OPENERS = frozenset("i we my our the it this that he she they so and but then".split())


def sentences(text: str) -> list[str]:
    """The sentences of normalised ``text``, ending punctuation kept."""
    out: list[str] = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        before = text[start : m.start()].split()
        last = before[-1].lower().rstrip(".") if before and m.group().startswith(".") else ""
        following = text[m.end() :].split()
        nxt = following[0].lower().strip("\"'(") if following else ""
        if last and m.group() == ".":
            initial = len(last) == 1 and last.isalpha() and before[-1][:1].isupper()
            if last in _TITLES or initial:
                continue
            if last in _SUFFIXES and nxt not in _OPENERS:
                continue
        piece = text[start : m.end()].strip(" |\n")
        if piece:
            out.append(piece)
        start = m.end()
    tail = text[start:].strip(" |\n")
    return [*out, tail] if tail else out


# -------- clauses and their subjects

_ROLE = "|".join(sorted({re.escape(w) for w in RELATION_WORDS}, key=len, reverse=True))
_CAPWORD = r"(?-i:[A-ZÀ-ÖØ-Þ][\w'-]*)"
_NAME = rf"{_CAPWORD}(?:\s+{_CAPWORD})?"
# A word that can follow a subject as its verb: an auxiliary, an adverb before a verb, or a
# word shaped like a finite verb ("lives", "moved").
_AUX = (
    r"is|was|'s|has|had|does|did|doesn't|didn't|isn't|wasn't|hasn't|will|would|can|could|just|"
    r"also|finally|still|now|never|always|really|recently|officially|actually|currently|only|"
    r"got|left|made|met|took|became|began|went|quit|ran|teaches|goes|says|said"
)
_VERBISH = rf"(?-i:(?:{_AUX})\b|[a-z]+(?:s|ed)\b)"
_MOD = r"(?:(?:best|older|younger|little|big|baby|twin|oldest|youngest|new)\s+)?"
_MY_ROLE = rf"my\s+{_MOD}(?:{_ROLE})s?\s*,?\s+"
# A noun followed by a verb is not a name and its verb ("Tree nuts make...").
_NOT_A_VERB = r"\s+\w+\s+(?:make|give|are|were|have|do|don't|cause|taste|look|seem)\b"
_TITLE_ROLE = r"(?-i:(?:Grandpa|Grandma|Granny|Nana|Uncle|Aunt|Auntie|Aunty|Cousin|Baby)\s+)"
_THIRD = (
    rf"(?:(?:{_MY_ROLE}|{_TITLE_ROLE})(?P<named>{_NAME})|(?P<name>{_NAME})(?=\s+(?:{_VERBISH}|and\s))(?!{_NOT_A_VERB})"
    r"|(?P<pronoun>he|she)\b)"
)
# What follows a name that can only be a person's: "Ana lives/moved/is a nurse/is 34".
_PERSON_VERB = re.compile(
    r"^\s*(?:(?:just|also|finally|still|now|never|always|really|recently|officially|actually"
    r"|currently|only)\s+)*(?:lives|lived|works|worked|moved|studies|studied|got|married|left"
    r"|quit|started|joined|graduated|retired|passed|died|proposed|turned|turns|teaches|taught"
    r"|runs|ran|owns|speaks|plays|loves|likes|hates|has|had|bought|sold|adopted|met|became"
    r"|broke|split|divorced|goes|went|says|said|and\s+(?-i:I\b|my\s|[A-Z])"
    r"|'s\s+(?:a|an|my|from|in|at|\d)"
    r"|doesn't|does\s+not|didn't|isn't|wasn't|hasn't|no\s+longer|is\s+not|was\s+not"
    r"|transferred|switched|landed|finished|arrived|tested|won|lost|takes|took|wants|needs"
    r"|(?:is|was)\s+(?:a|an|from|in|at|now|married|engaged|single|allergic|vegan|vegetarian"
    r"|pregnant|retired|\d|still|also|so|really|always|the\s+new|starting|moving"
    r"|going|working|studying|living|dating|seeing|getting|training|learning|doing))",
    re.IGNORECASE,
)
# What may stand between a person and their verb: "Hiroshi (from uni) runs a stall".
_MODIFIER = re.compile(rf"^\s*(?:from|at|in|of)\s+(?:[\w'-]+\s+){{1,2}}?(?=(?:{_VERBISH}))")
_TRAILING_JOIN = re.compile(
    r"[\s,;]+(?:and|but|so|because|though|although|while|whereas|or)$", re.IGNORECASE
)
# A subject alone, cut off from its verb by a conjunction: "My brother Tom | and my sister...".
_MENTION_ALONE = re.compile(rf"^\W*(?P<mention>(?:{_MY_ROLE})?{_NAME})\W*(?:and)?$", re.IGNORECASE)
# "my brother Tom and my sister Ana live...": the others who share a subject's verb.
_ALSO = re.compile(rf"^\s*(?:,|and|&)\s+(?:{_MY_ROLE})?(?P<name>{_NAME})", re.IGNORECASE)
_FIRST = r"(?:I|I'm|I've|I'd|I'll|we|we're|we've|we'll)\b|(?P<with>" + _NAME + r")\s+and\s+I\b"
_SUBJECT = rf"(?:(?P<first>{_FIRST})|{_THIRD})"
# Words that may come before a clause's subject: "..., but now I'm", "Yesterday Ana moved".
_LEAD = (
    r"(?:(?:now|then|also|honestly|today|yesterday|recently|lately|finally|well|oh|and|but|so|ok"
    r"|okay|anyway|update|btw|guess\s+what|good\s+news|big\s+news|fyi"
    r"|these\s+days|last\s+\w+|this\s+\w+)\s*,?\s+)*"
)
# ", bought a minivan", ", doing a course at...": the same speaker goes on with a new verb.
_NEXT_VERB = (
    r"(?-i:(?:(?:presently|currently|now|also)\s+)?(?:[a-z]+(?:ed|ing)|been|bought|sold|got|left|quit|made|took|met|became|began|went|found)"
    r"\s+(?:a|an|the|my|our|to|in|from|up|at|for|with|out|back|on)\b)"
)
_BREAK = re.compile(
    r"(?:[;:()]|\s[-\u2013\u2014]\s|,|\s+(?:and|but|so|because|though|although|while|whereas)\b)"
    rf"\s*{_LEAD}(?:(?={_SUBJECT})(?!{_NAME}\s+and\s+(?:my\s|{_NAME}))|(?<=,\s)(?={_NEXT_VERB}"
    r"|(?:officially|now|currently)\s+(?:a|an|\d)|originally\s))",
    re.IGNORECASE,
)
_PRONOUN_STARTS = frozenset("i my our we he she they his her their it its you your the".split())
_SUBJECT_AT_START = re.compile(rf"^\W*{_LEAD}{_SUBJECT}", re.IGNORECASE)

# A clause that starts with a verb or a state leaves its "I" out: "Moved to Leeds in May",
# "allergic to cats". Past and -ing forms and the adjectives of a state, not base forms (those
# are requests: "Remind me...").
_DROPPED_I = re.compile(
    r"^\W*(?:(?:just|finally|officially|recently|also|now|still|totally|basically|honestly|really"
    r"|actually|so|omg|wow|yay|woo|woohoo|haha|lol|ugh|ok|okay|well|welp|presently)\s+)*"
    r"(?P<word>(?-i:[A-Za-z][a-z]+(?:ed|ing))|been|can't|cannot|love|hate|adore|got|left|quit|sold|grew|"
    r"brought|taken|gave|kept|spent|wrote|drove|flew|paid|made|took|met|became|began|"
    r"went|bought|found|ran|won|lost|broke|split|switched|picked|retired|passed|turned|"
    r"allergic|vegan|vegetarian|pescatarian|married|engaged|single|divorced|pregnant|"
    r"lactose|fluent|obsessed|into|originally|born|based|officially|currently|back|not|big|huge"
    r"|posted|employed|stationed|located|settled|hired)\b"
    r"(?!\s+(?:is|are|was|were)\b)",  # "Love is magical" is about love, not by the speaker
    re.IGNORECASE,
)
_STATE_WORDS = frozenset(
    "allergic vegan vegetarian pescatarian married engaged single divorced pregnant lactose "
    "fluent obsessed into originally based officially currently back not big huge posted "
    "employed stationed located settled hired".split()
)
# Words before -ed/-ing that are not verbs the speaker did.
_NOT_VERBS = frozenset("red bed need seed weed feed speed hundred sacred nothing something".split())

_THIRD_TO_FIRST = {
    "is": "am",
    "'s": "'m",
    "was": "was",
    "has": "have",
    "does": "do",
    "doesn't": "don't",
    "isn't": "am not",
    "hasn't": "haven't",
}
_VERB_AFTER = re.compile(
    r"^(?P<adv>(?:(?:just|also|finally|still|now|never|always|really|recently|officially|"
    r"actually|currently|only|usually|mostly|sometimes|often)\s+)*)(?P<verb>[A-Za-z']+)"
)
_POSSESSIVE = re.compile(r"\b(?:his|her|their)\b", re.IGNORECASE)
# "Our family has a tabby": what the household has, I have.
_FAMILY_HAS = re.compile(r"^\W*(?:our|my)\s+(?:family|household|house)\s+(?:has|have)\b", re.I)
_PLURAL_FIRST = [
    (_FAMILY_HAS, "I have"),
    (re.compile(r"^\W*we're\b", re.I), "I'm"),
    (re.compile(r"^\W*we've\b", re.I), "I've"),
    (re.compile(r"^\W*we'll\b", re.I), "I'll"),
    (re.compile(r"^\W*we\s+are\b", re.I), "I am"),
    (re.compile(r"^\W*we\s+were\b", re.I), "I was"),
    (re.compile(r"^\W*we\b", re.I), "I"),
]
_OUR = re.compile(r"\bour\b", re.IGNORECASE)
# "Our dog is named Pickles": what we have, I have.
_OUR_AS_SUBJECT = re.compile(r"^\W*our\b", re.IGNORECASE)


@dataclass(frozen=True)
class Clause:
    """A clause in the first person, and who "I" is in it: ``None`` for the speaker."""

    text: str
    about: str | None = None
    start: int = 0  # where in the sentence it begins: facts are told in this order


def _base_form(verb: str) -> str:
    """The first-person form of a third-person verb: "lives" -> "live", "is" -> "am"."""
    low = verb.lower()
    if low in _THIRD_TO_FIRST:
        return _THIRD_TO_FIRST[low]
    if low.endswith("ies") and len(low) > 4:
        return verb[:-3] + "y"
    if re.search(r"(?:ch|sh|ss|x|o)es$", low):
        return verb[:-2]
    if low.endswith("s") and not low.endswith("ss") and len(low) > 3:
        return verb[:-1]
    return verb


def _in_first_person(rest: str) -> str:
    """The words after a third-person subject, as "I" would say them."""
    m = _VERB_AFTER.match(rest.lstrip())
    if m is None:
        return "I " + _POSSESSIVE.sub("my", rest.lstrip())
    verb = m.group("verb")
    tail = rest.lstrip()[m.end() :]
    joined = "I" + ("" if verb.startswith("'") else " ") + m.group("adv") + _base_form(verb)
    return _POSSESSIVE.sub("my", (joined + tail).replace("I 'm", "I'm"))


_CAPITALISED_START = re.compile(r"(?-i:[A-ZÀ-ÖØ-Þ])[\w'-]*")


def _starts_someone(sentence: str, at: int, is_name: Callable[[str], bool]) -> bool:
    """Whether a break before ``at`` starts a clause.

    Not when the word there is a capitalised non-name: in "I speak Spanish, French and German"
    French is a list item, not someone who speaks.
    """
    word = _CAPITALISED_START.match(sentence, at)
    if word is None or word.group().casefold().split("'")[0] in _PRONOUN_STARTS:
        return True
    return is_name(word.group())


def clauses(sentence: str, is_name: Callable[[str], bool], people: People) -> list[Clause]:
    """``sentence`` cut into clauses, each in the first person with who it is about.

    ``people`` holds the people named so far in the message, newest last; "he"/"she" is the
    newest of them (a clause about nobody named is left out). Names found here are added.
    """
    cuts = [0] + [
        m.end() for m in _BREAK.finditer(sentence) if _starts_someone(sentence, m.end(), is_name)
    ]
    cuts.append(len(sentence))
    out: list[Clause] = []
    carried = ""
    for start, end in zip(cuts, cuts[1:], strict=False):
        text = sentence[start:end].strip(" ,;:-\u2013\u2014")
        text = _TRAILING_JOIN.sub("", text)  # "I love jazz and | I play..."
        if carried and text:
            text = f"{carried} and {text}"
            carried = ""
        alone = _MENTION_ALONE.match(text)
        joined = re.search(r"(?:\band|&)\s*$", sentence[start:end])  # "Tom and | my sister..."
        if alone and joined and end < len(sentence):
            carried = alone.group("mention")  # its verb comes later
            continue
        if text:
            out += [replace(c, start=start) for c in _clause(text, is_name, people)]
    return out


_NAMING = re.compile(
    rf"\b(?:(?:her|his)\s+name(?:'s|\s+is)|(?:named|called)\s+(?:her|him))\s+(?P<name>{_NAME})",
    re.IGNORECASE,
)


# "my mom Carol's birthday is...": a clause about Carol, in her first person.
_POSSESSOR = re.compile(
    rf"^\W*(?:{_MY_ROLE}|{_TITLE_ROLE})?(?P<name>{_NAME})'s\s+"
    r"(?=(?:birthday|bday|job|age|name|husband|wife|partner|boyfriend|girlfriend|dog|cat|new)\b)",
    re.IGNORECASE,
)
_MENTIONED = re.compile(
    rf"(?:my\s+{_MOD}(?P<role>{_ROLE})s?\s*,?\s+|(?P<title>{_TITLE_ROLE}))(?P<name>{_NAME})"
    r"|\ba\s+(?P<kind>guy|man|boy|girl|woman|lady)\s+(?:named|called)\s+(?P<kind_name>"
    + _NAME
    + ")",
    re.IGNORECASE,
)
_FEMALE = frozenset(
    "mother mom mum sister daughter aunt auntie niece grandmother grandma granny nana wife "
    "girlfriend fiancée fiancee granddaughter stepmother stepmom stepdaughter girl woman lady "
    "her she".split()
)
_MALE = frozenset(
    "father dad brother son uncle nephew grandfather grandpa husband boyfriend fiancé fiance "
    "grandson stepfather stepdad stepson guy man boy his he".split()
)


class People(list[str]):
    """The people named so far in a message, newest last, with what is known of their sex.

    "she" is the newest one not known to be a man; "he", not known to be a woman.
    """

    def __init__(self) -> None:
        super().__init__()
        self.sex: dict[str, str] = {}

    def told(self, name: str, word: str | None) -> None:
        """``name`` was named; ``word`` ("sister", "his", "she") may say their sex."""
        name = _no_possessive(name)
        self.append(name)
        word = (word or "").lower()
        sex = "f" if word in _FEMALE else "m" if word in _MALE else None
        if sex and name not in self.sex:
            self.sex[name] = sex

    def meant_by(self, pronoun: str) -> str | None:
        """Who "he" or "she" means: the newest person of that sex (or not known)."""
        other = "m" if pronoun.lower() in _FEMALE else "f"
        return next((p for p in reversed(self) if self.sex.get(p) != other), None)


def _no_possessive(name: str) -> str:
    return re.sub(r"'s?$", "", name)


def _clause(text: str, is_name: Callable[[str], bool], people: People) -> list[Clause]:
    out = _clause_about(text, is_name, people)
    # People named inside ("Met my friend Lin...") are who a later "she" means.
    for mention in _MENTIONED.finditer(text):
        name = mention.group("name") or mention.group("kind_name")
        word = mention.group("role") or (mention.group("title") or "").strip() or mention["kind"]
        if is_name(name.split()[0]):
            people.told(name, word)
    naming = _NAMING.search(text)  # "her name is Mei and she's a vet tech": she is Mei
    if naming and is_name(naming.group("name").split()[0]):
        people.told(naming.group("name"), naming.group().split()[0])
    return out


def _clause_about(text: str, is_name: Callable[[str], bool], people: People) -> list[Clause]:
    possessor = _POSSESSOR.match(text)
    if possessor and is_name(possessor.group("name").split()[0]):
        people.append(_no_possessive(possessor.group("name")))
        return [Clause("my " + text[possessor.end() :], about=possessor.group("name"))]
    m = _SUBJECT_AT_START.match(text)
    if m is None:
        return [_unstated_subject(text)]
    if m.group("first"):
        return [_first_person(text, m)]
    return _third_person(text, m, is_name, people)


def _unstated_subject(text: str) -> Clause:
    """A clause with no subject: "Moved to Leeds", "our dog is named Rex" are the speaker's."""
    if _OUR_AS_SUBJECT.match(text):
        text = _FAMILY_HAS.sub("I have", text, count=1)
        return Clause(_OUR.sub("my", text))
    dropped = _DROPPED_I.match(text)
    word = dropped.group("word").lower() if dropped else ""
    if dropped and word not in _NOT_VERBS:
        rest = text[dropped.start("word") :]
        lead = "I'm " if word.endswith("ing") or word in _STATE_WORDS else "I "
        lead = "I've " if word == "been" else "I was " if word == "born" else lead
        return Clause(lead + rest[:1].lower() + rest[1:])
    return Clause(text)


def _first_person(text: str, m: re.Match[str]) -> Clause:
    """A clause in the first person as it is, "we" as "I": what the household does, I do."""
    if m.group("with"):  # "Chloe and I split up": about the speaker, the name kept
        return Clause(re.sub(r"\band\s+I\s+are\b", "and I am", text))
    lead, said = text[: m.start("first")], text[m.start("first") :]  # "ok we moved..."
    for pattern, replacement in _PLURAL_FIRST:
        first = pattern.sub(replacement, said, count=1)
        if first != said:
            return Clause(lead + _OUR.sub("my", first))
    return Clause(text)


def _third_person(
    text: str, m: re.Match[str], is_name: Callable[[str], bool], people: People
) -> list[Clause]:
    """A clause about someone named (or "he"/"she" after a name), in their first person."""
    name = m.group("named") or m.group("name")
    rest = text[m.end() :]
    if m.group("name") and name.split()[0].lower().endswith("ing"):
        return [Clause(text)]  # "Networking plays a big role": a gerund, not a person
    if m.group("name") and name not in people and not _PERSON_VERB.match(rest):
        # "Dance is my stress relief", "Born and raised in...": a capital that may only start
        # the sentence names a person when what follows is something people do.
        return [_unstated_subject(text)]
    if name:
        named = [name]
        while also := _ALSO.match(rest):  # "Tom and my sister Ana live in Rome"
            named.append(also.group("name"))
            rest = rest[also.end() :]
        persons = [
            " ".join(w for w in n.split() if is_name(w)) for n in named if is_name(n.split()[0])
        ]
        if not persons or len(persons) < len(named):
            return [_unstated_subject(text)]  # "Also switched to...": no one named after all
        people.extend(persons)
    else:
        pronoun = m.group("pronoun") or "he"
        meant = people.meant_by(pronoun)
        if meant is None:
            return []
        persons = [meant]
        people.told(meant, pronoun)  # "Paige! she's...": Paige is a woman
    verb = _VERBISH if len(persons) == 1 else r"(?-i:[a-z]+)\b"  # "Tom and Ana live"
    rest = re.sub(r"^\s*,\s*", " ", rest)  # "my father, Rajesh, is a doctor"
    rest = _MODIFIER.sub(" ", rest)  # "my friend Hiroshi from uni runs..."
    if m.group("named") and not re.match(r"^\s*(?:" + verb + ")", rest):
        return [Clause(text)]  # "my sister Leila." alone: the mention, not a statement about her
    return [Clause(_in_first_person(rest), about=person) for person in persons]
