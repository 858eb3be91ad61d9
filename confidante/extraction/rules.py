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

from confidante.extraction.language import Clause, People, clauses, normalise, sentences
from confidante.graph.schema import (
    CHANGED_TO,
    PREDICATES,
    RELATION_ALIASES,
    RELATION_WORDS,
    FactCandidate,
)

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
  tamil telugu marathi gujarati malayalam kannada nepali sinhala amharic yoruba igbo hausa zulu
  xhosa somali burmese khmer lao mongolian kazakh uzbek georgian armenian azerbaijani albanian
  bulgarian slovak slovenian lithuanian latvian estonian icelandic maltese afrikaans tigrinya
  pashto dari kurdish cebuano ilocano javanese hawaiian maori samoan tongan yiddish creole
VAGUE_FIRST it that this these those them you him her me us myself yourself what how when why who
  where which there here so whatever with in at on for from by around along outside together about
  over into your yours i i'm is was are were thought
VAGUE one ones something anything everything nothing stuff things thing lot much all both some any
  none home work night nights weekends sorry thanks please lol haha btw instrument sport game
  hobby activity hobbies activities
TO_REJECT think say know believe hear see imagine help ask thank mention remind share talk chat
  point add admit tell be have get do
JOBS engineer developer programmer nurse teacher doctor physician surgeon dentist designer
  lawyer attorney manager writer author artist chef cook accountant architect scientist researcher
  professor lecturer journalist photographer musician pharmacist therapist psychologist consultant
  analyst mechanic electrician plumber carpenter firefighter officer pilot driver farmer waiter
  waitress barista cashier librarian veterinarian vet paramedic secretary translator editor
  producer entrepreneur freelancer counselor counsellor intern receptionist technician
  accountant actor actress administrator agent aide apprentice assistant associate auditor baker
  banker bartender barber bookkeeper brewer bricklayer builder butcher buyer caregiver caretaker
  chemist clerk coach coder contractor coordinator courier curator dancer dispatcher doula
  economist educator engineer estimator executive farmhand fisherman florist foreman gardener
  geologist guard hairdresser handyman inspector instructor investigator janitor jeweler judge
  laborer labourer landscaper lifeguard lineman locksmith machinist maid mail_carrier manager
  marketer mason medic midwife miner minister model nanny navigator negotiator notary
  optician optometrist painter paralegal pastor pediatrician planner poet policeman
  police_officer postman president principal priest programmer publicist rabbi ranger realtor
  recruiter reporter roofer sailor salesman saleswoman scientist sculptor server sheriff singer
  soldier solicitor steward stewardess stylist supervisor surveyor tailor tattooist teller
  trader trainer tutor typist underwriter upholsterer usher welder tech ceo cto cfo coo founder
  co-founder director vp nurse_practitioner hygienist sommelier housekeeper
  concierge porter paramedic radiographer sonographer phlebotomist dietitian dietician
  nutritionist physiotherapist physio chiropractor psychiatrist therapist counsellor social_worker
  courier trucker dj comedian animator illustrator copywriter strategist administrator sous_chef
  line_cook dishwasher busser host hostess bouncer cleaner mover driver chauffeur
  scrum_master pm rn lpn emt cna gp adjuster assessor appraiser installer operator controller
  broker organizer packer sorter framer groomer dealer grocer merchandiser stocker salesperson rep
  representative advisor adviser actuary barrister mediator dean archivist decorator glazier tiler
  draftsman tester sysadmin proprietor flight_attendant mailman postal_worker rancher logger deputy
  detective constable sergeant lieutenant carer babysitter au_pair valet butler clinician
FIELDS HR IT marketing sales finance accounting tech healthcare education insurance retail
  hospitality construction logistics law publishing advertising consulting research engineering
  design admissions payroll recruiting procurement compliance operations customer_service
  real_estate software banking journalism nursing pharma fashion
PLAYABLE piano guitar violin viola cello bass drums ukulele flute clarinet saxophone sax trumpet
  trombone
  harp banjo mandolin accordion harmonica oboe keyboard organ tennis golf chess football soccer
  basketball baseball softball volleyball hockey rugby cricket badminton squash pickleball
  bowling poker bridge pool darts snooker table_tennis ping_pong lacrosse handball
ABSTRACT energy diversity connection connections vibe vibes feeling feelings atmosphere idea ideas
  thought thoughts way ways fact support sound look view peace freedom power theme form kind type
  part process experience experiences challenge challenges opportunity opportunities moment moments
  time times chance sense meaning journey story stories progress result results change changes
  impact difference reminder reason reasons aspect aspects side detail details quality balance bond
  community environment spirit passion purpose role effect idea everything nothing mind mindset
  thanks strength courage confidence happiness joy hope calm serenity acceptance self-acceptance
  positivity creativity kindness honesty love gratitude
QUANTIFIERS all both every each some any most many such whole entire other another several
POSSESSIONS car house apartment flat bike bicycle motorbike motorcycle scooter boat piano guitar
  violin laptop computer camera cabin cottage truck van garden farm yacht kayak drone
SPECIES shepherd=dog german_shepherd=dog dog puppy=dog cat kitten=cat rabbit bunny=rabbit
  guinea_pig hamster parrot budgie bird fish
  turtle tortoise horse snake lizard ferret gecko chicken=hen hen goat pig cow axolotl chinchilla
  labrador=dog lab=dog retriever=dog poodle=dog beagle=dog corgi=dog terrier=dog husky=dog
  spaniel=dog dachshund=dog bulldog=dog pug=dog chihuahua=dog collie=dog greyhound=dog
  rottweiler=dog doberman=dog schnauzer=dog mutt=dog pup=dog doggo=dog tabby=cat moggy=cat
  siamese=cat kitty=cat goldfish=fish betta=fish cockatiel=bird canary=bird
DIETS coeliac=gluten-free celiac=gluten-free pure_veg=vegetarian eggetarian vegetarian vegan
  pescatarian pescetarian=pescatarian
  keto gluten-free gluten_free=gluten-free
  plant-based dairy-free dairy_free=dairy-free lactose-free halal kosher paleo low-carb low-sodium
  low-fat sugar-free
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
_ABSTRACT, _QUANTIFIERS = frozenset(_LISTS["ABSTRACT"]), frozenset(_LISTS["QUANTIFIERS"])
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
MORE     honestly|especially|currently|now|recently|finally|officially|kind\s+of|kinda|sort\s+of|do
         |even|way\s+more|much\s+more|a\s+lot\s+more|more
ADV      (?:(?:really|also|absolutely|just|totally|truly|still|actually|definitely|only|literally
         |seriously|genuinely|presently|simply|usually|mostly|<MORE>)\s+)*
