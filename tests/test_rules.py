from __future__ import annotations

from datetime import datetime

import pytest

from confidante.extraction.base import FactExtractor
from confidante.extraction.rules import RuleExtractor
from confidante.graph.schema import CHANGED_TO, PREDICATES, SELF, FactCandidate

U = SELF
Fact = tuple[str, str, str, str | None]


def extract(text: str, speaker: str = SELF, when: datetime | None = None) -> list[FactCandidate]:
    return RuleExtractor().extract(text, speaker=speaker, when=when)


def facts(text: str, speaker: str = SELF) -> set[Fact]:
    """The asserted (not negated) facts, as (subject, predicate, object, role)."""
    return {
        (f.subject, f.predicate, f.object, f.role) for f in extract(text, speaker) if not f.negated
    }


def negations(text: str) -> set[Fact]:
    return {(f.subject, f.predicate, f.object, f.role) for f in extract(text) if f.negated}


POSITIVE: list[tuple[str, set[Fact]]] = [
    # name and age
    ("my name is Maria", {(U, "name", "Maria", None)}),
    ("My name is maria.", {(U, "name", "Maria", None)}),
    ("You can call me Max", {(U, "name", "Max", None)}),
    ("I'm Maria", {(U, "name", "Maria", None)}),
    ("I am Maria, nice to meet you", {(U, "name", "Maria", None)}),
    ("I am 34 years old", {(U, "age", "34", None)}),
    ("I just turned 40!", {(U, "age", "40", None)}),
    # where
    ("I live in Lisbon", {(U, "lives_in", "Lisbon", None)}),
    ("I moved to Porto last year.", {(U, "lives_in", "Porto", None)}),
    ("I just moved to Porto", {(U, "lives_in", "Porto", None)}),
    # A date after the place is when, not part of where.
    ("I moved to Lisbon in May.", {(U, "lives_in", "Lisbon", None)}),
    ("I moved to Berlin on Monday", {(U, "lives_in", "Berlin", None)}),
    ("I started working at Acme in March 2021.", {(U, "works_at", "Acme", None)}),
    ("I've moved to Berlin", {(U, "lives_in", "Berlin", None)}),
    ("I'm living in New York City now", {(U, "lives_in", "New York City", None)}),
    ("I've lived in London since 2015", {(U, "lives_in", "London", None)}),
    ("I live in Lisbon, Portugal", {(U, "lives_in", "Lisbon", None)}),
    ("I'm from Brazil", {(U, "from", "Brazil", None)}),
    ("I come from Italy", {(U, "from", "Italy", None)}),
    ("I'm originally from Goa, India", {(U, "from", "Goa", None)}),
    ("I grew up in a small town near Porto", {(U, "from", "Porto", None)}),
    ("I was born in Madrid", {(U, "from", "Madrid", None)}),
    # work and study
    ("I work at Acme Corp", {(U, "works_at", "Acme Corp", None)}),
    ("I work for Google and I love it", {(U, "works_at", "Google", None)}),
    ("I'm working at a hospital", {(U, "works_at", "a hospital", None)}),
    ("I got a new job at Spotify!", {(U, "works_at", "Spotify", None)}),
    ("I started at Acme last week", {(U, "works_at", "Acme", None)}),
    ("I work as a nurse", {(U, "job", "nurse", None)}),
    (
        "I work as a nurse at the city hospital",
        {(U, "job", "nurse", None), (U, "works_at", "the city hospital", None)},
    ),
    ("I'm a software engineer", {(U, "job", "software engineer", None)}),
    (
        "I'm a software engineer at Google",
        {(U, "job", "software engineer", None), (U, "works_at", "Google", None)},
    ),
    ("I'm an engineer", {(U, "job", "engineer", None)}),
    ("my job is a teacher", {(U, "job", "teacher", None)}),
    ("I study law", {(U, "studies", "law", None)}),
    (
        "I'm studying computer science at Lisbon University",
        {(U, "studies", "computer science", None), (U, "studies", "Lisbon University", None)},
    ),
    ("I'm majoring in physics", {(U, "studies", "physics", None)}),
    # partner, family, friends, pets
    ("my wife is called Maria", {(U, "partner", "Maria", "wife")}),
    ("my wife Maria and I went to Paris", {(U, "partner", "Maria", "wife")}),
    ("my husband is Tom", {(U, "partner", "Tom", "husband")}),
    ("My girlfriend's name is Sofia", {(U, "partner", "Sofia", "girlfriend")}),
    ("My fiancée Laura and I are getting married", {(U, "partner", "Laura", "fiancée")}),
    ("I'm married to Tom", {(U, "partner", "Tom", "spouse")}),
    ("my sister Ana", {(U, "family", "Ana", "sister")}),
    ("my sister is called Ana", {(U, "family", "Ana", "sister")}),
    ("my sister's name is Ana", {(U, "family", "Ana", "sister")}),
    (
        "my brother, Tom, is a doctor",
        {(U, "family", "Tom", "brother"), ("Tom", "job", "doctor", None)},
    ),
    ("my mom Linda makes great soup", {(U, "family", "Linda", "mother")}),
    ("my dad Joe", {(U, "family", "Joe", "father")}),
    ("my grandma Rosa", {(U, "family", "Rosa", "grandmother")}),
    ("my little sister Ana Maria", {(U, "family", "Ana Maria", "sister")}),
    (
        "my kids Tom and Lily are great",
        {(U, "family", "Tom", "child"), (U, "family", "Lily", "child")},
    ),
    ("I have a sister named Ana", {(U, "family", "Ana", "sister")}),
    ("my friend Sam", {(U, "friend", "Sam", None)}),
    ("my best friend is Sam", {(U, "friend", "Sam", "best friend")}),
    ("Sam is my best friend", {(U, "friend", "Sam", "best friend")}),
    ("my dog Rex", {(U, "pet", "a dog named Rex", "dog")}),
    ("my cat is called Luna", {(U, "pet", "a cat named Luna", "cat")}),
    ("I have a dog named Rex", {(U, "pet", "a dog named Rex", "dog")}),
    ("I have two cats", {(U, "pet", "two cats", "cat")}),
    (
        "I've got two dogs, Rex and Max",
        {(U, "pet", "a dog named Rex", "dog"), (U, "pet", "a dog named Max", "dog")},
    ),
    ("we adopted a puppy", {(U, "pet", "a puppy", "dog")}),
    # "we" is the speaker's household; a bare number after "I'm" is an age
    ("We live in Berlin", {(U, "lives_in", "Berlin", None)}),
    ("I'm 34", {(U, "age", "34", None)}),
    ("im 34 btw", {(U, "age", "34", None)}),
    # tastes
    ("I like pizza", {(U, "likes", "pizza", None)}),
    ("I love hiking and cooking", {(U, "likes", "hiking", None), (U, "likes", "cooking", None)}),
    (
        "I love pizza, pasta and sushi",
        {(U, "likes", "pizza", None), (U, "likes", "pasta", None), (U, "likes", "sushi", None)},
    ),
    ("I enjoy reading books", {(U, "likes", "reading books", None)}),
    ("I adore The Beatles", {(U, "likes", "The Beatles", None)}),
    ("I really love the beach", {(U, "likes", "beach", None)}),
    ("I'm a big fan of jazz", {(U, "likes", "jazz", None)}),
    ("I'm into photography", {(U, "likes", "photography", None)}),
    # The sentence goes on past the object: nothing dangles, no half clause is a like.
    # a taste cut off mid-phrase ("escaping to ...") is left out, not trimmed to a fragment
    ("I love escaping to that world.", set()),
    ("I love experimenting with spices", {(U, "likes", "experimenting with spices", None)}),
    ("I love hiking with my friends", {(U, "likes", "hiking", None)}),
    ("I love the colors!", set()),
    ("I love the beach", {(U, "likes", "beach", None)}),
    ("I like to just take a walk at night", {(U, "likes", "taking a walk at night", None)}),
    ("I'm really into hiking, especially in the mountains", {(U, "likes", "hiking", None)}),
    ("I love to paint", {(U, "likes", "painting", None)}),
    ("I like to swim", {(U, "likes", "swimming", None)}),
    ("my favorite food is sushi", {(U, "likes", "sushi (favourite food)", None)}),
    (
        "My favourite band is Simon and Garfunkel.",
        {(U, "likes", "Simon and Garfunkel (favourite band)", None)},
    ),
    ("I hate running", {(U, "dislikes", "running", None)}),
    ("I can't stand mushrooms", {(U, "dislikes", "mushrooms", None)}),
    ("I don't like spiders", {(U, "dislikes", "spiders", None)}),
    ("I do not like olives", {(U, "dislikes", "olives", None)}),
    ("I'm not a fan of horror movies", {(U, "dislikes", "horror movies", None)}),
    # health and diet
    ("I'm allergic to peanuts", {(U, "allergic_to", "peanuts", None)}),
    (
        "I'm allergic to peanuts, shellfish and eggs",
        {
            (U, "allergic_to", "peanuts", None),
            (U, "allergic_to", "shellfish", None),
            (U, "allergic_to", "eggs", None),
        },
    ),
    ("I have a peanut allergy", {(U, "allergic_to", "peanut", None)}),
    ("I have an allergy to penicillin", {(U, "allergic_to", "penicillin", None)}),
    ("I'm vegetarian", {(U, "diet", "vegetarian", None)}),
    ("I'm a vegan", {(U, "diet", "vegan", None)}),
    ("I became vegan", {(U, "diet", "vegan", None)}),
    ("I've been pescatarian for 3 years", {(U, "diet", "pescatarian", None)}),
    ("I don't eat meat", {(U, "diet", "vegetarian", None)}),
    ("I stopped eating meat", {(U, "diet", "vegetarian", None)}),
    # skills, things, plans
    (
        "I speak Portuguese and English",
        {(U, "speaks", "Portuguese", None), (U, "speaks", "English", None)},
    ),
    ("I speak a little French", {(U, "speaks", "French", None)}),
    ("I speak English fluently", {(U, "speaks", "English", None)}),
    ("I'm fluent in spanish", {(U, "speaks", "Spanish", None)}),
    ("I play the guitar", {(U, "plays", "guitar", None)}),
    ("I play tennis", {(U, "plays", "tennis", None)}),
    ("I play the guitar in a band", {(U, "plays", "guitar", None)}),
    (
        "I play video games and the piano",
        {(U, "plays", "video games", None), (U, "plays", "piano", None)},
    ),
    ("I have a Tesla", {(U, "owns", "a Tesla", None)}),
    ("I bought a house", {(U, "owns", "a house", None)}),
    ("I just bought a new car", {(U, "owns", "a new car", None)}),
    ("I'm planning to learn Spanish", {(U, "plans", "learn Spanish", None)}),
    ("I plan to move to Lisbon next year", {(U, "plans", "move to Lisbon next year", None)}),
    ("I've decided to learn the piano", {(U, "plans", "learn the piano", None)}),
    ("I'm going to Paris next week", {(U, "plans", "go to Paris next week", None)}),
    (
        "I'm going to start a new job next month",
        {(U, "plans", "start a new job next month", None)},
    ),
    # third person
    ("Ana lives in Porto", {("Ana", "lives_in", "Porto", None)}),
    ("Ana works at Acme", {("Ana", "works_at", "Acme", None)}),
    ("Tom works as a chef", {("Tom", "job", "chef", None)}),
    ("Ana is allergic to nuts", {("Ana", "allergic_to", "nuts", None)}),
    ("Ana is from Chile", {("Ana", "from", "Chile", None)}),
    ("The weather is nice. Yesterday Ana moved to Madrid.", {("Ana", "lives_in", "Madrid", None)}),
    (
        "my sister Ana lives in Porto",
        {(U, "family", "Ana", "sister"), ("Ana", "lives_in", "Porto", None)},
    ),
    (
        "My brother Tom and my sister Ana live in Rome",
        {
            (U, "family", "Tom", "brother"),
            (U, "family", "Ana", "sister"),
            ("Tom", "lives_in", "Rome", None),
            ("Ana", "lives_in", "Rome", None),
        },
    ),
    # ordinary ways of saying what one does, where one lives, whom one is with
    ("I've been a nurse for ten years", {(U, "job", "nurse", None)}),
    (
        "I'm head of marketing at Zenlo",
        {(U, "job", "head of marketing", None), (U, "works_at", "Zenlo", None)},
    ),
    (
        "I teach chemistry at Hollins High",
        {(U, "job", "teacher", None), (U, "works_at", "Hollins High", None)},
    ),
    ("I live with my parents in Pune", {(U, "lives_in", "Pune", None)}),
    ("we just moved into a flat in Leith", {(U, "lives_in", "Leith", None)}),
    ("I'm moving to Perth in June", {(U, "plans", "move to Perth", None)}),
    ("Dario popped the question!", {(U, "partner", "Dario", "fiancé")}),
    ("I've gone vegan", {(U, "diet", "vegan", None)}),
    ("it's my 30th birthday today", {(U, "age", "30", None)}),
    (
        "I'm in my second year of law at Durham",
        {(U, "studies", "law", None), (U, "studies", "Durham", None)},
    ),
    ("I'm a native Tamil speaker", {(U, "speaks", "Tamil", None)}),
    ("my kids are Ava and Leo", {(U, "family", "Ava", "child"), (U, "family", "Leo", "child")}),
    (
        "My father, Rajesh, is a retired cardiologist",
        {(U, "family", "Rajesh", "father"), ("Rajesh", "job", "retired cardiologist", None)},
    ),
    (
        "Met my friend Lin. She's a pharmacist",
        {(U, "friend", "Lin", None), ("Lin", "job", "pharmacist", None)},
    ),
    (
        "my friend Hiroshi from uni runs a ramen stall in Fukuoka",
        {
            (U, "friend", "Hiroshi", None),
            ("Hiroshi", "owns", "a ramen stall", None),
            ("Hiroshi", "lives_in", "Fukuoka", None),
        },
    ),
    ("Dance is my passion", {(U, "likes", "Dance", None)}),
    # a clause ends before the "and" that starts the next one
    (
        "I love jazz and I play the piano.",
        {(U, "likes", "jazz", None), (U, "plays", "piano", None)},
    ),
    # "the team" names no employer
    ("I'm a shooting guard for the team", {(U, "job", "shooting guard", None)}),
    (
        "Cooking and baking are my creative outlets.",
        {(U, "likes", "cooking", None), (U, "likes", "baking", None)},
    ),
    (
        "I love action and sci-fi movies",
        {(U, "likes", "action movies", None), (U, "likes", "sci-fi movies", None)},
    ),
    # several facts in one message
    (
        "I live in Lisbon and work at Acme",
        {(U, "lives_in", "Lisbon", None), (U, "works_at", "Acme", None)},
    ),
    (
        "I'm Maria, and I live in Lisbon",
        {(U, "name", "Maria", None), (U, "lives_in", "Lisbon", None)},
    ),
    (
        "I’m 34 years old and I’m a nurse.",  # curly apostrophes
        {(U, "age", "34", None), (U, "job", "nurse", None)},
    ),
    (
        "I live in Lisbon with my wife Maria",
        {(U, "lives_in", "Lisbon", None), (U, "partner", "Maria", "wife")},
    ),
    (
        "I live in Lisbon. I work at Acme. My sister Ana lives in Porto!",
        {
            (U, "lives_in", "Lisbon", None),
            (U, "works_at", "Acme", None),
            (U, "family", "Ana", "sister"),
            ("Ana", "lives_in", "Porto", None),
        },
    ),
    (
        "When I moved to Lisbon, I got a job at Acme.",
        {(U, "lives_in", "Lisbon", None), (U, "works_at", "Acme", None)},
    ),
    ("Do you like pizza? I love sushi!", {(U, "likes", "sushi", None)}),
    # an age in apposition to the name the speaker gives
    (
        "Hi, I'm Greta, 41.",
        {(U, "name", "Greta", None), (U, "age", "41", None)},
    ),
    ("I'm Tom, 5 minutes away", {(U, "name", "Tom", None)}),
    # where a thing was bought is not the thing
    (
        "I picked up a used Nikon D750 off a student on Gumtree",
        {(U, "owns", "a used Nikon D750", None)},
    ),
    # a list of languages is one clause, not a person named French
    (
        "I speak Spanish, French and a little German.",
        {
            (U, "speaks", "Spanish", None),
            (U, "speaks", "French", None),
            (U, "speaks", "German", None),
        },
    ),
    # starting at a place one studies at is studying, not a job
    (
        "My son Ravi just started at Monash studying law",
        {
            (U, "family", "Ravi", "son"),
            ("Ravi", "studies", "Monash", None),
            ("Ravi", "studies", "law", None),
        },
    ),
]


