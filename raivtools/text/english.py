"""English morphology for generated text: articles, verb forms, plurals and casing.

Templates (make-pairs) and word replacement (negate) must produce text that reads as written by a person, or a
model learns to spot generated sentences by their mistakes. Lemmas in, surface forms out; multi-word verbs
("pick up") inflect their first word.
"""

from __future__ import annotations

import re

_VOWELS = "aeiou"

# Words whose first letter misleads: a vowel letter pronounced as a consonant, or a silent h.
_CONSONANT_SOUND_PREFIXES = ("uni", "use", "usu", "ura", "ure", "uro", "eu", "one", "once", "ewe", "ubiq", "utens")
_VOWEL_SOUND_PREFIXES = ("hour", "honest", "honor", "honour", "heir")

_DETERMINERS = frozenset(
    "a an the this that these those some any my your his her its our their one two three four five six seven "
    "eight nine ten another each every no several many few both".split()
)

PRONOUNS = frozenset(
    "i you he she it we they me him her us them myself yourself himself herself itself ourselves themselves "
    "this that".split()
)
#: nouns that count or collect what follows "of" ("a group of men" shows men, "a slice of bread" bread)
QUANTITY_NOUNS = frozenset(
    "group groups pair pairs couple bunch bunches crowd herd flock pack number lot lots handful piece pieces "
    "slice slices set kind sort type".split()
)