I        \bI\s+<ADV>
IC       (?:\bI|(?P<cont>\band))\s+<ADV>
ICV      (?:\bI|(?P<cont>\band))(?:'ve|\s+have)?\s+<ADV>
IM       \bI(?:'m|\s+am)\s+<ADV>
IVE      \bI(?:'ve|\s+have)\s+<ADV>
DONT     \bI\s+(?:don't|dont|do\s+not)\s+<ADV>
NOMORE   \bI\s+<ADV>(?:no\s+longer|don't|dont|do\s+not|used\s+to)\s+<ADV>
HAVE     \bI(?:\s+have|'ve\s+got|\s+have\s+got|\s+(?:just\s+)?(?:got|adopted|bought|rescued
         |brought\s+home)|\s+own)\s+
COUNT    (?P<count>a|an|one|two|three|four|five|\d+)
MOD      (?:(?P<mod>best|closest|oldest|old|good|dear|little|big|older|younger|baby|twin|new|eldest
         |youngest)\s+)?
LINK     (?P<link>'s\s+name\s+is|\s+(?:is|was|are)\s+(?:called|named)|\s+(?:called|named)|\s+is
         |\s+are|\s*,)?
JOB_FREE (?P<job>[\w-]+(?:\s+(?!at\b|for\b|in\b|with\b|and\b|but\b|since\b)[\w-]+){0,3})
QUIT     (?:quit|left|ditched|lost|packed\s+in|resigned\s+from|jacked\s+in|walked\s+out\s+(?:of|on)
         |(?:got|was
         |been)\s+(?:fired|laid\s+off|let\s+go|made\s+redundant)\s+(?:from|by|at))
GOT      (?:got|landed|accepted|started|have|starting|start|begin|began)
STOPPED  (?:stopped|quit|gave\s+up)
WORDS2   [\w-]+(?:\s+[\w-]+)?
DEGREE   (?:degree|masters?|master's|phd|bachelor's|bachelors)
FAN      (?:a\s+)?(?:big\s+|huge\s+|great\s+)?fan\s+of
MOVED    (?:moved|relocated|transferred|shifted)(?:\s+(?:back|over|away|out|here|down|up|across|home
         |house))*\s+(?=to\b
         |from\b|out\s+of\b)
ALLERGIC (?:(?:very|severely|mildly|highly|extremely)\s+)?allergic\s+to\s+
OWNED    (?=(?:a|an|my\s+first|our|a\s+new|two|three)\b)
ROLE     (?P<role><=PARTNER>|<=FAMILY>|<=FRIEND>)s?
SPEC     (?P<species><=SPECIES>)s?
DIET     (?P<diet><=DIETS>)\b
A_DIET   (?:a\s+)?<DIET>
STUDENT  (?:(?:first|second|third|fourth|final|1st|2nd|3rd|4th)[- ]year\s+|(?:grad|graduate|phd
         |doctoral|master's|masters|undergrad|undergraduate|part-time|full-time|mature
         |exchange)\s+)*(?P<field>(?:[\w-]+\s+){0,3}?)(?:student|major)\b
JOB_MAKE (?!(?:optimist|pessimist|realist|perfectionist|idealist|minimalist|introvert
         |extrovert)\b)[a-z]{3,}(?:ist|ician|ologist|grapher|wright|smith|keeper|tender|worker
         |fighter|dresser|maker)
JOB      (?P<job>(?:(?!(?:and|or|at|with|for|in|but|of)\b)[\w-]+\s+){0,3}(?:<=JOBS>|<JOB_MAKE>)s?)\b
PET      <HAVE><COUNT>\s+(?:(?!<=SPECIES>)[\w-]+\s+)?<SPEC>\b
QUANT    both|either|a\s+lot\s+of|lots\s+of|plenty\s+of|all\s+(?:kinds|sorts)\s+of|a\s+bit\s+of|many
         |some|most
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
ABBR     (?<!\bSt)(?<!\bMt)(?<!\bDr)(?<!\bMr)(?<!\bMs)(?<!\bMrs)(?<!\bFt)(?<!\bProf)(?<!\bJr)
         (?<!\bSr)(?<!\b[A-Z])
HARD_CUT \s[\u2013\u2014]\s|<ABBR>\.|,\s*(?:no|not|never|don't|do\s+not|please|pls)\b
         |[!?;:()\[\]"]|\s+-\s+|\s+(?:<H1>
         |<H2>)\b|,\s*(?:and\s+|but\s+|so\s+)?<SUBJECTS>
HARD_CUT <HARD_CUT>|\s+and\s+<SUBJECTS>|\s+(?:and|or)\s+<VERBS>
S1       with|for|as|near|during|after|before|last|next|this|every|each|right\s+now|full[- ]time
MONTH1   jan(?:uary)?|feb(?:ruary)?|march|april|may|june|july
MONTH    <MONTH1>|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?
DAY      (?:mon|tues|wednes|thurs|fri|satur|sun)day
S2       (?:in|on)\s+(?:(?:19|20)\d\d|<MONTH>|<DAY>)|yesterday|recently|tomorrow|tonight
SOFT_CUT ,|\s+(?:<S1>|<S2>|part[- ]time)\b|\s+(?:and|or|&)\s+(?!<CAP>)
F1       now|too|also|anymore|any\s+more|a\s+lot|so\s+much|very\s+much|as\s+well|lately|nowadays
         |nonstop|constantly|recently
F2       these\s+days|right\s+now|at\s+the\s+moment|honestly|actually|really|fluently|well|haha|lol
F3       instead|btw|either|already|today|again|here|there|sometimes|every\s+day|everyday|daily
         |a\s+bit
PARTING  broke\s+up|split\s+up|split|separated|divorced|got\s+divorced|are\s+done|are\s+over
         |am\s+done|called\s+it\s+quits|called\s+it\s+a\s+day|ended\s+(?:it|things)|parted\s+ways
SOMEONE  (?:someone|somebody|a\s+(?:guy|girl|man|woman|lady|boy)|someone\s+new)
TITLEROLE (?-i:Grandpa|Grandma|Granny|Nana|Uncle|Aunt|Auntie|Aunty|Cousin|Baby)
FANADJ   (?:big|huge|massive|great|die-hard|diehard|total|lifelong|devoted)
FANNOUN  (?:fan|nut|fanatic|buff|junkie|addict|geek|nerd|lover|person)s?\b
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


def _table_lines(table: str) -> list[str]:
    """A table's entries: an indented line goes on the pattern of the line before it."""
    lines: list[str] = []
    for line in table.strip().splitlines():
        if line[:1].isspace() and lines:
            lines[-1] += line.strip()
        else:
            lines.append(line)
    return lines


def _fragments() -> dict[str, str]:
    """The named fragments of ``_FRAGMENT_TABLE``, each expanded with those before it."""
    known = {"CAP": _CAP, "CAPWORD": _CAPWORD}
    for line in _table_lines(_FRAGMENT_TABLE):
        name, pattern = line.split(maxsplit=1)
        known[name] = _expand(pattern, known)
    return known


_FRAGMENTS = _fragments()
_WHEN, _HARD_CUT, _SOFT_CUT, _FILLER, _HYPOTHETICAL, _QUESTION_START = (
    _rx(_FRAGMENTS[n]) for n in "WHEN HARD_CUT SOFT_CUT FILLER HYPO QUESTION".split()
)
_PREP_CUT = _rx(
    r"\s+(?:(?:up|down|over|out)\s+)?(?:at|in|on|by|with|for|from|since|during|every)\s+"
)
# "a necklace (to feel closer)", "a camera (off a guy in Bristol)"
_OWN_CUT = _rx(
    _PREP_CUT.pattern + r"|\s+to\s+(?-i:[a-z])|\s+off\s+(?:a|an|the|some|my|his|her|their)\b"
)
_LEADING = re.compile(_FRAGMENTS["LEADING"])  # case-sensitive: "The Beatles" keeps its article
_LANG_LEADING = _rx(r"^(?:(?:a\s+little|little|a\s+bit\s+of|some|basic|fluent|good)\s+)+")
_LIST_SEP = _rx(r"\s*,\s*(?:and\s+|or\s+)?|\s+(?:and|or|&|as\s+well\s+as)\s+")
_NAME_LIST = _rx(
    _FRAGMENTS["NAME"] + r"(?:(?:\s*,\s*(?:and\s+)?|\s+(?:and|&)\s+)" + _FRAGMENTS["NAME"] + ")*"
)
_NAME_ALONE = _rx(r"[\w-]+(?:\s+" + _CAPWORD + r")?\s*(?:$|[,.!;]|(?:and|from|now)\b)")
_NAME_SEP = _rx(r"\s*,\s*(?:and\s+)?|\s+(?:and|&)\s+")
_BROKE_UP = _rx(r"\b(?:broke\s+up|split\s+up|separated|divorced)\s+(?:with\s+|from\s+)?$")
_TO_VERB = _rx(r"^to\s+(?:just\s+|really\s+|also\s+|simply\s+)?([a-z]+)\b")
# Words an object cannot end with: the sentence went on ("escaping to", "around to keep"; "to"
# alone is what "I love to." leaves).
_DANGLING = _rx(
    r"(?:^|\s+)(?:to|a|an|the|it|of|for|with|and|or|my|our|your|at|in|on|from|that|called|named)$"
)
_ROLE_CUT = _rx(
    r"\s+as\s+(?:an?\s+)?[a-z]|\s+(?:to|in)\s+(?-i:[a-z])|\s+(?-i:[a-z]+ing)\b|\s+on\s+(?-i:[A-Z])"
)
_EMPLOYER = _rx(r"^\s+(?:at|for|with)\s+")
_ARTICLE = _rx(r"^(?:the|a|an)\s+")
_JOB_FORCE = re.compile(r"^\s+(?:in|with)\s+the\s+(" + _CAP + r".*)$")
_JOB_TOWN = re.compile(r"^\s+in\s+(" + _CAPWORD + r"(?:\s+" + _CAPWORD + r")*)")
_AGED = _rx(r"^\d{1,3}[- ](?:years?|yrs?)[- ]old\s+")
# "Deloitte's Chicago office": the employer is Deloitte.
_BRANCH = _rx(
    r"^(?P<org>.+?)'s\s+(?P<place>(?:(?-i:[A-Z][\w-]*)\s+)*)"
    r"(?:office|branch|location|store|site|campus|plant"
    r"|warehouse|hq|headquarters|factory|clinic|studio|payroll|books|staff|team)\b"
)
# An employer's name: capitalised words, and the small words inside names ("Bank of America").
_CAP_RUN = re.compile(
    _CAPWORD
    + r"(?:[.']\w*)*(?:\s+(?:(?:of|and|&|de|du|la|the|for|on)\s+)?(?:"
    + _CAPWORD
    + r"(?:[.']\w*)*|&|\d+))*\.?"
)
_CALLED_PLACE = _rx(
    r"^(?:a|an|this)\s+(?:little\s+|small\s+|new\s+)?(?:place|company|firm|shop|restaurant|bar|cafe|café|pub"
    r"|studio|startup|agency|store|clinic)\s+(?:called|named)\s+(?P<name>(?-i:[A-Z][\w'&.-]*"
    r"(?:\s+[A-Z][\w'&.-]*)*))"
)
_ORG_PLACE = re.compile(
    r"^(?P<org>.+?)\s+(?:in|from)\s+(?P<place>" + _CAPWORD + r"(?:\s+" + _CAPWORD + r")*)$"
)
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


def _plan(rest: str) -> list[str]:
    """A plan: "move to Lisbon next year"; not one about "it" (known only in context)."""
    plans = [re.sub(r"\s+to\s+[a-z]+$", "", p) for p in _clause(rest)]
    return [p for p in plans if not _PRONOUN_OBJECT.search(p)]


_org = partial(_phrase, extra=_ROLE_CUT, words=6)  # "Acme Corp" (as a nurse)
_restricted = partial(_phrase, extra=_PREP_CUT, words=5)  # studies: "law" (at Lisbon University)
_SCHOOL = re.compile(r"^[^,;]*?\s+(?:at|in)\s+(?=" + _CAP + ")")


def _study(rest: str) -> list[str]:
    """What someone studies and where: "computer science at NUS" -> both."""
    school = _SCHOOL.match(_hard(rest))
    return _restricted(rest) + (_org(_hard(rest)[school.end() :]) if school else [])


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


_PRONOUN_OBJECT = _rx(r"\b(?:it|them|this|that|these|those)\b")
_PRONOUN_WORDS = frozenset(
    "i me my mine we us our ours you your yours it its they them their theirs he him his she her "
    "hers this that these those myself".split()
)


# What follows a taste and is not part of it: "the beach (with my friends on sunny days)".
# What follows a taste and is not part of it: "the beach (with my friends on sunny days)";
# "with" goes with the thing unless people follow ("experimenting with spices").
_COMPANY_CUT = _rx(
    r"\s+(?:with\s+(?=[^.;!?]*\b(?:my|our|your|his|her|their|me|us|them|friends|family)\b)"
    r"|(?:on|during|every|after|before|when|while|because|since)\s+)"
)
# Where a taste ends: a comma, a time ("in May"), a purpose ("for fun") or company.
_TASTE_CUT = _rx(_FRAGMENTS["SOFT_CUT"].replace("with|", "", 1) + "|" + _COMPANY_CUT.pattern)
# Definite things one likes in general ("the beach"); any other "the X" is one thing in view
# ("I love the colors!" of a photo).
_GENERAL_THE = frozenset(
    "beach ocean sea sun snow rain mountains outdoors countryside city theatre theater opera "
    "ballet gym cinema movies outdoors woods forest desert lake water".split()
)
_NOT_A_START = frozenset("to not ever never also just so very really".split())
_LIGHT_GERUNDS = frozenset(
    "being playing going making doing having getting trying seeing taking coming working using "
    "putting keeping giving finding letting watching looking".split()
)
_SMALL_WORDS = frozenset("a an the of at in on to for with and or by from".split())


def _is_taste(obj: str) -> bool:
    """Whether ``obj`` reads as something a person likes in general, not a piece of a sentence.

    No pronoun inside ("the friends I have"), at most four content words, not led by a quantifier
    ("all dances") and not an abstraction ("the energy", "connection to nature").
    """
    words = obj.lower().replace("-", " ").split()
    content = [w for w in words if w not in _SMALL_WORDS]
    if not words or words[0] in _NOT_A_START or words[0].endswith("ly") or words[-1] == "ago":
        return False  # "to experience...", "not being", "professionally", "five years ago"
    if {"is", "are", "was", "were"}.intersection(words):
        return False  # "now is jazz": a clause, not a thing
    if len(words) == 1 and words[0] in _LIGHT_GERUNDS:
        return False  # "being", "playing": the thing itself was left out
    return (
        0 < len(content) <= 4
        and not _PRONOUN_WORDS.intersection(words)
        and words[0] not in _QUANTIFIERS
        and words[0] not in _ABSTRACT
        and words[-1] not in _ABSTRACT
    )


_KINDS = frozenset(
    "movies films shows books novels games songs music food dishes series comics podcasts "
    "documentaries stories bands artists".split()
)


def _shared_head(items: list[str]) -> list[str]:
    """Two things sharing a kind of thing: "action and sci-fi movies" are both movies."""
    single = " " not in items[0] and not items[0].endswith("s") if items else False
    if len(items) == 2 and single and items[1].split()[-1].lower() in _KINDS:
        return [f"{items[0]} {items[1].split()[-1]}", items[1]]
    return items


def _tastes(rest: str, extra: Cut = None, *, in_view: bool = True) -> list[str]:
    """The things someone likes or dislikes in ``rest``, when they read as tastes.

    With ``in_view``, "the colors" (of a photo) is a thing in view, not a taste.
    """
    # "dog person 4 life", "a 5k": numbers and "person" are no taste
    text = _hard(rest).strip()
    if not re.match(r"(?:to\s+)?\w+ing\b", text, re.IGNORECASE):  # "a good fantasy (with ...)"
        text = re.split(r"\s+with\s+", text, maxsplit=1)[0]
    found = _shared_head(_items(text, extra or _TASTE_CUT, whole=True, in_view=in_view))
    return [o for o in found if _is_taste(o) and not re.search(r"\d|\bperson\b", o)]


def _joined_list(parts: list[str]) -> list[str]:
    """List parts put together again where "and" joined two words of one phrase.

    In "a safe and inviting place", a part ending in an article and one word ends no thing.
    """
    out: list[str] = []
    for part in parts:
        dangling = out and re.search(r"\b(?:a|an|the)\s+[\w-]+$", out[-1])
        if dangling and not re.match(r"(?:a|an|the|my|our|some)\b", part, re.IGNORECASE):
            out[-1] = f"{out[-1]} and {part}"
        else:
            out.append(part)
    return out


def _bare(text: str) -> str:
    """``text`` without edge punctuation and trailing fillers ("the cello anymore")."""
    return _EDGES.sub("", _FILLER.sub("", _EDGES.sub("", text)))


def _in_view(text: str) -> bool:
    """Whether "the ..." names one thing in view ("the colors") rather than a general one."""
    the = re.match(r"the\s+(?-i:([a-z][\w-]*))(\s+\S)?", text)
    return bool(the) and (the.group(1) not in _GENERAL_THE or bool(the.group(2)))


def _items(
    rest: str, extra: Cut = None, *, whole: bool = False, in_view: bool = False
) -> list[str]:
    """A list of things ("pizza, pasta and sushi"), articles and quantifiers stripped.

    With ``whole``, a thing cut off mid-phrase ("escaping to", "the colors" of a photo) is
    left out rather than trimmed.
    """
    text = _hard(rest).strip()
    to_verb = _TO_VERB.match(text)
    if to_verb:
        if to_verb.group(1).lower() in _TO_REJECT:
            return []
        text = _gerund(to_verb.group(1)) + text[to_verb.end() :]
    out: list[str] = []
    parts = _joined_list(_LIST_SEP.split(text))
    if in_view and parts and _in_view(_bare(parts[0])):
        return []  # "the dark sky and green scenery" of a photo: things in view, not tastes
    for part in parts:
        piece = _soft(part, extra, soft=not whole).strip() if extra else part
        if part != piece and re.search(r"\b(?:a|an|the)\s+[\w-]+$", piece) and " and " in part:
            continue  # "creating a safe (and inviting place...)": cut inside one thing
        if in_view and _in_view(_bare(piece)):
            continue  # "the awesome food of this city": one thing in context, not a taste
        if whole and _DANGLING.search(_bare(piece)):
            continue
        out += _checked(_tidy(_LEADING.sub("", piece)))
    return out


_JOB_HEAD = _rx(r"\b(?:" + _FRAGMENTS["JOB_MAKE"] + "|" + _alt(_LISTS["JOBS"]) + r")s?\b")
_FAN_CUT = _rx(r"\s+" + _FRAGMENTS["FANNOUN"])


# Things one is a fan of as a whole, not one at a time ("a jazz fan" likes jazz).
_MASS = frozenset(
    "music jazz rock pop rap hip-hop metal folk classical coffee tea wine beer food art "
    "football soccer baseball basketball hockey rugby cricket golf tennis anime theatre theater "
    "opera ballet poetry fashion nature science history sport sports chocolate sushi pizza".split()
)


def _fandom(rest: str) -> list[str]:
    """What someone is a fan of: "Mariners" (fan), "coffee" (person), movies ("a movie fan")."""
    found = _items(rest, extra=_FAN_CUT)[:1]
    return [
        f"{o}s" if o.islower() and " " not in o and o[-1] != "s" and o not in _MASS else o
        for o in found
    ]


_SINCE = _rx(
    r"\s+(?:about|around|for|since)\s+(?:\w+\s+)?(?:years?|months?|weeks?)\b|\s+\w+\s+ago\b"
)
_ACTIVITY_CUT = _rx(_PREP_CUT.pattern + "|" + _SINCE.pattern + r"|\s+(?:off|via|using|through)\s+")


def _activities(rest: str) -> list[str]:
    """What someone plays: "the guitar" (in a band, for five years), read as a taste."""
    return _tastes(rest, _ACTIVITY_CUT, in_view=False)  # "the piano" is an instrument


_ALLERGY_ONE = _rx(r"^(?:an?\s+)?(?:(?:severe|mild|bad|serious|slight)\s+)?one\s+to\s+")


def _allergens(rest: str) -> list[str]:
    """What someone is allergic to: "peanut" (allergy); "a mild one to penicillin" too."""
    items = _items(rest, extra=_ALLERGY_WORD)
    return [o for o in (_ALLERGY_ONE.sub("", i) for i in items) if o]


def _languages(rest: str) -> list[str]:
    """Language names: the first item if capitalised, and every known one in the clause.

    "Tagalog with my parents and English everywhere else", "Mandarin and Cantonese and
    conversational Japanese": each language is named, whatever comes between.
    """
    items = [_LANG_LEADING.sub("", item) for item in _items(rest)]
    first = [i for i in items[:1] if _is_name(i) and " " not in i]
    clause = re.findall(r"[\w-]+", _hard(rest))
    known = [w.capitalize() for w in clause if w.lower() in _LANGUAGES]
    return list(dict.fromkeys([*first, *known]))


def _is_name(word: str) -> bool:
    return word[:1].isupper() and word.lower() not in _NOT_NAMES


_TITLE = re.compile(r"^(?:Dr|Mr|Mrs|Ms|Mx|Prof|Sir|Dame)\.?\s+")


def _names(rest: str, *, loose: bool = False) -> list[str]:
    """The names at the start of ``rest``: "Ana", "Ana Maria", "Ana and Rita"."""
    rest = _TITLE.sub("", rest)
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


def _generic(m: Match, who: str, conf: float, neg: bool, *, pred: str, clean: Cleaner) -> Facts:
    """One ``pred`` fact per object that ``clean`` finds after the match."""
    return [_fact(who, pred, o, confidence=conf, negated=neg) for o in clean(_rest(m))]


def _name(m: Match, speaker: str, conf: float, neg: bool) -> Facts:
    """The speaker's name; a ``loose`` group allows lowercase, ``alone`` wants nothing after."""
    if "alone" in m.re.groupindex and not _NAME_ALONE.match(_rest(m)):
        return []
    title = _TITLE.match(_rest(m).lstrip())
    names = _names(_rest(m).lstrip(), loose="loose" in m.re.groupindex)[:1]
    names = [n for n in names if not n.lower().endswith("ing")]
    if title:  # "address me as Dr. Okafor": the title is part of how they are called
        names = [f"{title.group().strip()} {n}" for n in names]
    return [_fact(speaker, "name", n, confidence=conf) for n in names]


def _age(m: Match, speaker: str, conf: float, neg: bool) -> Facts:
    """For "I am 34 years old"."""
    age = int(m.group("age"))
    return [_fact(speaker, "age", str(age), confidence=conf)] if 0 < age < 120 else []


def _moved(m: Match, speaker: str, conf: float, neg: bool) -> Facts:
    """For "I moved (from X) to Y": closes X, opens Y."""
    parts = _MOVE_PARTS.match(_hard(_rest(m)))
    if parts is None:
        return []
    old, new = parts.group("old") or "", parts.group("new") or ""
    at_work = _WORKPLACE_WORDS.search(old) or _SAME_JOB.search(m.string)
    if at_work or re.match(r"^(?:the\s+)?" + _CAPWORD + r"'s\b", new):
        # "from the Home Depot paint desk to Lowe's": a new employer, not a new home
        return _workplaces(speaker, old, 0.6, negated=True) + _workplaces(speaker, new, 0.6)
    out = [_fact(speaker, "lives_in", p, negated=True) for p in _place(old)]
    return out + [_fact(speaker, "lives_in", p) for p in _place(new)]


def _workplaces(subject: str, text: str, conf: float, *, negated: bool = False) -> Facts:
    """Employers at the start of ``text``; "Acme in Leeds" also says where they live."""
    out: list[FactCandidate] = []
    called = _CALLED_PLACE.match(text.strip())
    for org in [called.group("name")] if called else _org(text):
        branch = _BRANCH.match(org)
        org = branch.group("org") if branch else org
        place = None if negated else _ORG_PLACE.match(org)
        org = place.group("org") if place else org
        where = place.group("place") if place else (branch.group("place").strip() if branch else "")
        capitalised = _CAP_RUN.match(org)
        org = capitalised.group() if capitalised and org[:1].isupper() else org
        if _GENERIC_EMPLOYER.fullmatch(org) or _DURATION.fullmatch(org):  # "the team", "years"
            continue
        out.append(_fact(subject, "works_at", org, confidence=conf, negated=negated))
        if where and not negated:
            out.append(_fact(subject, "lives_in", where, confidence=0.6))
    return out


_GENERIC_EMPLOYER = _rx(
    r"(?:the|a|an|my|our)\s+(?:same\s+|new\s+|old\s+)?(?:team|company|office|place|job|firm"
    r"|business|organi[sz]ation|group|work|employer|workplace)"
)
_DURATION = _rx(
    r"(?:a|an|the\s+past|the\s+last)?\s*(?:few\s+|couple\s+of\s+|long\s+|several\s+|many\s+"
    r"|\d+\s+|one\s+|two\s+|three\s+|four\s+|five\s+|six\s+|ten\s+|twenty\s+)?"
    r"(?:years?|months?|weeks?|days?|hours?|ages|while|time|decades?)"
)
_WORKPLACE_WORDS = _rx(
    r"\b(?:desk|job|role|team|department|dept|company|firm|store|shop|counter)\b"
)
_SAME_JOB = _rx(r"\bsame\s+(?:job|role|position|work|team)\b|\b(?:better|longer|shorter)\s+hours\b")
_AS_JOB = _rx(r"\bas\s+(?:an?\s+)?(?P<job>[\w-]+(?:\s+[\w-]+){0,2})")


_SCHOOLISH = re.compile(r"\b(?:University|College|School|Academy|Institute|Uni|Polytechnic)\b")
_STUDYING = _rx(r"\b(?:studying|majoring\s+in|to\s+study)\s+")
_DOING = _rx(r"\b(?:doing|studying|to\s+study|reading|to\s+read|majoring\s+in)\s+")


def _employer(m: Match, speaker: str, conf: float, neg: bool) -> Facts:
    """For "I work at Acme (in Leeds)", "been with Acme", "I quit Acme"; "... as a nurse".

    Starting at a school ("started at Leeds Uni doing biochem"), or at a place one then says
    one is studying at ("started at McGill studying law"), is studying there.
    """
    starting = re.search(r"\b(?:start|started|starting|began|beginning)\b", m.group(), re.I)
    school = _org(_rest(m))
    studying = _STUDYING.search(_hard(_rest(m)))
    if starting and school and (_SCHOOLISH.search(school[0]) or studying) and not neg:
        doing = _DOING.search(_hard(_rest(m)))
        fields = _restricted(_hard(_rest(m))[doing.end() :]) if doing else []
        return [_fact(speaker, "studies", o, confidence=conf) for o in [school[0], *fields]]
    out = _workplaces(speaker, _rest(m), conf, negated=neg)
    role = None if neg else _AS_JOB.search(_hard(_rest(m)))
    job = _tidy(_soft(role.group("job")), max_words=3) if role else ""
    if out and job and _JOB_HEAD.search(job):
        out.append(_fact(speaker, "job", job, confidence=conf))
    return out


def _job(m: Match, speaker: str, conf: float, neg: bool) -> Facts:
    """For "I'm a nurse (at X)": a job, and an employer when one follows."""
    job = _tidy(_AGED.sub("", _ARTICLE.sub("", _group(m, "job"))), max_words=4)
    if not _checked(job):
        return []
    negated = bool(_group(m, "neg"))
    employer = None if negated else _EMPLOYER.match(_rest(m))
    orgs = _workplaces(speaker, _rest(m)[employer.end() :], conf) if employer else []
    force = None if negated or employer else _JOB_FORCE.match(_rest(m))  # "in the RCMP"
    orgs += _workplaces(speaker, force.group(1), conf) if force else []
    town = None if negated or employer else _JOB_TOWN.match(_rest(m))  # "a postman in Dundee"
    towns = (
        [_fact(speaker, "lives_in", p, confidence=0.6) for p in _place(town.group(1))]
        if town
        else []
    )
    return [_fact(speaker, "job", job, confidence=conf, negated=negated), *orgs, *towns]


def _relation(m: Match, speaker: str, conf: float, neg: bool) -> Facts:
    """For "my sister Ana", "my wife is called Maria", "Sam is my best friend"."""
    word = _group(m, "role").lower()
    pred, role = RELATION_WORDS[word]
    if pred == "friend" and _group(m, "mod").lower() in ("best", "closest"):
        role = "best friend"
    link = _group(m, "link").lower()
    if _group(m, "name"):
        said = _NAME_SEP.split(_group(m, "name"))  # "Tomás and Beatriz, my oldest friends"
        names = [n for n in (_person(p) for p in said) if n]
    else:
        names = _names(_rest(m), loose=any(w in link for w in ("call", "name")))
    if link == "," and not re.match(
        r"\s*[\w-]+(?:\s+[A-Z][\w-]*)?\s*(?:[,.!;]|$|\s+(?:is|was|has|and|who|lives|works|just|also))",
        _rest(m),
    ):
        return []  # "My brother, Lagos traffic...": a vocative and a sentence, not a name
    conf = 0.6 if link in ("is", "was") else conf
    negated = bool(_BROKE_UP.search(m.string[: m.start()]))
    return [_fact(speaker, pred, n, role=role, confidence=conf, negated=negated) for n in names]


def _closing(subject: str, *predicates: str) -> Facts:
    """Candidates that close whatever value ``predicates`` hold now (no value named)."""
    return [_fact(subject, p, "", negated=True) for p in predicates]


def _quit(m: Match, speaker: str, conf: float, neg: bool) -> Facts:
    """For "I quit Acme", "I left my job at Acme": the employer and the job both end."""
    rest = _rest(m)
    # Leaving an employer ("I left Google (for Stripe)") need not change what one does.
    left = re.search(r"\bleft\s*$", m.group(), re.IGNORECASE)
    job = [] if left else _closing(speaker, "job")
    return _workplaces(speaker, rest, conf, negated=True) + job


def _retired(m: Match, speaker: str, conf: float, neg: bool) -> Facts:
    """For "I retired" (now retired: that replaces the job), "I lost my job" (no job now)."""
    if re.search(r"\bretired\b", m.group(), re.IGNORECASE):
        return [_fact(speaker, "job", "retired", confidence=conf), *_closing(speaker, "works_at")]
    return _closing(speaker, "job", "works_at")


def _left_for(m: Match, speaker: str, conf: float, neg: bool) -> Facts:
    """For "I left Google for Stripe": the old employer closed, the new one opened."""
    old, _, new = _hard(_rest(m)).partition(" for ")
    return _workplaces(speaker, old, conf, negated=True) + _workplaces(speaker, new, conf)


def _switched(m: Match, speaker: str, conf: float, neg: bool) -> Facts:
    """For "I switched to history", "doing keto instead": a new value, its relation unsaid.

    The learner places it by the value it replaces (``graph.changes``).
    """
    said = _group(m, "x") or _rest(m)
    values = _phrase(_ARTICLE.sub("", said.strip()), extra=_ACTIVITY_CUT, words=4)[:1]
    return [_fact(speaker, CHANGED_TO, v, confidence=conf) for v in values]


def _promoted(m: Match, speaker: str, conf: float, neg: bool) -> Facts:
    """For "I got promoted to head chef", "they made me team lead"."""
    job = _tidy(_soft(_AGED.sub("", _group(m, "job"))), max_words=4)
    if not _checked(job) or not (_JOB_HEAD.search(job) or "promoted" in m.group().lower()):
        return []
    return [_fact(speaker, "job", job, confidence=conf)]


def _parted(m: Match, speaker: str, conf: float, neg: bool) -> Facts:
    """For "Chloe and I split up", "the divorce from Kevin", "I'm single again"."""
    named = _group(m, "x") or _group(m, "y") or _group(m, "z")
    person = _person(named) if named else None
    if named and person is None:
        return []
    return [_fact(speaker, "partner", person or "", negated=True)]


def _wed(m: Match, speaker: str, conf: float, neg: bool) -> Facts:
    """For "Anil and I got married", "Jordan proposed", "I married Sam"."""
    person = _person(_group(m, "x"))
    how = _group(m, "how").lower()
    getting = "getting" in m.group().lower()  # "are getting married": engaged, not yet wed
    engaged = how in ("engaged", "proposed") or how.startswith("popped") or getting
    role = "fiancé" if engaged else "spouse" if how else None
    return [_fact(speaker, "partner", person, role=role, confidence=conf)] if person else []


def _gone(m: Match, speaker: str, conf: float, neg: bool) -> Facts:
    """For "RIP Nugget", "Walter passed away": whoever of that name is no longer with them."""
    person = _person(_group(m, "x") or _group(m, "y") or _group(m, "z") or _group(m, "w"))
    kinds = ("pet", "partner", "family", "friend")
    return [_fact(speaker, p, person, negated=True) for p in kinds] if person else []


def _pet_is(m: Match, speaker: str, conf: float, neg: bool) -> Facts:
    """For "Ziggy is my ferret now"."""
    person = _person(_group(m, "x"))
    word = _SPACES.sub(" ", _group(m, "species").lower())
    species = _SPECIES.get(word, word)
    obj = f"{_an(word)}{word} named {person}"
    return [_fact(speaker, "pet", obj, role=species, confidence=conf)] if person else []


_DISCOURSE = _rx(
    r"^(?:(?:plus|also|and|but|so|honestly|truly|really|actually|besides|anyway)\s+)+"
    r"|(?:\s+(?:truly|really|honestly|just|always|actually|definitely|so))+$"
)


def _taste_is(m: Match, speaker: str, conf: float, neg: bool) -> Facts:
    """For "roasted brussels sprouts are amazing", "running is my thing".

    "Cooking and baking are my creative outlets" is two tastes.
    """
    thing = _group(m, "x")
    if re.match(
        r"the\s+(?-i:[a-z])|(?:this|that|it|everything|must|might|could|would|should|may|will|can)\b",
        thing,
        re.IGNORECASE,
    ):
        return []  # "the food was amazing": one thing in view ("The Hobbit" is a title)
    if _PRONOUN_WORDS.intersection(thing.lower().split()):
        return []  # "your passion and commitment are awesome": praise, not a taste
    thing = _DISCOURSE.sub("", thing)  # "Plus pets are the best", "weddings truly are"
    # A capital that only starts the sentence is not a name: "Running" is running.
    if re.match(r"[A-Z][a-z]+ing\b", thing):
        thing = thing[0].lower() + thing[1:]
    return [_fact(speaker, "likes", o, confidence=0.6) for o in _tastes(thing)]


_LEAD_VERB = _rx(
    r"^(?:I|and)\s+(?:\w+\s+)*?(?:opened|started|launched|founded|run|own|set\s+up)\s+"
)
_BUSINESS_PLACE = re.compile(
    r"^[^.;!?]*?\s+(?:in|out\s+of)\s+(?P<place>" + _CAPWORD + r"(?:\s+" + _CAPWORD + r")*)"
)
_CALLED = _rx(
    r"(?:\s*[-\u2013\u2014:,]\s*|\s+(?:called|named)\s+)(?P<name>"
    + _CAPWORD
    + r"(?:\s+"
    + _CAPWORD
    + r")*)"
)


def _business(m: Match, speaker: str, conf: float, neg: bool) -> Facts:
    """For "I opened my own shop, Reyes Auto", "I run Sal & Sons out of Scranton": theirs."""
    rest = _rest(m)
    named = _CALLED.match(rest) or (_CAP_RUN.match(rest) if rest[:1].isupper() else None)
    what = named.group(named.lastgroup or 0) if named else _LEAD_VERB.sub("", m.group())
    where = _BUSINESS_PLACE.match(rest[named.end() :] if named else rest)
    place = [_fact(speaker, "lives_in", where.group("place"), confidence=0.6)] if where else []
    return [_fact(speaker, "owns", what.strip(" ,."), confidence=conf), *place]


def _moved_someone(m: Match, speaker: str, conf: float, neg: bool) -> Facts:
    """For "we moved Grandma Edith into Sunrise": where that person lives now."""
    person = _person(_group(m, "x"))
    return [_fact(person, "lives_in", p, confidence=0.6) for p in _org(_rest(m))] if person else []


def _habit(m: Match, speaker: str, conf: float, neg: bool) -> Facts:
    """For "I've been painting for years", "I started surfing five years ago": a hobby."""
    thing = _tidy(_group(m, "x"), max_words=4)
    if re.search(r"\s" + _CAP, thing):
        return []  # "dating Jordan for two years": a relationship, not a hobby
    return [_fact(speaker, "likes", o, confidence=0.6) for o in [thing] if _is_taste(o)]


def _no_diet(m: Match, speaker: str, conf: float, neg: bool) -> Facts:
    """For "I'm eating meat again": whatever diet they kept is over."""
    return _closing(speaker, "diet")


_DOERS = {
    "bartend": "bartender",
    "waitress": "waitress",
    "tutor": "tutor",
    "babysit": "babysitter",
    "nanny": "nanny",
    "freelance": "freelancer",
    "lifeguard": "lifeguard",
    "teach": "teacher",
    "coach": "coach",
    "nurse": "nurse",
}


def _verb_job(m: Match, speaker: str, conf: float, neg: bool) -> Facts:
    """For "I bartend at a place called The Copper Fox": the job its verb names, and where."""
    job = _DOERS[_group(m, "verb").lower()]
    return [_fact(speaker, "job", job, confidence=conf), *_workplaces(speaker, _rest(m), conf)]


def _teach(m: Match, speaker: str, conf: float, neg: bool) -> Facts:
    """For "I teach maths at Hollins High": a teacher, and the school they teach at."""
    orgs = _workplaces(speaker, _rest(m), conf)
    return [_fact(speaker, "job", "teacher", confidence=0.6), *orgs]


def _jobless(m: Match, speaker: str, conf: float, neg: bool) -> Facts:
    """For "I'm between jobs": no job and no employer now."""
    return _closing(speaker, "job", "works_at")


def _moving_to(m: Match, speaker: str, conf: float, neg: bool) -> Facts:
    """For "I'm moving to Lisbon in June": a plan (they live there once they say they moved)."""
    return [_fact(speaker, "plans", f"move to {p}", confidence=0.6) for p in _place(_rest(m))]


def _native(m: Match, speaker: str, conf: float, neg: bool) -> Facts:
    """For "I'm a native Tamil speaker", "Polish is my first language"."""
    return [_fact(speaker, "speaks", (_group(m, "x") or _group(m, "y")).capitalize())]


def _no_dislike(m: Match, speaker: str, conf: float, neg: bool) -> Facts:
    """For "mushrooms are fine now": the dislike is over."""
    return [
        replace(f, predicate="dislikes", negated=True) for f in _taste_is(m, speaker, conf, neg)
    ]


def _taste_is_not(m: Match, speaker: str, conf: float, neg: bool) -> Facts:
    """For "olives are disgusting"."""
    return [replace(f, predicate="dislikes") for f in _taste_is(m, speaker, conf, neg)]


def _apprentice(m: Match, speaker: str, conf: float, neg: bool) -> Facts:
    """For "year 2 of my electrician apprenticeship"."""
    return [_fact(speaker, "job", f"apprentice {_group(m, 'x').lower()}", confidence=conf)]


def _allergy_named(m: Match, speaker: str, conf: float, neg: bool) -> Facts:
    """For "because of my nut allergy", "a bee sting allergy"."""
    thing = _tidy(_group(m, "x"), max_words=3)
    if thing.lower() in ("no", "any", "an", "the", "food", "severe", "mild") or not _is_taste(
        thing
    ):
        return []
    return [_fact(speaker, "allergic_to", thing, confidence=0.6)]


def _gone_off(m: Match, speaker: str, conf: float, neg: bool) -> Facts:
    """For "I've gone right off crime dramas": a dislike now, the liking over."""
    things = _tastes(_rest(m))
    return [_fact(speaker, "dislikes", o) for o in things] + [
        _fact(speaker, "likes", o, negated=True) for o in things
    ]


def _titled(m: Match, speaker: str, conf: float, neg: bool) -> Facts:
    """For "Grandpa Hiro", "Auntie Grace", "Baby Noah": a relative named by role."""
    person = _person(_group(m, "x"))
    word = _group(m, "role").lower()
    pred, role = ("family", "child") if word == "baby" else RELATION_WORDS[word]
    return [_fact(speaker, pred, person, role=role, confidence=conf)] if person else []


def _friends_no_more(m: Match, speaker: str, conf: float, neg: bool) -> Facts:
    """For "Kayla and I aren't friends anymore"."""
    person = _person(_group(m, "x"))
    return [_fact(speaker, "friend", person, negated=True)] if person else []


def _vegan(m: Match, speaker: str, conf: float, neg: bool) -> Facts:
    """For "I don't eat any animal products"."""
    return [_fact(speaker, "diet", "vegan", confidence=conf)]


def _reaction(m: Match, speaker: str, conf: float, neg: bool) -> Facts:
    """For "tree nuts make my throat swell": an allergy told by its symptom."""
    thing = _tidy(_LEADING.sub("", _group(m, "x")), max_words=3)
    return [_fact(speaker, "allergic_to", o, confidence=conf) for o in _checked(thing)]


def _program(m: Match, speaker: str, conf: float, neg: bool) -> Facts:
    """For "I'm doing a dental hygiene program at VCC": the field and the school."""
    field = _tidy(_group(m, "field"), max_words=3)
    schools = _org(_rest(m))
    return [_fact(speaker, "studies", o, confidence=conf) for o in [*_checked(field), *schools]]


_TO_READ = _rx(r"^(?P<org>.+?)\s+to\s+(?:read|study|do|major\s+in)\s+(?P<field>.+)$")


def _admitted(m: Match, speaker: str, conf: float, neg: bool) -> Facts:
    """For "Got into Warwick to read history": the school, and the subject when named."""
    text = _hard(_rest(m))
    parts = _TO_READ.match(text)
    schools = _org(parts.group("org") if parts else text)
    fields = _restricted(parts.group("field")) if parts else []
    return [_fact(speaker, "studies", o, confidence=conf) for o in [*schools, *fields]]


def _diet_named(m: Match, speaker: str, conf: float, neg: bool) -> Facts:
    """For "the doctor put me on a low-sodium diet"."""
    diet = _group(m, "diet").lower()
    diet = _DIETS.get(diet, diet)
    return (
        []
        if diet in _VAGUE or diet in ("new", "special", "good", "healthy")
        else [_fact(speaker, "diet", diet, confidence=conf)]
    )


def _work_in(m: Match, speaker: str, conf: float, neg: bool) -> Facts:
    """For "I'm working in Singapore as a bartender": where they are, and the job."""
    out = [_fact(speaker, "lives_in", p, confidence=0.6) for p in _place(_rest(m))]
    role = _AS_JOB.search(_hard(_rest(m)))
    job = _tidy(_soft(role.group("job")), max_words=3) if role else ""
    return out + ([_fact(speaker, "job", job, confidence=conf)] if _JOB_HEAD.search(job) else [])


def _graduated(m: Match, speaker: str, conf: float, neg: bool) -> Facts:
    """For "I graduated": what they studied is history."""
    return _closing(speaker, "studies")


_MONTHS = {
    m[:3].lower(): m
    for m in "January February March April May June July August September October November "
    "December".split()
}
_DATE = _rx(
    r"^(?:(?P<d1>\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<m1>[a-z]{3,9})"
    r"|(?P<m2>[a-z]{3,9})\.?\s+(?P<d2>\d{1,2})(?:st|nd|rd|th)?)\b"
)


def _date(text: str) -> str | None:
    """A day of the year as said ("oct 3rd" -> "October 3", "14 March"), or None."""
    m = _DATE.match(text.strip())
    if m is None:
        return None
    month = _MONTHS.get((m["m1"] or m["m2"]).lower()[:3])
    if month is None or not (m["m1"] or m["m2"]).lower().startswith(month.lower()[:3]):
        return None
    return f"{m['d1']} {month}" if m["d1"] else f"{month} {m['d2']}"


def _birthday(m: Match, speaker: str, conf: float, neg: bool) -> Facts:
    """For "my birthday is oct 3rd", "I was born on 14 March"."""
    day = _date(_rest(m))
    return [_fact(speaker, "birthday", day, confidence=conf)] if day else []


def _student(m: Match, speaker: str, conf: float, neg: bool) -> Facts:
    """For "I'm a nursing student at Humber": studies nursing, and the school that follows."""
    field = _tidy(_group(m, "field"), max_words=4)
    school = _EMPLOYER.match(_rest(m)) or re.match(r"^\s+(?:in|from)\s+(?=" + _CAP + ")", _rest(m))
    schools = _org(_rest(m)[school.end() :]) if school else []
    return [_fact(speaker, "studies", o, confidence=conf) for o in [*_checked(field), *schools]]


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
    objs = _tastes(_rest(m))
    out = [_fact(speaker, "dislikes", o) for o in objs]
    if _ANYMORE.search(_hard(_rest(m))):
        out += [_fact(speaker, "likes", o, negated=True) for o in objs]
    return out


def _going(m: Match, speaker: str, conf: float, neg: bool) -> Facts:
    """For "I'm going to X next week" (only with a time expression)."""
    objs = [o for o in _plan(_rest(m)) if _WHEN.search(o)]
    first = objs[0].split()[0] if objs else ""
    if objs and (first[0].isupper() or first.lower() in ("the", "a", "an", "my", "our")):
        objs = ["go to " + objs[0]]
    return [_fact(speaker, "plans", o) for o in objs]


def _owns(m: Match, speaker: str, conf: float, neg: bool) -> Facts:
    """For "I bought a house"; for a "have" (conf < 0.9) only things or brands; "I sold my car"."""
    if neg:
        return [_fact(speaker, "owns", _an(o) + o, negated=True) for o in _phrase(_rest(m))]
    out: list[FactCandidate] = []
    for obj in _phrase(_rest(m), extra=_OWN_CUT):
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
@name                 (?:\bmy\s+|\bthe\s+|^\W*)name(?:\s+is|'s)\s+(?P<loose>)
@name                 ^\W*myself\s+(?=<CAP>)
@name                 \b(?:reverted|gone\s+back|went\s+back|changed\s+(?:it\s+)?back)\s+to\s+my\s+
                      (?:maiden|old)\s+name
                      \s*[,:-]?\s+
@name                 \busing\s+my\s+(?:full|real|legal|new|maiden|proper)\s+name\s*
                      (?:now\s*)?[-\u2013\u2014:,]*\s*
@name                 \b(?:sur)?name\b[^.;!?]*?\b(?:now\s+it\s+is|it's\s+now|is\s+now)\s+(?=<CAP>)
@name                 \b(?:call\s+me|(?:address|refer\s+to)\s+me\s+as|(?:people
                      |everyone)\s+calls?\s+me|I\s+go\s+by|I(?:'m
                      |\s+am)\s+going\s+by)\s+
@name~                <IM>(?=<CAP>)(?P<alone>)
@age                  <IM>(?P<age>\d{1,3})\s*(?:years?\s+old|yrs?\s+old|yo|y/o)\b
@age                  <I>turned\s+(?P<age>\d{1,3})\b
@age                  (?:<IM>|\bmyself\s+)<CAPWORD>(?:\s+<CAPWORD>){0,2}\s*,\s+(?P<age>\d{1,2})
                      (?:\s+(?:years?|yrs?)(?:\s+old)?)?(?=\s*(?:$|[,.!;]))
@age                  (?:<IM>turning\s+|<IM>(?:going\s+to\s+be|gonna\s+be)\s+
                      |<I>(?:'ll|will)\s+be\s+)
                      (?P<age>\d{1,3})\b
@age                  <I>(?:turn|will\s+be|am\s+turning|'m\s+turning
                      |just\s+turned)\s+(?P<age>\d{1,3})\b
@age~                 <IM>(?P<age>\d{1,2})(?=\s*(?:$|[,.!;]|and\b|but\b|btw\b|now\b|this\s+year\b
                      |today\b|as\s+of\b|years?\b|lol\b|don't\b|but\b|so\b|haha\b))
@age                  <IM>(?:an?\s+)?(?P<age>\d{1,3})[- ](?:years?|yrs?)[- ]old\b
@age~                 ^\W*(?P<age>\d{1,2})\s+today\b
@age~                 \bmy\s+(?P<age>\d{1,3})(?:st|nd|rd|th)\s+(?:birthday|bday)\b(?=[^.;!?]*\b
                      (?:today|tomorrow|this\s+week|is))
@birthday             \bmy\s+(?:birthday|birth\s+date|date\s+of\s+birth)(?:\s+is|'s)\s+(?:on\s+)?
                      (?:the\s+)?
@birthday             <I>was\s+born\s+on\s+(?:the\s+)?
lives_in:place        <IC>(?:live|reside)\s+in\s+
lives_in:place        (?:<IC>(?:live|stay|am\s+staying)|<IM>staying)\s+(?:with\s+[^.;!?]*?\s+)?in\s+
                      (?=<CAP>)
lives_in:place        \b(?:my|our)\s+(?:new\s+|little\s+|own\s+)?(?:flat|house|place|apartment|home
                      |condo|bungalow)\s+
                      (?:here\s+)?in\s+(?=<CAP>)
lives_in:place~       \bhere\s+in\s+(?=<CAP>)
lives_in:place        <ICV>moved\s+in\s+with\s+[^.;!?]*?\s+in\s+(?=<CAP>)
lives_in:place~       <ICV>(?:bought|closed\s+on|completed\s+on|got\s+the\s+keys\s+to)\s+(?:a|an
                      |our|my|the)\s+(?:[\w-]+\s+)?
                      (?:place|house|home|flat|condo|apartment|bungalow|cottage|townhouse)\s+in\s+
                      (?=<CAP>)
lives_in:place        <IM>(?:now\s+|officially\s+)*(?:a\s+)?(?=<CAP>[\w-]*
                      (?:\s+<CAP>[\w-]*)?\s+resident\b)
lives_in:place        <IM>now\s+(?:living\s+|based\s+|settled\s+)?in\s+(?=<CAP>)
lives_in:place        <IM>(?:now\s+)?(?:settling|settled)\s+(?:in|into)\s+(?=<CAP>)
lives_in:place        <IC>moved\s+into\s+(?:a|an|my|our|the)\s+(?:[\w-]+\s+){0,3}?in\s+(?=<CAP>)
@moving_to            <IM>(?:moving|relocating)\s+(?:back\s+)?to\s+(?=<CAP>)
lives_in:place        <IM>(?:living|residing|based)\s+in\s+
lives_in:place        <IVE>(?:been\s+living|lived|been)\s+in\s+(?=<CAP>)
lives_in:place        <IM>(?:(?:now|currently)\s+)?(?:based|settled)\s+(?:in|out\s+of)\s+
lives_in:place~       <IM>(?:over\s+|here\s+)?visiting\s+(?:us\s+|me\s+)?from\s+(?=<CAP>)
lives_in:place        <IM>(?:now\s+)?back\s+(?:home\s+)?(?:in|to)\s+(?=<CAP>)
lives_in:place        <IM>in\s+(?=<CAP>[^.;!?]*\b(?:now|these\s+days|anymore)\b)
lives_in:place        \bmy\s+home\s+is\s+(?:in\s+)?(?=<CAP>)
@moved                <ICV><MOVED>
lives_in:place-       (?:<NOMORE>live|<IM>(?:no\s+longer|not)\s+living)\s+in\s+
from:place            (?:<IM>|<IC>(?:originally\s+)?come\s+)(?:originally\s+)?from\s+
from:place            \bmy\s+native\s+(?:place\s+|town\s+|village\s+)?is\s+
from:place            <I>grew\s+up\s+(?:on|near|outside|just\s+outside|in)\s+(?:(?:a|an|the)\s+
                      (?:[\w-]+\s+){1,3}?
                      (?:in|near|outside|of)\s+)?(?=<CAP>)
from:place            <I>(?:grew\s+up|was\s+born(?:\s+and\s+raised)?|was\s+raised)\s+in\s+
@employer             <IC>do\s+(?:nights|days|shifts|weekends|evenings|nightshifts|earlies
                      |lates)\s+(?:at|for)\s+
@employer             <IC>work\s+(?:in\s+[\w&-]+(?:\s+[\w&-]+)?\s+|(?:nights|days|weekends|evenings
                      |shifts
                      |part-time|full-time|remotely|from\s+home)\s+)?(?:at|for)\s+(?!myself\b)
@employer             (?:<IVE>been|<IM>now|<IM>)\s+(?:with|at)\s+(?=<CAP>)
@employer             (?:<IM>|<IVE>been\s+|<I>got\s+)(?:employed|hired|recruited)\s+(?:by|at
                      |with)\s+
@employer             (?:<IM>|<IVE>been\s+)on\s+(?=<CAP>[\w&.' -]*'s\s+payroll)
@employer             (?:<IM>|<I>)(?:starting|started|start|beginning|began)\s+(?:work(?:ing)?\s+
                      |a\s+(?:new\s+)?job\s+)?at\s+(?=<CAP>)
@job                  <IC>work\s+in\s+(?P<job><=FIELDS>)\b
@employer             (?:<IM>|<IVE>been\s+)working\s+(?:(?:remotely|full-time|part-time|freelance
                      |from\s+home)\s+)?(?:at|for)\s+
@employer             <I>(?:<GOT>\s+(?:a\s+)?(?:new\s+)?job|started(?:\s+working)?)\s+at\s+
@employer~            (?:<I>|<IVE>)joined\s+(?=<CAP>)
@employer~            \b(?:\w+\s+)?(?:years?|decades?)\s+with\s+(?=<CAP>)
@employer             <ICV>signed\s+(?:on\s+)?(?:with|for)\s+(?=<CAP>)
@employer             \bmy\s+new\s+(?:job|position|role|gig)\s+(?:at|with)\s+
@employer~            <I>switched\s+(?:jobs\s+|companies\s+|employers\s+)?to\s+(?=<CAP>)
@employer             <IM>(?:now\s+)?at\s+(?=<CAP>[^.;!?]*\b(?:now|these\s+days)\b)
@left_for             <I>left\s+(?=<CAP>[^.;!?]*?\s+for\s+<CAP>)
@promoted             (?:(?:\b(?:got\s+|was\s+|been\s+|just\s+got\s+)|^\W*(?:I\s+)?)promoted\s+to
                      |\bmade\s+me
                      |\b(?:been|was|got)\s+made)\s+
                      (?:the\s+)?(?:new\s+)?(?:a\s+|an\s+)?<JOB_FREE>
@job                  \bas\s+(?:a|an)\s+<JOB>(?=\s+(?:at|for|with)\s+<CAP>)
@job                  <ICV>(?:<GOT>|got\s+a\s+job|was\s+hired|got\s+hired|became|am\s+starting
                      |'m\s+starting|will\s+start)\s+(?:work(?:ing)?\s+)?as\s+(?:a|an)?\s*<JOB_FREE>
@job                  <I>became\s+(?:a|an)\s+<JOB>
@retired              <I>(?:retired|quit\s+my\s+job(?!\s+(?:at|with)\b)|quit\s+working
                      |stopped\s+working|left\s+my\s+job(?!\s+(?:at|with)\b)|left\s+(?:teaching
                      |nursing|the\s+force|the\s+army|the\s+military)|lost\s+my\s+job|(?:got|was
                      |been)\s+(?:fired|laid\s+off|let\s+go|made\s+redundant)(?!\s+(?:from|by
                      |at)\b))\b
@employer-            <NOMORE>work\s+(?:at|for)\s+
@quit                 <I><QUIT>\s+(?:(?:my|the)\s+(?:old\s+)?(?:job|gig|position|role)\s+(?:at
                      |with)\s+|(?=<CAP>))
@job                  <IM>(?:posted|employed|placed|appointed|hired|taken\s+on)\s+as\s+(?:a|an
                      |the)?\s*<JOB_FREE>
@verb_job             <IC>(?P<verb>bartend|waitress|tutor|babysit|nanny|freelance|lifeguard|teach
                      |coach|nurse)
                      \s+(?:at|for|in)\s+
@job                  (?:<IC>work|<IM>working|<IM>employed|<IVE>been\s+(?:working
                      |employed))\s+as\s+(?:a|an)?\s*<JOB_FREE>
@job                  \bI\s+<ADV>(?:work|am\s+working|'m\s+working)\b[^.;!?]*?\s+as\s+(?:a
                      |an)\s+<JOB>
@job                  \bmy\s+(?:current\s+)?job\s+is\s+(?:being\s+)?(?:a|an)\s+<JOB_FREE>
@job                  \bI(?:'m|\s+am)\s+(?P<neg>no\s+longer|not)\s+(?:a|an)\s+<JOB>
@job                  \bI\s+(?P<neg>used\s+to\s+be|(?:quit|stopped)\s+being)\s+(?:a|an)\s+<JOB>
@job~                 <IM>(?:a|an)\s+<JOB>
@student              <IM>(?:a|an)\s+<STUDENT>
studies:study         \bmy\s+(?:phd|masters?|master's|degree|doctorate|dissertation|thesis|ba|bsc
                      |msc|mba)\s+in\s+
studies:study         <IM>in\s+my\s+(?:first|second|third|fourth|final|last|\w+)\s+year\s+(?:of
                      |studying|at)\s+
studies:org           <I>(?:go|went)\s+to\s+(?=<CAP>[\w\s.'&-]*?\b(?:University|College|School
                      |Academy|Institute|Uni|Polytechnic)\b)
studies:study         \b(?:finish|finishing|doing|pursuing|completing|working\s+on|started
                      |starting)\s+
                      (?:(?:my|a|an)\s+)?(?:[\w-]+\s+)?(?:degree|masters?|master's|phd|diploma
                      |bachelor'?s?|ba|bs
                      |bsc|ma|msc|mba)\s+in\s+
studies:org           <I>(?:started|starting|start|began|go\s+to|attend|am\s+at|'m\s+at
                      |transferred\s+to)\s+(?:college|uni|university|school|grad\s+school
                      |law\s+school|med\s+school)\s+(?:at|in)\s+(?=<CAP>)
studies:restricted    <I>(?:switched|changed)\s+(?:my\s+)?(?:major|course|degree|program
                      |programme)\s+to\s+
@program              <IM>(?:doing|taking|in|enrolled\s+in|starting)\s+(?:a|an|the|my)\s+(?P<field>
                      (?:[\w-]+\s+){1,3}?)(?:program|programme|course|degree|diploma|certificate
                      |bootcamp)\s+(?:at|in|with)\s+
@admitted             <I>(?:got\s+into|(?:was|got|been)\s+accepted\s+(?:to|at|into)
                      |got\s+a\s+place\s+at)\s+(?=<CAP>)
allergic_to:allergens <I>(?:tested\s+positive\s+for|(?:was|got|been)\s+diagnosed\s+with)\s+
                      (?:an?\s+)?(?=[\w-]+\s+allerg)
@diet_named           (?:\bput\s+me\s+on|<IM>(?:now\s+)?on|<I>(?:started|went\s+on|began))\s+(?:a
                      |an|the)\s+(?P<diet>(?:strict\s+)?[\w-]+(?:\s+[\w-]+)?)\s+diet\b
@work_in              (?:<IM>working|<IC>work|<IVE>been\s+working)\s+in\s+(?=<CAP>)
@graduated            <I>(?:just\s+)?graduated\b|\bI\s+<ADV>finished\s+(?:my\s+)?(?:degree|studies
                      |school|college|uni|university)\b
studies:study         <IC>(?:study|major\s+in)\s+
studies:study         <IM>(?:studying|majoring\s+in|doing\s+(?:a|an|my)\s+<DEGREE>\s+in)\s+
@relation             \b(?:my|our)\s+<MOD><ROLE><LINK>\s+
@relation             \b(?P<name><CAPWORD>(?:\s+<CAPWORD>)?)\s+is\s+(?:now\s+
                      |officially\s+)?my\s+<MOD><ROLE>\b
@relation             <HAVE><COUNT>\s+<MOD><ROLE>(?P<link>\s+(?:called|named)|\s*[,:])\s+
@relation             <IM>(?P<role>married|engaged|hitched)\s+to\s+(?:(?:a|an)\s+
                      (?:[\w-]+\s+){0,3}?(?:named|called)\s+)?
partner:names-        <I>(?:(?:broke|split)\s+up\s+with|separated\s+from|divorced|dumped)\s+
                      (?!my\b)(?=<CAP>)
@parted               \b(?:(?P<x><CAPWORD>)\s+and\s+I|I\s+and\s+(?P<y><CAPWORD>)
                      |me\s+and\s+(?P<z><CAPWORD>))\s+(?:have\s+|finally\s+|officially\s+|just\s+)*
                      (?:<PARTING>)\b
@parted               \b(?:divorce|break-?up|split|separation)\s+(?:from|with)\s+(?P<x><CAPWORD>)
@parted               \bmy\s+ex(?:-|\s+)?(?:wife|husband|boyfriend|girlfriend|partner
                      |fiancée?)?\s*,?\s+(?P<x><CAPWORD>)
@parted               <IM>(?:no\s+longer|not)\s+(?:with|together\s+with|seeing
                      |dating)\s+(?P<x><CAPWORD>)
@parted               \b(?P<z><CAPWORD>)(?:'s|\s+is)\s+with\s+someone\s+else\b
@parted               \b(?P<x><CAPWORD>)\s+(?:dumped|left|ghosted)\s+me\b
                      |\b(?P<z><CAPWORD>)\s+is\s+(?:ancient\s+)?history\b
                      |\b(?P<y><CAPWORD>)\s+filed\s+for\s+divorce\b
@parted               \b(?:the\s+|my\s+)?divorce\s+(?:is|was|came\s+through
                      |has\s+come\s+through)\s*(?:final|finali[sz]ed|through)?\b
@parted               (?:<IM>(?:single|divorced|separated)(?:\s+again|\s+now)?\b|<I>
                      (?:got\s+divorced|(?:broke|split)\s+up(?!\s+with)|ended\s+things)\b)
partner:names         (?:<IM>|<IVE>been\s+)(?:now\s+)?(?:seeing|dating|going\s+out\s+with)\s+
                      (?:a\s+(?:guy|girl|man|woman)\s+(?:named|called)\s+)?(?=<CAP>)
partner:names         (?:<IVE>been\s+|<I>(?:started\s+)?)dating\s+(?=<CAP>)
@wed                  \b(?P<x><CAPWORD>)\s+and\s+I\s+(?:just\s+|finally\s+|officially\s+)?(?:got
                      |were|are|are\s+getting)\s+(?P<how>married|engaged|hitched)\b
@wed                  \b(?P<x><CAPWORD>)\s+(?:just\s+|finally\s+)?(?P<how>proposed
                      |popped\s+the\s+question)\b
@wed                  \b(?P<x><CAPWORD>)\s+and\s+I\s+(?:just\s+
                      |finally\s+)?(?P<how>tied\s+the\s+knot)\b
@wed                  \b(?P<x><CAPWORD>)\s+and\s+I\s+(?:just\s+|finally\s+|officially\s+)?
                      (?:made\s+it\s+official
                      |(?:are|am)\s+(?:now\s+|officially\s+)?(?:official|together|a\s+couple
                      |an\s+item|a\s+thing)
                      |got\s+together)\b
@wed                  <I>(?:just\s+)?(?:married|got\s+married\s+to|am\s+marrying
                      |'m\s+marrying)\s+(?P<x><CAPWORD>)
@pet                  \bmy\s+(?:<COUNT>\s+)?<MOD><SPEC><LINK>\s+
lives_in:place        \b(?:anymore|any\s+more|no\s+longer|now|these\s+days)\b[^.!?]*?\bI(?:'m
                      |\s+am)\s+(?:now\s+)?in\s+(?=<CAP>)
@pet                  \b(?:a|an)\s+(?:[\w-]+\s+){0,3}?<SPEC>(?P<link>\s+(?:called|named))\s+
                      (?=<CAP>)
@pet_is               \b(?P<x><CAPWORD>)\s+is\s+(?:now\s+)?(?:my|our)\s+<MOD><SPEC>\b
@business             <IC>(?:opened|started|launched|founded|run|own|set\s+up)\s+(?:my\s+own|a|an
                      |our\s+own)\s+
                      (?:[\w-]+\s+){0,2}?(?:shop|business|company|store|restaurant|cafe|café|bakery
                      |salon
                      |studio|practice|firm|clinic|bar|garage|agency|startup|kiosk|stall
                      |food\s+truck
                      |franchise|gym|farm|nursery|pub|diner)\b
@business             <IC>(?:run|own|founded|co-founded)\s+(?=<CAP>)
@moved_someone        \b(?:moved|helped)\s+(?:my\s+<MOD><ROLE>\s+
                      |<TITLEROLE>\s+)?(?P<x><CAPWORD>)\s+
                      (?:move\s+)?(?:in)?to\s+(?=<CAP>)
@native               \bnative\s+(?P<x><=LANGUAGES>)\s+speaker\b|\b(?P<y><=LANGUAGES>)\s+is\s+my\s+
                      (?:first|native|mother)\s+(?:language|tongue)\b
@relation             \b(?P<name><CAPWORD>(?:\s+(?:and|&)\s+<CAPWORD>)?)\s*,\s+my\s+<MOD>
                      (?:oldest\s+|closest\s+)?<ROLE>\b(?!')
@titled               \b(?P<role><TITLEROLE>)
                      \s+(?P<x><CAPWORD>)
@friends_no_more      \b(?P<x><CAPWORD>)\s+and\s+I\s+(?:had\s+a\s+(?:big\s+|huge\s+
                      |massive\s+)?falling[\s-]out
                      |fell\s+out|(?:are|am)\s+not\s+speaking|don't\s+speak)\b
@friends_no_more      \b(?P<x><CAPWORD>)\s+and\s+I\s+(?:are|am|r)(?:n't|\s+not
                      |\s+no\s+longer)\s+friends\b
@gone                 \b(?:RIP|R\.I\.P\.?)\s+(?P<x><CAPWORD>)|\b(?P<y><CAPWORD>)\s+(?:passed
                      (?:\s+away|\s+on)?|died|crossed\s+the\s+rainbow\s+bridge
                      |went\s+to\s+live\s+with|(?:was|got)\s+rehomed|had\s+to\s+be\s+put\s+(?:down
                      |to\s+sleep))\b
                      |\b(?:had\s+to\s+)?re-?home(?:d)?\s+(?P<w><CAPWORD>)|(?:<I>|\bwe\s+)
                      (?:lost|had\s+to\s+put\s+down|buried)\s+(?:(?:my|our)\s+
                      (?:[\w-]+\s+)?)?(?P<z><CAPWORD>)
@pet                  <PET><PET_LINK>
likes:tastes          <IC>(?:like|love|enjoy|adore)\s+
likes:tastes          <IM>(?:<FAN>|into|passionate\s+about|obsessed\s+with|crazy\s+about
                      |hooked\s+on|addicted\s+to)\s+
likes:items           \b(?:things|stuff)\s+I\s+(?:love|like|enjoy)\s*:\s*
likes:fandom          <IM>(?:a|an)\s+(?!<FANADJ>\s+<FANNOUN>)(?:(?:big|huge|massive|great|die-hard
                      |diehard|total|lifelong|devoted)\s+)?(?=(?:[\w'-]+\s+){1,3}(?:fan|nut|fanatic
                      |buff|junkie|addict|geek|nerd|lover)\b)
dislikes:fandom       <IM>not\s+(?:a|an)\s+(?:(?:big|huge)\s+)?(?=[\w-]+\s+(?:person|fan)\b)
@favourite            \bmy\s+(?:all-time\s+)?favou?rite\s+(?P<what><WORDS2>)\s+(?:is|are)\s+
@dislikes             <IC>(?:hate|dislike|detest|loathe|despise)\s+
@dislikes             (?:<I>(?:can't|cannot|can\s+not|cant)\s+stand|<DONT>(?:like|enjoy))\s+
@dislikes             \bI(?:'m|\s+am)\s+not\s+<ADV>(?:<FAN>|into)\s+
likes:items-          <I>(?:no\s+longer\s+(?:like|love|enjoy)|stopped\s+(?:liking|enjoying))\s+
allergic_to:allergens (?:<IM><ALLERGIC>|<HAVE>(?:an?\s+)?(?:(?:severe|mild|bad|serious|slight
                      |life-threatening)\s+)?allerg(?:y|ies)\s+to\s+)
allergic_to:allergens- <IVE>(?:outgrown|grown\s+out\s+of)\s+(?:my\s+|the\s+|an?\s+)?
                      (?=[\w-]+\s+allerg)
allergic_to:allergens <IM><ALLERGIC>
@allergy_named        \b(?:a|an|my)\s+(?:(?:severe|mild|bad|serious|slight)\s+)?(?P<x>
                      (?:[\w-]+\s+){0,2}?[\w-]+)
                      \s+allerg(?:y|ies)\b
allergic_to:allergens <ICV>(?:developed|got)\s+(?:an?\s+)?(?:(?:severe|mild|bad)\s+)?
                      (?=[\w-]+\s+allerg)
allergic_to:allergens (?:<I>react|<I>broke\s+out\s+in\s+(?:hives|a\s+rash)|\bbroke\s+out\s+in\s+
                      (?:hives|a\s+rash))\s+
                      (?:badly\s+)?(?:to|after|from)\s+(?:eating\s+)?
@reaction             \b(?P<x>(?:[\w-]+\s+){0,2}?[\w-]+)\s+(?:make|makes|made|give|gives|gave)\s+
                      (?:me|my\s+(?:throat|face|lips|tongue|skin|eyes))\s+(?:break\s+out|swell|itch
                      |itchy|hives|a\s+rash|puffy|close\s+up|sneeze|wheezy|anaphylactic)
allergic_to:allergens <HAVE>(?:a|an)\s+(?:severe\s+|mild\s+)?
                      (?!(?:severe|mild|bad|serious|slight)\s)
                      (?=[\w-]+\s+allerg)
@switched             <ICV>(?:now\s+|since\s+)?(?:switched|changed|shifted|transferred|transfer
                      |swapped|moved|converted)\s+(?:over\s+)?(?:to|onto|for)\s+
@switched             \b(?:has|have|'ve|'s)\s+(?:now\s+)?(?:switched|shifted|changed)\s+(?:over\s+)?
                      (?:to|onto)\s+
@switched             \b(?:doing|joined|taken\s+up|took\s+up|picked\s+up|started|chose|trying
                      |playing|learning|studying|eating|drinking|using|went\s+for|going\s+for
                      |got|bought|adopted)\s+(?P<x>[^,.;!?]{2,40}?)\s+instead\b
@diet                 <IM>(?:a\s+|on\s+a\s+)?<DIET>
@diet                 <I>(?:became|went|turned|eat|keep|follow|stay|eat\s+only)\s+(?:a\s+)?<DIET>
@diet                 <IVE>been\s+(?:a\s+)?<DIET>
@diet                 <IVE>(?:gone|become|turned)\s+(?:a\s+)?(?:full\s+|fully\s+)?<DIET>
@diet                 <IM>going\s+(?:full\s+|fully\s+)?<DIET>
@no_diet              \b(?:eating|eat|eats)\s+meat\s+again\b|\bback\s+to\s+eating\s+meat\b
@diet~                (?:<DONT>eat\s+(?:any\s+)?|<I><STOPPED>\s+eating\s+)meat\b(?!\s+(?:or
                      |and)\s+dairy)
@diet                 (?:^\W*|\bso\s+)(?:a\s+)?<DIET>\s+(?:forever|from\s+now\s+on|for\s+life|now)\b
@vegan                (?:<DONT>eat\s+(?:any\s+)?|<I>(?:<STOPPED>|cut\s+out)\s+(?:eating\s+)?
                      (?:all\s+)?)(?:animal\s+products|meat\s+(?:or|and)\s+dairy|dairy\s+(?:or
                      |and)\s+meat)\b
@diet-~               <I>(?:eat|'ll\s+eat|will\s+eat)\s+(?:everything|anything)\b|\bno\s+
                      (?:dietary\s+)?restrictions\b
@diet-                \bI(?:(?:'m|\s+am)\s+(?:not|no\s+longer)|\s+<STOPPED>\s+being)\s+<A_DIET>
@diet-~               \bI\s+used\s+to\s+be\s+(?:a\s+)?<DIET>
speaks:languages      (?:<IC>(?:can\s+)?speak|<IM>(?:(?:pretty|quite|very|properly|fairly|almost
                      |now)\s+)?(?:fluent
                      |conversational)\s+in)\s+
plays:activities      <IC>play\s+
plays:activities      <IVE>been\s+playing\s+
plays:activities~     <IM>learning\s+(?:how\s+)?to\s+play\s+
plays:activities-     (?:<NOMORE>play|<I><STOPPED>\s+playing)\s+
plays:activities      <I>(?:picked\s+up|took\s+up|(?:have\s+|'ve\s+)?taken\s+up|started|began
                      |am\s+taking|'m\s+taking|take|took
                      |have)\s+(?:the\s+)?(?=(?:<=PLAYABLE>)\b(?:\s+(?:lessons|classes|again
                      |instead|now))?)
plays:activities      <I>(?:started|began)\s+(?:playing|learning)\s+
plays:activities-     <I>(?:quit|gave\s+up|stopped)\s+(?:playing\s+)?(?:the\s+)?(?=
                      (?:<=PLAYABLE>)\b)
plays:activities      <IM>(?:doing|into)\s+(?:the\s+)?(?=(?:<=PLAYABLE>)\b)
plays:activities      (?:<IVE>been\s+|<IM>|<I>)teaching\s+myself\s+(?:(?:how\s+)?to\s+play\s+)?
@owns                 <IC>(?:bought|purchased|own)\s+<OWNED>
@owns                 <IC>drive\s+(?=(?:a|an)\s)
@owns                 <I>(?:picked\s+up|treated\s+myself\s+to|splashed\s+out\s+on)\s+(?=(?:a|an)\s+
                      (?:[\w-]+\s+)?<CAP>)
@owns~                \bI(?:\s+have|'ve\s+got|\s+have\s+got)\s+(?=(?:a|an)\s)
@owns-                <I>sold\s+(?:my|the|our)\s+
@gone_off             <IVE>(?:gone|gone\s+right|gone\s+completely)\s+off\s+
likes:tastes-         <IM>(?:so\s+|totally\s+|completely\s+|kinda\s+|kind\s+of\s+|well\s+)?over\s+
likes:tastes          <IVE>(?:followed|supported|loved|been\s+into|been\s+a\s+fan\s+of)\s+
                      (?=[^.;!?]*\b(?:since|for)\b)
likes:tastes          <IVE>(?:come\s+(?:a)?round|warmed\s+up)\s+(?:on|to)\s+
@no_dislike           (?:^\W*|,\s+)(?-i:(?P<x>[A-Za-z][\w-]*(?:\s+[a-z][\w-]*){0,2}))\s+(?:is
                      |are)\s+(?:actually\s+)?
                      (?:fine|ok|okay|alright|not\s+bad|growing\s+on\s+me)\s+now\b
@taste_is_not         (?:^\W*|,\s+)(?-i:(?P<x>[A-Za-z][\w-]*(?:\s+[a-z][\w-]*){0,3}))\s+(?:is
                      |are)\s+(?:so\s+|just\s+|absolutely\s+)?
                      (?:disgusting|gross|revolting|overrated|the\s+worst|vile
                      |nasty)\b
@taste_is             (?:^\W*|,\s+)(?-i:(?P<x>[A-Za-z][\w-]*(?:\s+[a-z][\w-]*){0,5}|
                      (?:[A-Z][\w-]*\s+){0,2}[A-Z][\w-]*))
                      \s+(?:is|are)\s+(?:so\s+|really\s+|absolutely\s+|just\s+)?(?:amazing|awesome
                      |(?:(?:one\s+of\s+)?my|a)\s+(?:(?:big|real|huge|true|creative|favou?rite)\s+)?
                      (?:outlets?|passions?|therap(?:y|ies)|escapes?|hobby|hobbies
                      |stress\s+reliefs?)
                      |(?:such\s+)?a\s+(?:great|good|nice|fun)\s+way\s+to\s+(?:relax|unwind
                      |de-stress|destress
                      |recharge|express\s+my|stay\s+(?:fit|active|sane))
                      |one\s+of\s+my\s+(?:all-time\s+)?favou?rites|my\s+(?:all-time\s+)?favou?rite\b
                      |my\s+(?:comfort\s+food|go-to|guilty\s+pleasure|weakness|favou?rite
                      (?:\s+\w+)?)
                      |the\s+best
                      |delicious|my\s+(?:thing|jam|jam|favou?rite\s+thing|happy\s+place
                      |obsession))\b
@job~                 <IM>(?:the|our|my|your)\s+new\s+<JOB>
@job                  <IM>now\s+(?:a\s+|an\s+)?<JOB>
@job                  <I>(?:shall|will|'ll)\s+be\s+(?:the\s+)?(?:new\s+)?(?P<job>(?-i:[A-Z][\w-]*
                      (?:\s+(?:of|for|[A-Z][\w-]*))
                      {0,4}))(?=\s+(?:at|for|with)\b)
@job                  <I>(?:shall|will|'ll)\s+be\s+(?:a|an|the\s+new)\s+<JOB>
@job~                 ^\W*(?:an?\s+)?<JOB>\W*$
@apprentice           \bmy\s+(?P<x>[\w-]+)\s+apprenticeship\b
@job                  <IVE>been\s+(?:a|an)\s+<JOB>(?=\s+(?:for|since)\b)
@job                  <IM>(?:the\s+)?(?:new\s+)?(?P<job>(?:head|chief|director
                      |manager)\s+of\s+[\w-]+(?:\s+[\w-]+)?)
                      (?=\s+(?:at|for|with)\b)
@job                  <IM>(?:a|an)\s+(?P<job>[\w-]+(?:\s+[\w-]+)?)\s+by\s+(?:trade|profession
                      |training)\b
@job                  <I>(?:do|make)\s+(?P<job>[\w-]+(?:\s+[\w-]+)?)\s+for\s+a\s+living\b
@teach                <IC>teach(?:es)?\s+(?!(?:others|people|myself|yourself|him|her|them|us|me
                      |kids\s+to)\b)
                      (?:[\w-]+\s+){0,3}?(?:at|in)\s+(?=<CAP>)
@retired              <IM>(?:now\s+)?(?:happily\s+)?retired\b|<IM>(?:officially\s+)?(?:a\s+)?
                      (?:retiree|pensioner)\b
                      |^\W*(?:I\s+was\s+)?made\s+redundant\b
@jobless              <IM>(?:now\s+)?(?:looking|hunting|searching)\s+for\s+(?:a\s+)?(?:new\s+)?
                      (?:job|work)\b
@jobless              <IM>(?:now\s+)?(?:unemployed|jobless|out\s+of\s+work|between\s+jobs
                      |a\s+stay-at-home)\b
@quit                 <I>(?:handed\s+in|put\s+in|gave)\s+(?:my\s+)?(?:notice|resignation
                      |two\s+weeks)
                      (?:\s+(?:at|to)\s+)?
@habit                <IVE>been\s+(?P<x>(?-i:[a-z]+ing)(?:\s+(?!for\b|since\b)[\w-]+){0,2}?)\s+
                      (?:for|since)\s+
                      (?:years|ages|a\s+(?:long\s+)?while|a\s+long\s+time|(?:a\s+few|several|many
                      |\d+|two|three
                      |four|five|ten)\s+years|I\s+was|childhood|college|high\s+school)\b
@job-                 \bnot\s+being\s+(?:(?:a|an|the)\s+)?<JOB>(?=[^.;!?]*\bany\s*more\b)
@job                  <ICV>(?:accepted|took|got|landed|been\s+offered|was\s+offered)\s+(?:a|an
                      |the)\s+(?:new\s+)?
                      (?:position|job|role|post|offer)\s+as\s+(?:a|an)?\s*<JOB_FREE>
@employer-            \bmy\s+(?:tenure|time|job|role|position|contract|stint)\s+(?:at|with)\s+
                      (?=[^.;!?]*\b(?:ends|ending|concludes|finishes|is\s+over|wraps\s+up)\b)
@employer-            \b(?:my\s+)?last\s+day\s+(?:at|with)\s+
@employer             \b(?:my\s+)?first\s+(?:day|week|shift|month)\s+(?:at|with)\s+(?=<CAP>)
@owns                 <I>(?:closed\s+on|got\s+the\s+keys\s+to)\s+(?=(?:a|an|the|my|our)\b)
plans:plan            (?:<IM>planning|<I>(?:plan|intend)|<IVE>decided)\s+to\s+
@going                <IM>(?:going\s+to|gonna)\s+
plans:plan            <IM>(?:going\s+to|gonna)\s+(?=(?:open|start|launch|buy|build|study|learn
                      |become|get\s+married
                      |adopt|retire|travel|move|walk|run|train|write|apply)\b)
"""


_CLEANERS: dict[str, Cleaner] = {"place": _place, "org": _org, "clause": _clause, "items": _items}
_CLEANERS |= {"restricted": _restricted, "activities": _activities, "allergens": _allergens}
_CLEANERS |= {"study": _study, "plan": _plan}
_CLEANERS |= {"languages": _languages, "names": _names, "fandom": _fandom, "tastes": _tastes}
_HANDLERS = (
    *(_name, _age, _moved, _job, _relation, _employer, _birthday, _student, _pet, _favourite),
    *(_diet, _dislikes, _going, _owns, _quit, _retired, _left_for, _promoted, _parted, _wed),
    *(_gone, _vegan, _reaction, _diet_named, _program, _graduated, _friends_no_more, _admitted),
    *(_work_in, _titled, _pet_is, _taste_is, _business, _moved_someone, _habit, _teach),
    *(_jobless, _moving_to, _native, _no_diet, _verb_job, _taste_is_not, _apprentice),
    *(_allergy_named, _no_dislike, _gone_off, _switched),
)
_SPECIAL: dict[str, Special] = {f.__name__[1:]: f for f in _HANDLERS}


def _compile(line: str) -> tuple[re.Pattern[str], Callable[[Match, str], Facts]]:
    """One ``_TABLE`` line as (pattern, handler)."""
    key, pattern = line.split(maxsplit=1)
    conf, neg = (0.6 if "~" in key else 0.9), "-" in key
    name, _, clean = key.strip("@-~").partition(":")
    special = partial(_generic, pred=name, clean=_CLEANERS[clean]) if clean else _SPECIAL[name]
    return _rx(_expand(pattern, _FRAGMENTS)), lambda m, who: special(m, who, conf, neg)


_RULES = tuple(_compile(line) for line in _table_lines(_TABLE))


# -------- the extractor

_CONDITION = _rx(r"^\W*(?:if|unless|suppose|supposing|imagine|whether|in\s+case)\b")
# Rules that read a mention of someone the speaker has ("my sister Ana", "my dog Rex"): they
# run on the whole sentence too, where a clause about that person no longer says "my".
_MENTIONS = tuple(
    rule
    for line, rule in zip(_table_lines(_TABLE), _RULES, strict=True)
    if (line.startswith(("@relation", "@pet ")) and "my" in line)
    or line.startswith(("@gone", "@parted", "@wed", "@friends_no_more", "@titled", "@pet_is"))
    or line.startswith("@moved_someone")
    or "anymore" in line
)


_NOT_START = _rx(
    r"^\W*(?:can't|don't|doesn't|didn't|isn't|aren't|wasn't|weren't|won't|wouldn't|couldn't"
    r"|shouldn't|haven't|hasn't)\s"
)
_STATEMENT_START = _rx(
    r"^\W*(?:(?:so|turns\s+out|and|but|well|btw)\s+)*(?:I(?:'m|'ve|\s+am|\s+have)\b|my\s|our\s)"
)


def _is_question(sentence: str) -> bool:
    """Whether a sentence asks.

    "turns out I'm allergic to sesame??" only sounds surprised, and "can't stand jazz"
    without a question mark is "I can't stand jazz".
    """
    if _QUESTION_START.match(sentence):
        return not (_NOT_START.match(sentence) and not _QUESTION_END.search(sentence))
    return bool(_QUESTION_END.search(sentence)) and not _STATEMENT_START.match(sentence)


# Someone just mentioned, whose name comes next: "got a puppy! her name is Biscuit",
# "I'm seeing someone, his name's Arjun", "we adopted a cat, the kids named her Noodle".
_UNNAMED_PARTNER = _rx(
    r"\b(?:seeing|dating|met|going\s+out\s+with)\s+" + _FRAGMENTS["SOMEONE"] + r"\b"
    r"|\bI(?:'m|\s+am)\s+(?:now\s+|finally\s+)?(?:engaged|married)\b(?!\s+to)"
)
_SPECIES_MENTIONED = _rx(
    _expand(r"\b(?:a|an)\s+(?:[\w-]+\s+){0,2}?(?P<species><=SPECIES>)\b", _FRAGMENTS)
)
_NAMED_NOW = _rx(
    r"\b(?:(?:her|his|its|their)\s+name(?:'s|\s+is)|(?:named|called|calling)\s+(?:her|him|it|them))"
    r"\s+(?P<name>" + _CAPWORD + r"(?:\s+" + _CAPWORD + r")?)"
)


def _named_referents(sentence: str, found: Facts, who: str, pending: list[FactCandidate]) -> Facts:
    """Name the pet or partner a message mentioned without a name; ``pending`` carries it."""
    pending += [f for f in found if f.predicate == "pet" and " named " not in f.object]
    mentioned = _SPECIES_MENTIONED.search(sentence)
    if mentioned and not any(f.predicate == "pet" for f in found):  # "I've taken one, a tabby"
        word = mentioned.group("species").lower()
        pending.append(_fact(who, "pet", _an(word) + word, role=_SPECIES.get(word, word)))
    if _UNNAMED_PARTNER.search(sentence):
        pending.append(_fact(who, "partner", "", confidence=0.6))
    named = _NAMED_NOW.search(sentence)
    person = _person(named.group("name")) if named else None
    if not pending or person is None:
        return []
    referent = pending.pop()
    if referent.predicate == "partner":
        return [replace(referent, object=person)]
    species = referent.role or "pet"
    return [replace(referent, object=f"{_an(species)}{species} named {person}")]


def _applies(m: re.Match[str]) -> bool:
    """Whether a match is asserted: not hypothetical, and a bare "and <verb>" follows an "I"."""
    prefix = m.string[: m.start()]
    if _HYPOTHETICAL.search(_CLAUSE_BREAK.split(prefix)[-1]):
        return False
    if _group(m, "cont"):
        pronouns = _PRONOUNS.findall(prefix)
        return bool(pronouns) and pronouns[-1].lower() == "i"
    return True


def _negations_win(found: list[tuple[int, int, FactCandidate]]) -> list[tuple[int, int, Any]]:
    """In one sentence, "we lost our dog Rex" ends Rex: the mention does not start him again."""
    ended = [
        (f.subject, f.predicate, f.object.split()[-1].casefold())
        for _, _, f in found
        if f.negated and f.object
    ]
    return [
        item
        for item in found
        if item[2].negated
        or not item[2].object
        or (item[2].subject, item[2].predicate, item[2].object.split()[-1].casefold()) not in ended
    ]


_IS_MY = _rx(
    r"^I(?:'m|\s+am)\s+(?:now\s+|officially\s+|also\s+)?my\s+(?:new\s+|best\s+)?(?P<role>"
    + _alt(RELATION_WORDS)
    + r")\b"
)


def _related(clause: Clause, speaker: str) -> Facts:
    """The relation a clause about someone states of them: "(Andrés...) he's my boyfriend now"."""
    related = _IS_MY.match(clause.text) if clause.about else None
    if related is None or clause.about is None:
        return []
    pred, role = RELATION_WORDS[related.group("role").lower()]
    return [_fact(speaker, pred, clause.about, role=role, confidence=0.6)]


def _changes_read(found: list[tuple[int, int, FactCandidate]]) -> list[tuple[int, int, Any]]:
    """Changes whose value another rule read with its relation, folded into that reading.

    "Taken up golf instead": the plays fact is marked as replacing an older value, and the
    change goes.
    """
    changes = {(f.subject, f.object.casefold()) for _, _, f in found if f.predicate == CHANGED_TO}
    out = []
    for index, at, fact in found:
        key = (fact.subject, fact.object.casefold())
        if fact.predicate == CHANGED_TO:
            read = any(
                (g.subject, g.object.casefold()) == key and g.predicate != CHANGED_TO
                for _, _, g in found
                if not g.negated
            )
            if read:
                continue
        elif key in changes and not fact.negated:
            fact = replace(fact, replaces=True)
        out.append((index, at, fact))
    return out


class RuleExtractor:
    """Finds facts with hand-written patterns over clauses: deterministic, fast, conservative.

    The linguistic layer (``language.py``) cuts each sentence into clauses and puts each in
    the first person of whoever it is about, so the same rules read "I live in Lisbon",
    "my sister Ana lives in Lisbon" and "she lives in Lisbon" (after a name). Questions and
    hypotheticals ("if I lived in Paris") yield nothing.
    """

    def extract(
        self, text: str, *, speaker: str, when: datetime | None = None
    ) -> list[FactCandidate]:
        """Facts in ``text``; ``speaker`` is the entity that "I" refers to (``SELF`` or a name)."""
        found: list[tuple[int, int, FactCandidate]] = []
        people = People()
        pending: list[FactCandidate] = []
        for index, sentence in enumerate(sentences(normalise(text))):
            if _is_question(sentence):
                continue
            passes = [(sentence, speaker, _MENTIONS, 0)]
            for clause in clauses(sentence, _is_name, people):
                if _CONDITION.match(clause.text):
                    break  # "if I get the job, I'll move": nothing after the condition holds
                found += [(index, clause.start, f) for f in _related(clause, speaker)]
                passes.append((clause.text, clause.about or speaker, _RULES, clause.start))
            here: list[tuple[int, int, FactCandidate]] = []
            for part, who, rules, offset in passes:
                for pattern, handle in rules:
                    for match in pattern.finditer(part):
                        if _applies(match):
                            at = offset + match.start()
                            here += [(index, at, c) for c in handle(match, who)]
            named = _named_referents(sentence, [c for _, _, c in here], speaker, pending)
            if named:  # the unnamed mention ("a puppy") gives way to the named one
                unnamed = {(f.subject, f.predicate) for f in named}
                found, here = (
                    [
                        x
                        for x in items
                        if (x[2].subject, x[2].predicate) not in unnamed
                        or " named " in x[2].object
                        or x[2].predicate != "pet"
                        or x[2].negated
                    ]
                    for items in (found, here)
                )
                here += [(index, len(sentence), f) for f in named]
            found += _negations_win(here)
        found = _changes_read(found)
        seen: set[tuple[object, ...]] = set()
        out: list[FactCandidate] = []
        for _, _, fact in sorted(found, key=lambda item: (item[0], item[1])):
            # The first role said wins: "my fiancée Laura and I are getting married" is one fact.
            key = (fact.subject, fact.predicate, fact.object.casefold(), fact.negated)
            if key not in seen and (fact.predicate in PREDICATES or fact.predicate == CHANGED_TO):
                seen.add(key)
                out.append(replace(fact, valid_from=when) if when else fact)
        return out