@pytest.mark.parametrize(("text", "expected"), POSITIVE, ids=[t for t, _ in POSITIVE])
def test_extracts(text: str, expected: set[Fact]) -> None:
    assert facts(text) == expected


NOTHING = [
    # not names
    "I'm tired",
    "I'm so tired",
    "I'm Sorry",
    "I'm American",
    "I'm Going home",
    "My name is not important",
    "call me crazy",
    # precision: pronouns, fragments, abstractions, things in view, praise of others
    "I love the friends I have",
    "I love all dances",
    "I love the energy of this city",
    "I love the dark sky and green scenery",
    "I'm passionate about creating a safe, inviting place for people to grow",
    "Your passion and commitment are awesome!",
    "I love being",
    "Networking plays a big role in this",
    "I've been working for years",
    "Dance is such a great art form, you said",
    # a number that is not an age
    "I'm 34 minutes late",
    "I'm 2 hours away",
    # vague objects
    "I love it",
    "I like that",
    "I love you",
    "I like you a lot",
    "I love it here",
    "I love how you think",
    "I like when it rains",
    "I'm into it",
    "I can't stand it when people are late",
    "I like to think so",
    "I hate to say it",
    "I play with my kids",
    "I'm studying for my exams",
    "I work at home",
    "I work for myself",
    # no name, nothing to say
    "I have two kids",
    "My dad works as a mechanic",
    "I live with my parents",
    "I live in a small apartment",
    # not possessions
    "I have a headache",
    "I have a question",
    "I have a lot of work",
    "I bought groceries",
    # not plans
    "I'm going to be honest",
    "I'm thinking about moving to Paris",
    # other people, pronouns
    "She lives in Paris",
    "Everyone lives in fear",
    "The dog lives in the garden",
    "My mom lives in Faro",
    # questions
    "Do I like pizza?",
    "where do I live",
    "Where do I work?",
    "Am I allergic to peanuts",
    "I live in Lisbon, do you?",
    "Is my sister Ana coming?",
    # hypotheticals
    "If I lived in Paris I'd be happy",
    "I wish I lived in Paris",
    "I would like to live in Paris",
    "I'd like to go",
    "I would like pizza",
    "I'd love to live in Paris",
    "If I live in Paris, I will be happy",
    "Maybe I'll move to Paris.",
    "I might move to Berlin.",
    "Hopefully I'll work at Google",
    "I hope to visit Japan next year",
    "Imagine if I lived in Tokyo",
    "I don't think I like sushi",
    "I'm not sure I like it",
    # what follows "love" is not a thing liked
    "Yeah, I love to.",
    "Being my own boss and doing something I love is awesome.",
    "I really like your recommendation!",
    "I'm able to do something I'm passionate about - I'm loving it.",
    # empty
    "",
    "   ",
    "ok",
]


