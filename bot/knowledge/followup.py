"""Resolving a message that leans on the conversation: "the second one", "his number", "entä Kotkan
osoite?", "tell me more", "mitä muuta?". The conversation's state is what the bot last answered and what it
last listed (in order); the result says which fact is meant, or a question to retrieve with the reference
spelt out, or that the reference is ambiguous and the user is asked which one. Pure functions over the
knowledge: no model, no Rasa."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.knowledge.store import Knowledge
from bot.knowledge.text import STOPWORDS, terms

# Ordinal words and the position they name (-1: the last). Finnish ones in their inflected forms.
_ORDINALS_EN = {
    "first": 0, "1st": 0, "second": 1, "2nd": 1, "third": 2, "3rd": 2, "fourth": 3, "4th": 3, "fifth": 4,
    "5th": 4, "sixth": 5, "6th": 5, "last": -1, "final": -1, "latter": -1, "former": 0,
}
_ORDINALS_FI = (
    (re.compile(r"^(ensimmäi|ensimäi|eka)\w*$"), 0),
    (re.compile(r"^(toinen|toise\w*|toista|toka\w*)$"), 1),
    (re.compile(r"^(kolmas|kolmann\w*|kolmatt\w*)$"), 2),
    (re.compile(r"^(neljäs|neljänn\w*|neljätt\w*)$"), 3),
    (re.compile(r"^(viides|viidenn\w*|viidett\w*)$"), 4),
    (re.compile(r"^(kuudes|kuudenn\w*|kuudett\w*)$"), 5),
    (re.compile(r"^(viimeinen|viimeise\w*|viimeistä|jälkimmäi\w*)$"), -1),
)
_NUMBER_WORDS = {"one": 0, "two": 1, "three": 2, "four": 3, "five": 4, "six": 5,
                 "yksi": 0, "kaksi": 1, "kolme": 2, "neljä": 3, "viisi": 4, "kuusi": 5}
# Words that may follow an ordinal when it points at an item ("the second one", "the last priority",
# "toinen painopiste"); "the last update" is not a reference.
_ITEM_WORDS = re.compile(
    r"^(one|ones|item|option|choice|priority|priorities|topic|theme|area|point|link|button|answer|"
    r"of|on|about|please|pls|painopiste\w*|kohta\w*|vaihtoehto\w*|aihe\w*|teema\w*|linkki\w*|nappi\w*|"
    r"niistä|näistä|noista|kiitos|sitten|vielä)$"
)
# "number 2", "option 2", "#2", "nro 2", "kohta 2", or a message that is just "2" / "2."
_NUMBERED = re.compile(r"(?:\b(?:number|no|nr|nro|option|item|kohta|numero|vaihtoehto)\.?\s*|#)(\d)\b")
_BARE_NUMBER = re.compile(r"^\s*(\d)\s*[.)]?\s*$")

# "tell me more", "more please", "go on", "kerro lisää", "lisää tietoa", "jatka".
_MORE = re.compile(
    r"\b(tell me more|more (info|information|details|detail)|more please|go on|continue|elaborate|"
    r"expand on|in more detail|details please|more about|kerro lisää|kertoisitko lisää|lisää tietoa|"
    r"lisätietoa|kerro tarkemmin|tarkemmin|jatka|lisää)\b"
)
_MORE_ONLY = re.compile(r"^\s*(more|details|lisää)\s*[?!.]*\s*$")
# "what else?", "anything else?", "mitä muuta?", "entä muuta?".
_WHAT_ELSE = re.compile(
    r"\b(what else|anything else|something else|what more|other topics|mitä muuta|mitäs muuta|muuta\??$|"
    r"entä muuta|mistä muusta|mitä muita)\b"
)
# Pronouns that stand for the last answer's subject; personal ones for the only person the knowledge
# names (the project manager).
_PERSONAL = frozenset("he him his she her hers hän hänen häntä hänelle häneltä häneen hänestä hänellä".split())
_NEUTER = frozenset(
    "it its they them their se sen sitä siitä siihen siinä sille siltä sillä ne niiden niitä niistä "
    "niihin niille niillä".split()
)
# Demonstratives stand for the subject only on their own ("who funded that?"); before a noun they are
# determiners of a question that names its own subject ("what is this strategy about?").
_DEMONSTRATIVES = frozenset("this that these those tämä tämän tätä tästä tähän tuo tuon tuota toi ton".split())
# Openers of an elliptic question: "and X?", "what about X?", "entä X?".
_ELLIPSIS = re.compile(
    r"^\s*(and|also|what about|how about|and what about|and how about|then|entä|entäs|ja|mites|mitenkäs|"
    r"mitäs|no entä|mut|mutta)\b[\s,]*(?P<rest>.*)$"
)
# Filler around a reference that says nothing about what is asked ("tell me more about the second one").
_FILLER = STOPWORDS | frozenset(
    "more details detail info information elaborate expand continue go on about please pls one ones item "
    "option choice topic theme point lisää tietoa tarkemmin kerro jatka kertoisitko aiheesta asiasta "
    "painopiste painopisteestä painopisteen painopistettä kohta kohdasta kohtaa vaihtoehto vaihtoehdosta "
    "priority priorities link button answer again".split()
)
LAST = -1


@dataclass(frozen=True)
class ConversationState:
    """What the conversation holds between turns (Rasa slots; see domain.yml)."""

    last_fact: str | None = None
    # The facts the bot's last reply listed or offered as buttons, in their order.
    listed: tuple[str, ...] = ()


@dataclass(frozen=True)
class Resolution:
    """kind: "none" (not a follow-up), "fact" (fact_id is meant), "rewrite" (retrieve `question`, the
    reference spelt out), "choose" (ambiguous: ask which of `options`), "what_else" (offer `options`),
    "all_said" (more about fact_id was asked, and the knowledge has nothing beyond it: say so, offer `options`)."""

    kind: str
    fact_id: str | None = None
    question: str | None = None
    options: tuple[str, ...] = ()
    how: str = ""


NOT_A_FOLLOW_UP = Resolution("none")


def _tokens(text: str) -> list[str]:
    return re.findall(r"[^\W_]+|#\d", text.casefold())


def ordinal(text: str) -> tuple[int, str] | None:
    """The position an ordinal reference names (0-based, LAST for the last) and the words that said it,
    or None: "tell me more about the second one" → (1, "second one")."""
    lowered = text.casefold()
    bare = _BARE_NUMBER.match(lowered)
    if bare:
        return int(bare.group(1)) - 1, bare.group(0).strip()
    numbered = _NUMBERED.search(lowered)
    if numbered:
        return int(numbered.group(1)) - 1, numbered.group(0)
    tokens = _tokens(text)
    for i, token in enumerate(tokens):
        after = tokens[i + 1] if i + 1 < len(tokens) else ""
        position = _ORDINALS_EN.get(token)
        if position is not None:
            before = tokens[i - 1] if i else ""
            # English ordinals point at an item after "the"/"that" and before an item word or the end:
            # "when was it last updated" and "the last update" are not references.
            if before in ("the", "that", "this", "your", "and") and (not after or _ITEM_WORDS.match(after)):
                return position, token + (f" {after}" if after in ("one", "ones") else "")
            if len(tokens) <= 2 and not after:
                return position, token
            continue
        for pattern, position in _ORDINALS_FI:
            if pattern.match(token):
                # "toinen" also means "another" ("toinen kysymys"): it must be short or point at an item.
                if position == 1 and not (len(tokens) <= 4 or not after or _ITEM_WORDS.match(after)):
                    break
                return position, token
        # "number two", "kohta kaksi"
        if token in ("number", "option", "kohta", "numero", "vaihtoehto") and after in _NUMBER_WORDS:
            return _NUMBER_WORDS[after], f"{token} {after}"
    return None


def _content_terms(text: str, remove: str = "") -> list[str]:
    """The words that say what is asked, once the reference and filler are taken out."""
    rest = text.casefold().replace(remove.casefold(), " ") if remove else text.casefold()
    return [t for t, w in zip(terms(rest), _words(rest), strict=False) if w not in _FILLER]


def _words(text: str) -> list[str]:
    return [w for w in re.findall(r"[^\W\d_]+", text.casefold()) if w not in STOPWORDS]


def is_more_request(text: str) -> bool:
    """"tell me more (about it)", "kerro lisää (siitä)": more about the last answer, nothing else named."""
    lowered = text.casefold()
    if not (_MORE.search(lowered) or _MORE_ONLY.match(lowered)):
        return False
    return not _content_terms(lowered)


def is_what_else(text: str) -> bool:
    lowered = text.casefold()
    return bool(_WHAT_ELSE.search(lowered)) and not _content_terms(_WHAT_ELSE.sub(" ", lowered))


def pronoun(text: str) -> tuple[str, bool] | None:
    """The first pronoun that can stand for the last answer's subject, and whether it is personal."""
    tokens = _tokens(text)
    for i, token in enumerate(tokens):
        if token in _PERSONAL:
            return token, True
        if token in _NEUTER:
            return token, False
        if token in _DEMONSTRATIVES:
            after = tokens[i + 1] if i + 1 < len(tokens) else ""
            if not after or after in STOPWORDS:
                return token, False
    return None