_IRREGULAR_VERBS: dict[str, tuple[str, str]] = {
    # lemma: (past tense, past participle)
    "be": ("was", "been"), "have": ("had", "had"), "do": ("did", "done"), "go": ("went", "gone"),
    "arise": ("arose", "arisen"), "awake": ("awoke", "awoken"), "bear": ("bore", "borne"), "beat": ("beat", "beaten"),
    "become": ("became", "become"), "begin": ("began", "begun"), "bend": ("bent", "bent"), "bet": ("bet", "bet"),
    "bind": ("bound", "bound"), "bite": ("bit", "bitten"), "bleed": ("bled", "bled"), "blow": ("blew", "blown"),
    "break": ("broke", "broken"), "breed": ("bred", "bred"), "bring": ("brought", "brought"),
    "build": ("built", "built"), "burst": ("burst", "burst"), "buy": ("bought", "bought"), "cast": ("cast", "cast"),
    "catch": ("caught", "caught"), "choose": ("chose", "chosen"), "cling": ("clung", "clung"),
    "come": ("came", "come"), "cost": ("cost", "cost"), "creep": ("crept", "crept"), "cut": ("cut", "cut"),
    "deal": ("dealt", "dealt"), "dig": ("dug", "dug"), "dive": ("dove", "dived"), "draw": ("drew", "drawn"),
    "drink": ("drank", "drunk"), "drive": ("drove", "driven"), "eat": ("ate", "eaten"), "fall": ("fell", "fallen"),
    "feed": ("fed", "fed"), "feel": ("felt", "felt"), "fight": ("fought", "fought"), "find": ("found", "found"),
    "flee": ("fled", "fled"), "fling": ("flung", "flung"), "fly": ("flew", "flown"), "forget": ("forgot", "forgotten"),
    "freeze": ("froze", "frozen"), "get": ("got", "gotten"), "give": ("gave", "given"), "grind": ("ground", "ground"),
    "grow": ("grew", "grown"), "hang": ("hung", "hung"), "hear": ("heard", "heard"), "hide": ("hid", "hidden"),
    "hit": ("hit", "hit"), "hold": ("held", "held"), "hurt": ("hurt", "hurt"), "keep": ("kept", "kept"),
    "kneel": ("knelt", "knelt"), "know": ("knew", "known"), "lay": ("laid", "laid"), "lead": ("led", "led"),
    "leap": ("leapt", "leapt"), "leave": ("left", "left"), "lend": ("lent", "lent"), "let": ("let", "let"),
    "lie": ("lay", "lain"), "light": ("lit", "lit"), "lose": ("lost", "lost"), "make": ("made", "made"),
    "mean": ("meant", "meant"), "meet": ("met", "met"), "pay": ("paid", "paid"), "put": ("put", "put"),
    "quit": ("quit", "quit"), "read": ("read", "read"), "ride": ("rode", "ridden"), "ring": ("rang", "rung"),
    "rise": ("rose", "risen"), "run": ("ran", "run"), "say": ("said", "said"), "see": ("saw", "seen"),
    "seek": ("sought", "sought"), "sell": ("sold", "sold"), "send": ("sent", "sent"), "set": ("set", "set"),
    "sew": ("sewed", "sewn"), "shake": ("shook", "shaken"), "shine": ("shone", "shone"), "shoot": ("shot", "shot"),
    "show": ("showed", "shown"), "shrink": ("shrank", "shrunk"), "shut": ("shut", "shut"), "sing": ("sang", "sung"),
    "sink": ("sank", "sunk"), "sit": ("sat", "sat"), "sleep": ("slept", "slept"), "slide": ("slid", "slid"),
    "sling": ("slung", "slung"), "speak": ("spoke", "spoken"), "spend": ("spent", "spent"), "spin": ("spun", "spun"),
    "spit": ("spat", "spat"), "split": ("split", "split"), "spread": ("spread", "spread"),
    "spring": ("sprang", "sprung"), "stand": ("stood", "stood"), "steal": ("stole", "stolen"),
    "stick": ("stuck", "stuck"), "sting": ("stung", "stung"), "stride": ("strode", "stridden"),
    "strike": ("struck", "struck"), "swear": ("swore", "sworn"), "sweep": ("swept", "swept"),
    "swim": ("swam", "swum"), "swing": ("swung", "swung"), "take": ("took", "taken"), "teach": ("taught", "taught"),
    "tear": ("tore", "torn"), "tell": ("told", "told"), "think": ("thought", "thought"), "throw": ("threw", "thrown"),
    "tread": ("trod", "trodden"), "understand": ("understood", "understood"), "wake": ("woke", "woken"),
    "wear": ("wore", "worn"), "weave": ("wove", "woven"), "weep": ("wept", "wept"), "win": ("won", "won"),
    "wind": ("wound", "wound"), "wring": ("wrung", "wrung"), "write": ("wrote", "written"),
    "rewind": ("rewound", "rewound"), "unwind": ("unwound", "unwound"), "undo": ("undid", "undone"),
    "overtake": ("overtook", "overtaken"), "withdraw": ("withdrew", "withdrawn"), "forgive": ("forgave", "forgiven"),
}

# Compound verbs whose last word is the verb ("fast forward" -> "fast forwards"); others inflect their first word.
_HEAD_LAST_VERBS = frozenset({"fast forward", "spoon feed", "spring clean"})

# Verbs of two or more syllables stressed on the last one: they double the final consonant too.
_FINAL_STRESS = frozenset(
    "admit begin commit compel control equip forget occur omit patrol permit prefer propel rebel refer regret "
    "submit transmit upset".split()
)

_IRREGULAR_PLURALS = {
    "man": "men", "woman": "women", "child": "children", "person": "people", "foot": "feet", "tooth": "teeth",
    "mouse": "mice", "goose": "geese", "ox": "oxen", "sheep": "sheep", "fish": "fish", "deer": "deer",
    "knife": "knives", "wife": "wives", "life": "lives", "leaf": "leaves", "shelf": "shelves", "wolf": "wolves",
    "half": "halves", "calf": "calves", "loaf": "loaves", "thief": "thieves", "scarf": "scarves",
    "potato": "potatoes", "tomato": "tomatoes", "hero": "heroes", "echo": "echoes", "cactus": "cacti",
    "policeman": "policemen", "fireman": "firemen", "fisherman": "fishermen", "gentleman": "gentlemen",
}