@pytest.mark.parametrize("text", NOTHING)
def test_extracts_nothing(text: str) -> None:
    assert extract(text) == []


NEGATED: list[tuple[str, set[Fact]]] = [
    ("I no longer live in Paris", {(U, "lives_in", "Paris", None)}),
    ("I don't live in Paris anymore", {(U, "lives_in", "Paris", None)}),
    ("I used to live in Berlin", {(U, "lives_in", "Berlin", None)}),
    ("I quit my job at Acme", {(U, "works_at", "Acme", None), (U, "job", "", None)}),
    ("I left Acme", {(U, "works_at", "Acme", None)}),
    ("I left my job at Google", {(U, "works_at", "Google", None), (U, "job", "", None)}),
    ("I got fired from Uber", {(U, "works_at", "Uber", None), (U, "job", "", None)}),
    ("I no longer work at Acme", {(U, "works_at", "Acme", None)}),
    ("I'm not vegetarian anymore", {(U, "diet", "vegetarian", None)}),
    ("I'm no longer vegan", {(U, "diet", "vegan", None)}),
    ("I'm no longer a teacher", {(U, "job", "teacher", None)}),
    ("I quit being a lawyer", {(U, "job", "lawyer", None)}),
    ("I stopped playing football", {(U, "plays", "football", None)}),
    ("I don't play chess anymore", {(U, "plays", "chess", None)}),
    ("I no longer love jazz", {(U, "likes", "jazz", None)}),
    ("I broke up with my boyfriend Jake", {(U, "partner", "Jake", "boyfriend")}),
    ("I broke up with Jake", {(U, "partner", "Jake", None)}),
    ("I sold my car", {(U, "owns", "a car", None)}),
    ("Ana doesn't live in Porto anymore", {("Ana", "lives_in", "Porto", None)}),
]