def ellipsis(text: str) -> str | None:
    """What an elliptic question names: "and its funding?" → "its funding?", "entä Kotkan osoite?" →
    "Kotkan osoite?"; None when the message does not open that way."""
    match = _ELLIPSIS.match(text.casefold())
    if not match or not match.group("rest").strip(" ?!."):
        return None
    start = len(text) - len(match.group("rest"))
    return text[start:].strip()


def _replace_word(text: str, word: str, phrase: str) -> str:
    return re.sub(rf"(?<![\w]){re.escape(word)}(?![\w])", phrase, text, count=1, flags=re.IGNORECASE)


def _siblings(knowledge: Knowledge, fact_id: str) -> set[str]:
    """The other items of the lists the fact is an item of: after one priority, the other priorities."""
    return {f for other in knowledge.facts.values() if fact_id in other.lists for f in other.lists} - {fact_id}


def _follow_up_options(knowledge: Knowledge, state: ConversationState) -> tuple[str, ...]:
    """What "tell me more" may mean after the last answer: what it listed, else the follow-ups of its topic
    that say more about it (not the other items of a list it is one of: those are not more about it). Empty
    when the knowledge has nothing beyond the last answer."""
    if not state.last_fact or state.last_fact not in knowledge.facts:
        return tuple(state.listed) or knowledge.menu
    fact = knowledge.facts[state.last_fact]
    if fact.lists:
        return fact.lists
    siblings = _siblings(knowledge, fact.id)
    same_topic = tuple(f for f in fact.follow_ups if knowledge.facts[f].topic == fact.topic and f not in siblings)
    if same_topic:
        return same_topic
    return () if siblings else fact.follow_ups or knowledge.menu