def indefinite_article(phrase: str) -> str:
    """``"a"`` or ``"an"`` for the sound the phrase starts with (an hour, a unicorn, an apple, a one-way street)."""
    word = phrase.strip().lower()
    if not word:
        return "a"
    if word.startswith(_VOWEL_SOUND_PREFIXES):
        return "an"
    if word.startswith(_CONSONANT_SOUND_PREFIXES):
        return "a"
    return "an" if word[0] in _VOWELS else "a"


def with_article(phrase: str) -> str:
    """Puts ``a``/``an`` before a bare singular noun phrase; leaves a phrase that has a determiner alone."""
    first = phrase.strip().split(" ", 1)[0].lower()
    if first in _DETERMINERS:
        return phrase
    return f"{indefinite_article(phrase)} {phrase}"


def _split_verb(lemma: str) -> tuple[str, str]:
    head, _, rest = lemma.partition(" ")
    return head, (" " + rest if rest else "")


def _syllables(word: str) -> int:
    return len(re.findall(r"[aeiouy]+", word.lower().rstrip("e"))) or 1


def _doubles_final_consonant(verb: str) -> bool:
    """Whether ``verb`` doubles its last letter before -ing/-ed (cut -> cutting, begin -> beginning)."""
    if len(verb) < 3 or verb[-1] in "wxy" + _VOWELS or verb[-2] not in _VOWELS or verb[-3] in _VOWELS:
        return False
    return _syllables(verb) == 1 or verb in _FINAL_STRESS


def gerund(lemma: str) -> str:
    """The -ing form: cut -> cutting, make -> making, lie -> lying, see -> seeing, pick up -> picking up."""
    verb, rest = _split_verb(lemma)
    if verb.endswith("ie"):
        form = verb[:-2] + "ying"
    elif verb.endswith(("ee", "ye", "oe")) or verb == "be":
        form = verb + "ing"
    elif verb.endswith("e") and len(verb) > 2:
        form = verb[:-1] + "ing"
    elif _doubles_final_consonant(verb):
        form = verb + verb[-1] + "ing"
    else:
        form = verb + "ing"
    return form + rest


def third_person(lemma: str) -> str:
    """The present third-person singular: run -> runs, push -> pushes, carry -> carries, be -> is."""
    verb, rest = _split_verb(lemma)
    special = {"be": "is", "have": "has", "do": "does", "go": "goes"}
    if verb in special:
        form = special[verb]
    elif verb.endswith(("s", "x", "z", "ch", "sh", "o")):
        form = verb + "es"
    elif verb.endswith("y") and len(verb) > 1 and verb[-2] not in _VOWELS:
        form = verb[:-1] + "ies"
    else:
        form = verb + "s"
    return form + rest


def _regular_past(verb: str) -> str:
    if verb.endswith("e"):
        return verb + "d"
    if verb.endswith("y") and len(verb) > 1 and verb[-2] not in _VOWELS:
        return verb[:-1] + "ied"
    if _doubles_final_consonant(verb):
        return verb + verb[-1] + "ed"
    return verb + "ed"


def past_tense(lemma: str) -> str:
    """The simple past: walk -> walked, run -> ran, stop -> stopped."""
    verb, rest = _split_verb(lemma)
    return (_IRREGULAR_VERBS[verb][0] if verb in _IRREGULAR_VERBS else _regular_past(verb)) + rest


def past_participle(lemma: str) -> str:
    """The past participle: walk -> walked, eat -> eaten, cut -> cut."""
    verb, rest = _split_verb(lemma)
    return (_IRREGULAR_VERBS[verb][1] if verb in _IRREGULAR_VERBS else _regular_past(verb)) + rest


