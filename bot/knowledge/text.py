"""Text normalisation shared by the quote check, the lexical signal and the reply builder."""

from __future__ import annotations

import re
import unicodedata

# Typographic variants that the published page mixes freely (’ ´ ' and – -); a quote typed with
# either form must still match the source.
_QUOTE_MARKS = str.maketrans({"’": "'", "‘": "'", "´": "'", "`": "'", "“": '"', "”": '"', "–": "-", "—": "-"})
_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)

# Function words carry no topic; without them the lexical signal measures content overlap only.
STOPWORDS = frozenset(
    """
    a an the and or but if of to in on at by for with from about as into onto than then so such this that
    these those there here is are was were be been being am do does did done doing have has had having
    i me my mine we our ours you your yours he him his she her it its they them their theirs what which who
    whom whose when where why how can could would should will shall may might must not no nor yes please
    tell say said explain describe give show know want need like let any some all also just more most
    much many very really actually exactly quite only even still again up down out off over under there's
    what's who's it's i'm i'd i'll don't doesn't isn't aren't can't won't hi hello hey thanks thank ok
    okay get got getting one two three thing things something anything way kind sort lot bit please
    find look looking see mean means meant help wondering wonder curious question ask asking
    on ja ei ole ovat oli olla onko onks oliko mikä mitä mitkä mikäs mitäs kuka ketä kenen kenelle milloin
    missä mistä mihin miten miksi millainen millä kuinka paljon voiko voinko voisitko voitko voiks saako
    saanko kiitos kiitti moi hei terve kyllä joo juu en et emme ette eivät eikä mutta tai myös vain vielä
    jo nyt sitten se sen sitä ne niiden niitä tämä tää tätä tuo toi tässä siinä mä minä mun minun mulle
    minulle sinä sä sun teidän teiän te me meidän hän he kerro kertoisitko kerrotko haluan haluaisin
    tarvitsen tietää tiedätkö osaatko anna näytä löytyykö kiinnostaa siis vai noh niin jotain mitään
    yksi kaksi kolme mua mulle sulle teille jos kun että mille minne minkä minä millä monta montako koska
    kenelle keneltä keneen tämän tähän tästä nämä näiden näitä näistä tuon tuota siitä siihen niistä
    wat wut wot wht whats wats thx pls plz
    """.split()
)

# Short prefixes stand in for stemming: English plurals and Finnish case endings share them
# (priority/priorities, painopiste/painopisteistä) and no language-specific stemmer is needed.
PREFIX_LEN = 6


def fold(text: str) -> str:
    """Whitespace, quote marks and dashes unified; used to compare quotes with sources."""
    return _SPACE.sub(" ", unicodedata.normalize("NFC", text).translate(_QUOTE_MARKS)).strip()


def words(text: str) -> list[str]:
    return _WORD.findall(fold(text).casefold())


def terms(text: str) -> list[str]:
    """Content terms of a text: words that are not stopwords, cut to a common prefix."""
    return [w[:PREFIX_LEN] for w in words(text) if w not in STOPWORDS and (len(w) > 1 or w.isdigit())]


# Names that stand in nearly every question and fact dominate the small e5 model's embedding of any
# sentence that contains them: "the main aims of the RIS3 strategy" scored 0.99 against "the vision of
# the RIS3 strategy" but 0.89 against "the aims of the strategy", and "which focus areas did Kymenlaakso
# pick for smart specialisation?" was nearest to "why does Kymenlaakso have a smart specialisation
# strategy?". They carry no meaning for ranking here, so they are left out of what is embedded (the
# lexical signal still sees them).
_EMBEDDING_NOISE = re.compile(
    r"\b(RIS\s?-?3|smart speciali[sz][a-z]*|Kymenlaakso(['’´]?s)?|älykkä[a-zäö]* erikoistumi[a-zäö]*|"
    r"Kymenlaakso[a-zäö]*)\b\s*",
    re.IGNORECASE,
)


def for_embedding(text: str) -> str:
    stripped = _EMBEDDING_NOISE.sub("", text).strip()
    if not any(w not in STOPWORDS for w in words(stripped)):
        # "what is RIS3?": the acronym is the whole question; say what it stands for instead.
        return "what is smart specialisation"
    return stripped