@pytest.mark.parametrize(("text", "expected"), NEGATED, ids=[t for t, _ in NEGATED])
def test_negations_close_facts(text: str, expected: set[Fact]) -> None:
    assert negations(text) == expected
    assert facts(text) == set()


def test_moving_closes_the_old_home_and_opens_the_new_one() -> None:
    found = extract("I moved from Paris to Lisbon")
    assert [(f.object, f.negated) for f in found] == [("Paris", True), ("Lisbon", False)]


def test_no_longer_liking_something_is_a_dislike_that_closes_the_like() -> None:
    found = {(f.predicate, f.object, f.negated) for f in extract("I don't like pizza anymore")}
    assert found == {("dislikes", "pizza", False), ("likes", "pizza", True)}


def test_the_speaker_is_the_subject_of_first_person_facts() -> None:
    assert facts("I live in Boston and my sister Ana is a nurse", speaker="Caroline") == {
        ("Caroline", "lives_in", "Boston", None),
        ("Caroline", "family", "Ana", "sister"),
        ("Ana", "job", "nurse", None),
    }
    assert facts("My name is Caroline", speaker="Caroline") == {
        ("Caroline", "name", "Caroline", None)
    }


def test_third_person_facts_keep_their_own_subject_whoever_speaks() -> None:
    assert facts("Melanie works at the museum", speaker="Caroline") == {
        ("Melanie", "works_at", "the museum", None)
    }