def inflect_verb(lemma: str, penn_tag: str) -> str:
    """The form of ``lemma`` that a Penn Treebank tag asks for (VB, VBP, VBZ, VBD, VBN, VBG)."""
    forms = {"VBZ": third_person, "VBD": past_tense, "VBN": past_participle, "VBG": gerund}
    if lemma in _HEAD_LAST_VERBS:
        modifier, _, verb = lemma.rpartition(" ")
        return f"{modifier} {inflect_verb(verb, penn_tag)}"
    return forms[penn_tag](lemma) if penn_tag in forms else lemma


def plural(noun: str) -> str:
    """The plural of a noun (the last word of a phrase): knife -> knives, box -> boxes, baby -> babies."""
    head, _, last = noun.rpartition(" ")
    prefix = head + " " if head else ""
    lower = last.lower()
    if lower in _IRREGULAR_PLURALS:
        form = match_case(_IRREGULAR_PLURALS[lower], last)
    elif lower.endswith(("s", "x", "z", "ch", "sh")):
        form = last + "es"
    elif lower.endswith("y") and len(lower) > 1 and lower[-2] not in _VOWELS:
        form = last[:-1] + "ies"
    else:
        form = last + "s"
    return prefix + form


def match_case(new: str, like: str) -> str:
    """Gives ``new`` the casing of ``like``: RED -> BLUE, Red -> Blue, red -> blue."""
    if len(like) > 1 and like.isupper():
        return new.upper()
    if like[:1].isupper():
        return new[:1].upper() + new[1:]
    if like.islower():
        return new.lower()
    return new


_SINGULARS = {plural_form: noun for noun, plural_form in _IRREGULAR_PLURALS.items() if plural_form != noun}
_SINGULARS.update({"people": "person", "children": "child", "teeth": "tooth", "feet": "foot"})
_NOT_PLURAL_ENDINGS = ("ss", "us", "is", "ous", "ics")
_NO_SINGULAR = frozenset("news series species means clothes pants jeans shorts scissors glasses".split())

# Nouns used without "a/an" in the singular (bread is present, not a bread is present).
MASS_NOUNS = frozenset(
    "bread water food rice pasta meat cheese milk coffee tea juice wine beer soup sand snow grass hair paper wood "
    "furniture luggage equipment money music traffic smoke fire ice rain mud dirt dust soil salt sugar flour "
    "butter honey cereal broccoli lettuce spinach corn fruit laundry clothing jewelry art soccer tennis golf hockey "
    "rugby chess homework work sunlight daylight foliage garbage trash paint metal plastic cotton wool leather "
    "fabric clay concrete steel beef pork".split()
) | {"ice cream"}


def singular(noun: str) -> str:
    """The singular of a noun (the last word of a phrase): knives -> knife, boxes -> box, horses -> horse."""
    head, _, last = noun.rpartition(" ")
    prefix = head + " " if head else ""
    lower = last.lower()
    if lower in _SINGULARS:
        form = match_case(_SINGULARS[lower], last)
    elif not lower.endswith("s") or lower.endswith(_NOT_PLURAL_ENDINGS) or len(lower) < 4 or lower in _NO_SINGULAR:
        form = last
    elif lower.endswith("ies") and len(lower) > 4:
        form = last[:-3] + "y"
    elif lower.endswith(("sses", "xes", "zzes", "ches", "shes")):
        form = last[:-2]
    else:
        form = last[:-1]
    return prefix + form


def is_plural(noun: str) -> bool:
    """Whether a noun (the last word of a phrase) is plural: men, dogs, boxes yes; glass, bus, bread no."""
    last = noun.rpartition(" ")[2].lower()
    if last in _SINGULARS or last in _NO_SINGULAR - {"news", "series", "species", "means"}:
        return True
    return singular(last) != last


def is_mass_noun(noun: str) -> bool:
    """Whether a noun (the last word, or the whole phrase) is usually uncountable: bread, water, soccer."""
    lower = noun.strip().lower()
    return lower in MASS_NOUNS or lower.rpartition(" ")[2] in MASS_NOUNS
