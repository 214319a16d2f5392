"""Which language a message is written in: Finnish, English, or not enough to tell.

Stakeholders write short and mixed messages ("RIS3?", "ok", "kiitos", "RIS3 painopisteet?"). A message
that gives no clear evidence returns None, and the conversation keeps its language. Explicit requests
("in English please", "suomeksi kiitos") win over everything else. No model is needed: Finnish and
English differ in their function words, letters and endings, which is all a chat message offers.
"""

from __future__ import annotations

import re

FINNISH = "fi"
ENGLISH = "en"
LANGUAGES = (ENGLISH, FINNISH)

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)

# Names that stand in messages of both languages and say nothing about the language.
_NEUTRAL = frozenset(
    "ris ris3 kymäes kymaes kymenlaakso kymenlaakson kouvola kotka tolmunen petri erdf eakr pdf ok okay "
    "kymris3 eng gsm rdi tki".split()
)

# Place and person names, whose inflected forms are Finnish ("Kouvolan", "Kotkassa", "Tolmuselta").
_NAMES = ("kouvola", "kotka", "kymenlaakso", "hamina", "tolmuse", "kymäes")

_FINNISH_WORDS = frozenset(
    """
    on ja ei ole ovat oli mikä mitä mitkä mikäs mitäs kuka ketä kenen kenelle keneen milloin missä mistä
    mihin miten miksi millainen millä paljonko montako kuinka onko onks oliko voiko voinko voisitko voitko
    voiks saako saanko kiitos kiitti kiitoksia kitos moi moikka hei terve huomenta päivää iltaa heippa
    moro kyllä joo juu jep ei eikä en et emme ette eivät mutta tai myös vain vielä jo nyt sitten se
    sen sitä ne niiden tämä tää tuo toi tässä siinä se mä mää minä mun minun mulle sinä sä sun teidän
    teiän te me meidän hän he strategia strategian strategiaa strategiassa strategiasta painopisteet
    painopiste painopisteitä painopisteistä aikataulu yhteystiedot osoite puhelinnumero sähköposti
    hanke hankkeen projekti projektipäällikkö projektipäällikön esite liitto liiton maakunta
    älykäs älykkään erikoistuminen erikoistumisen kerro kertoisitko haluan haluaisin tarvitsen apua
    kiinnostaa tietoa lisätietoja vastaa vastaako tehdä tekee missä mistä ihmisen kanssa puhua
    suomeksi suomea englanniksi englantia kielellä selvä hyvä kiva okei jees noh no niin vai siis anna
    annatko näytä löytyykö onks
    """.split()
)

_ENGLISH_WORDS = frozenset(
    """
    the a an is are was were be been of to in on at for with from by about what which who whom whose
    when where why how do does did can could would should will shall may might must i you he she it we
    they me my your our their this that these those there here and or but not no yes please thanks
    thank hello hi hey bye goodbye good morning evening afternoon any some all tell give show want
    need know like let get have has had strategy priorities priority timeline contact project manager
    address phone email brochure published publish updated update funding fund person human talk
    speak english finnish help what's who's it's i'm i'd don't does isn't sure ok great cheers
    """.split()
)

# Endings that English words rarely have and Finnish inflected words often do.
_FINNISH_ENDING = re.compile(
    r"(ssa|ssä|sta|stä|lla|llä|lta|ltä|lle|ksi|nsa|nsä|ista|istä|iden|itten|aan|ään|kin|kaan|kään|ko|kö|"
    r"sti|ssaan|issa|issä|eet|ien|ita|itä|ja|jä|mme|tte|vat|vät|nen|sen|uus|yys|inen|ihin|iin)$"
)
_FINNISH_LETTERS = re.compile(r"[äöå]")

_ASK_ENGLISH = re.compile(
    r"\b(in english|english please|speak english|english\?|englanniksi|englantia|englanninkielell)",
    re.IGNORECASE,
)
_ASK_FINNISH = re.compile(
    r"\b(in finnish|finnish please|speak finnish|suomeksi|suomea|suomen kielell|på finska)", re.IGNORECASE
)


def requested_language(text: str) -> str | None:
    """The language a user explicitly asks for, if any."""
    asks_en = bool(_ASK_ENGLISH.search(text))
    asks_fi = bool(_ASK_FINNISH.search(text))
    if asks_en != asks_fi:
        return ENGLISH if asks_en else FINNISH
    return None


def _inflected_name(word: str) -> bool:
    """A name with a Finnish case ending ("kouvolan", "kymenlaaksossa"): only Finnish inflects names."""
    return any(word.startswith(name) and len(word) > len(name) for name in _NAMES)


# Contact details: an e-mail address, or a phone number (seven digits or more, spaces and dashes allowed).
_CONTACT = re.compile(r"[^\s@]+@[^\s@]+\.\w+|\+?\d[\d \-()]{5,}\d")


def _names(words: list[str]) -> set[int]:
    """Positions of the words that read as a person's name: two or more capitalised words in a row ("Anna
    Eval"), or a capitalised word after the first ("soita Matille"), which only a name is in a chat message."""
    capital = [w[:1].isupper() for w in words]
    return {
        i for i, up in enumerate(capital)
        if up and (i > 0 or (len(words) > 1 and capital[1]))
    }


def scores(text: str) -> tuple[float, float]:
    """Evidence for (Finnish, English) in a message. Contact details say nothing of the language, nor does a
    name given with them ("Anna Eval, 040 765 4321": "anna" is a Finnish word, Anna an English name as much as
    a Finnish one)."""
    finnish = english = 0.0
    words = _WORD.findall(_CONTACT.sub(" ", text))
    names = _names(words) if _CONTACT.search(text) else set()
    for position, original in enumerate(words):
        word = original.casefold()
        if word in _NEUTRAL or position in names:
            continue
        if _inflected_name(word):
            finnish += 1.0
            continue
        if word in _FINNISH_WORDS:
            finnish += 1.0
        elif word in _ENGLISH_WORDS:
            english += 1.0
        elif _FINNISH_LETTERS.search(word):
            finnish += 1.0
        elif len(word) > 4 and _FINNISH_ENDING.search(word):
            finnish += 0.5
        elif len(word) > 2:
            # An unknown word without Finnish letters or endings leans English, but only a little:
            # many Finnish words lack both once the diacritics are left out.
            english += 0.25
    return finnish, english


def detect(text: str) -> str | None:
    """The language of a message, or None when it does not say (the conversation keeps its own)."""
    requested = requested_language(text)
    if requested:
        return requested
    finnish, english = scores(text)
    if finnish >= 1.0 and finnish > english:
        return FINNISH
    if english >= 1.0 and english > finnish:
        return ENGLISH
    return None