def _what_else_options(knowledge: Knowledge, state: ConversationState) -> tuple[str, ...]:
    options: list[str] = []
    if state.last_fact in knowledge.facts:
        options.extend(knowledge.facts[state.last_fact].follow_ups)
    last_topic = knowledge.facts[state.last_fact].topic if state.last_fact in knowledge.facts else None
    for fact_id in knowledge.menu:
        if knowledge.facts[fact_id].topic != last_topic:
            options.append(fact_id)
    unique = tuple(dict.fromkeys(f for f in options if f != state.last_fact))
    return unique[:6]


def resolve(text: str, state: ConversationState, knowledge: Knowledge, lang: str) -> Resolution:
    """How the message refers to the conversation; NOT_A_FOLLOW_UP when it stands on its own."""
    if is_what_else(text):
        return Resolution("what_else", options=_what_else_options(knowledge, state), how="what else")

    reference = ordinal(text)
    if reference is not None:
        position, said = reference
        listed = tuple(f for f in state.listed if f in knowledge.facts) or knowledge.menu
        if not (-len(listed) <= position < len(listed)):
            return Resolution("choose", options=listed, how=f"ordinal {said!r} out of range")
        fact_id = listed[position]
        if not _content_terms(text, said):
            return Resolution("fact", fact_id=fact_id, how=f"ordinal {said!r}")
        # Something more is asked about the item ("who runs the second one?"): name it and retrieve.
        title = knowledge.facts[fact_id].title
        name = knowledge.subject(fact_id, lang) or title.get(lang) or title["en"]
        return Resolution("rewrite", fact_id=fact_id, question=_replace_word(text, said, name), how="ordinal")

    if is_more_request(text):
        options = _follow_up_options(knowledge, state)
        if not options and state.last_fact:
            fact = knowledge.facts[state.last_fact]
            offered = fact.follow_ups or knowledge.menu
            return Resolution("all_said", fact_id=fact.id, options=offered, how="tell me more")
        if len(options) == 1:
            return Resolution("fact", fact_id=options[0], how="tell me more")
        return Resolution("choose", options=options, how="tell me more")

    if not state.last_fact or state.last_fact not in knowledge.facts:
        return NOT_A_FOLLOW_UP
    elliptic = ellipsis(text)
    found = pronoun(elliptic or text)
    if found is not None:
        word, personal = found
        subject = knowledge.subject(state.last_fact, lang, personal=personal)
        if subject:
            base = elliptic or text
            return Resolution("rewrite", question=_replace_word(base, word, subject), how=f"pronoun {word!r}")
    if elliptic is not None:
        subject = knowledge.subject(state.last_fact, lang)
        # The named thing alone may answer ("entä Kotkan osoite?"); with the last subject added it is
        # read in the conversation's context ("and the funding?" after the project).
        return Resolution("rewrite", question=f"{elliptic} ({subject})" if subject else elliptic, how="ellipsis")
    return NOT_A_FOLLOW_UP