def test_when_is_every_candidates_valid_from() -> None:
    when = datetime(2024, 5, 1, 12, 30)
    found = extract("I live in Lisbon and my sister Ana lives in Porto", when=when)
    assert len(found) == 3
    assert all(f.valid_from == when for f in found)
    assert all(f.valid_from is None for f in extract("I live in Lisbon"))


def test_confidence_is_lower_for_looser_patterns() -> None:
    confidence = {f.predicate: f.confidence for f in extract("I'm Maria. I live in Lisbon.")}
    assert confidence == {"name": 0.6, "lives_in": 0.9}
    assert [f.confidence for f in extract("I'm a nurse")] == [0.6]
    assert [f.confidence for f in extract("I work as a nurse")] == [0.9]


def test_no_duplicates_within_a_call() -> None:
    found = extract("I live in Lisbon. I live in Lisbon! I LIVE IN LISBON.")
    assert len(found) == 1


def test_facts_come_in_the_order_they_were_said() -> None:
    found = extract("I play chess. I live in Lisbon and I like tea.")
    assert [f.predicate for f in found] == ["plays", "lives_in", "likes"]


def test_case_insensitive_and_curly_apostrophes() -> None:
    assert facts("i LIVE IN Lisbon") == {(U, "lives_in", "Lisbon", None)}
    assert facts("I’ve moved to Berlin") == {(U, "lives_in", "Berlin", None)}
    assert facts("I don’t like olives") == {(U, "dislikes", "olives", None)}


def test_objects_are_short() -> None:
    (fact,) = extract("I love going to the beach with all my friends from school on sunny days")
    assert len(fact.object.split()) <= 8


def test_only_known_predicates_and_roles_for_relations() -> None:
    texts = [t for t, _ in POSITIVE] + [t for t, _ in NEGATED]
    for text in texts:
        for fact in extract(text):
            if fact.predicate == CHANGED_TO:  # placed by the learner (tests/test_changes.py)
                continue
            assert fact.predicate in PREDICATES
            if fact.predicate == "family" or (fact.predicate == "partner" and not fact.negated):
                assert fact.role
            assert fact.statement("You")


def test_implements_the_extractor_protocol() -> None:
    extractor: FactExtractor = RuleExtractor()
    assert extractor.extract("I live in Lisbon", speaker=SELF)
