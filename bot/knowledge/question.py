"""Finding the question in a message that wraps it in context: "Hello, I represent a municipality …, so I
would like to know which themes the strategy prioritises." or "I run a logistics SME in Kotka. Is my sector
among the region's focus areas?". The asked part is what retrieval weighs; a "my sector" in it is replaced
by the sector the context names, so that the answer is about that sector and not about the context's
other words."""

from __future__ import annotations

import re

from bot.knowledge.text import words

# Words that open a question about whether something is so ("is X a priority?", "onko X mukana?").
YES_NO_OPENERS = frozenset(
    "is are does do was were will can could has have isn't aren't doesn't onko onks ovatko oliko kuuluuko "
    "sisältyykö mahtuuko kuuluvatko".split()
)
QUESTION_WORDS = frozenset(
    "what what's which who who's whom whose when where why how whether is are does do can could will "
    "kuka kenen mikä mitä mitkä milloin missä mistä mihin miten miksi millainen kuinka onko onks ovatko "
    "kuuluuko voiko".split()
)
# Phrases after which the question follows without a question mark ("so I would like to know which …").
_INDIRECT = re.compile(
    r"\b(?:(?:i|we)(?: would|'d)? (?:like|want|wanted|wish|need|needed) to (?:know|ask|find out|understand)|"
    r"(?:i|we) (?:am|are|was|were) wondering|i wonder|(?:could|can|would) you (?:please )?(?:tell|explain to) "
    r"(?:me|us)|please tell (?:me|us)|tell (?:me|us)|interested (?:to know|in knowing)|"
    r"haluaisi(?:n|mme) (?:tietää|kysyä|selvittää)|halua(?:n|mme) (?:tietää|kysyä|selvittää)|kysyisi(?:n|mme)|"
    r"kertoisitko|voisitko kertoa|voitko kertoa|olisi (?:kiva|hyvä|mukava) tietää|kiinnostaisi tietää|"
    r"kiinnostaa tietää|ihmettelen|mietin)\b[\s,:]*(?P<rest>.+)$",
    re.IGNORECASE,
)
# A reason or purpose after the question ("…covers, because we want to match it").
_REASON = re.compile(r"[,;]?\s+\b(?:because|since|as we|so that|so we|in order to|koska|jotta|sillä|niin että)\b", re.I)
# "my sector", "our field", "alamme", "toimialani": the user's own sector, named in the context.
_OWN_SECTOR = re.compile(
    r"\b(?:my|our)\s+(?:own\s+)?(?:sector|field|industry|line of business|business|area of business|branch|"
    r"trade|domain)\b|\b(?:meidän |minun )?(?:toimi)?ala(?:mme|ni|amme|aani)\b|\byrityksemme ala\b",
    re.IGNORECASE,
)
_COMPANY = (
    r"(?:company|companies|firm|sme|smes|business|businesses|startup|start-up|enterprise|operator|"
    r"consultancy|cooperative|plant|factory|sector|industry|cluster|studio|agency|shop|lab|workshop|"
    r"organisation|organization|association|team|project|firma)"
)
_SECTOR_EN = (
    re.compile(r"\bspeciali[sz](?:ed|ing|e|es)\s+(?:in|on)\s+(?P<sector>[a-z][\w-]*(?:\s+[a-z][\w-]*)?)", re.I),
    re.compile(r"\b(?:idea|plan|project|proposal)\s+(?:on|about|for|in|around)\s+(?P<sector>[a-z][\w-]*(?:\s+[a-z][\w-]*)?)",
               re.I),
    re.compile(rf"\b(?:a|an|our|my|the)\s+(?P<sector>[a-z][\w-]*(?:\s+[a-z][\w-]*)?)\s+{_COMPANY}\b", re.I),
    re.compile(r"\b(?:in|within)\s+(?:the\s+)?(?P<sector>[a-z][\w-]*)\s+(?:sector|industry|field|business)\b", re.I),
    re.compile(r"\bwork(?:s|ing)?\s+(?:in|with)\s+(?P<sector>[a-z][\w-]*)\b", re.I),
)
# "kyberturvallisuuteen erikoistunut", "datatalouden hanketta": the theme before the word that says so.
_SECTOR_FI_PHRASE = re.compile(
    r"\b(?P<sector>[^\W\d_]{4,})\s+(?:erikoistu\w*|keskitty\w*|hanke\w*|hankkee\w*|projekti\w*|idea\w*|"
    r"liittyv\w*)",
    re.IGNORECASE,
)
# Finnish names a sector in a compound: "logistiikkayritys", "matkailualalla", "satama-alan yritys".
_SECTOR_FI = re.compile(
    r"\b(?P<sector>[^\W\d_]{4,}?)-?(?:yritys|yrityks|yritykse|yhtiö|firma|ala(?:lla|n|a|lle|sta)\b|teollisuu|"
    r"toimija)\w*",
    re.IGNORECASE,
)
# Words that may precede a company noun without naming a sector.
_NOT_SECTOR = frozenset(
    "small medium large big family local new young own regional international growing the a an our my "
    "startup small-sized medium-sized pieni pien keskisuuri suuri perhe oma uusi kasvu vienti".split()
)


def _sentences(question: str) -> list[str]:
    return [p for p in re.split(r"(?<=[.!?:])\s+", question.strip()) if words(p)]


def asked_part(question: str) -> str:
    """The sentence or clause that asks, when a message gives context first: "We run a biogas plant near
    Hamina. Would renewable energy fall under the priorities?", "…, so I would like to know which themes
    the strategy prioritises."; the whole message when it is all question."""
    parts = _sentences(question)
    asked = [p for p in parts if p.rstrip().endswith("?")]
    if len(parts) >= 2 and asked:
        return asked[-1]
    # No question mark to go by: an indirect question ("I would like to know which …") in the last
    # sentence that has one, else the last sentence that opens as a question.
    for part in reversed(parts or [question]):
        indirect = _INDIRECT.search(part)
        if indirect and words(indirect.group("rest")):
            # "…which years the strategy covers because we want our plan to match it": the reason is context.
            return _REASON.split(indirect.group("rest"), maxsplit=1)[0].strip(" ,")
    if len(parts) >= 2:
        for part in reversed(parts):
            first = (words(part) or [""])[0]
            if first in QUESTION_WORDS or (first.endswith(("ko", "kö")) and len(first) > 4):
                return part
    return question


def is_yes_no(asked: str) -> bool:
    """Whether the asked part asks if something is so: "is logistics a priority?", "onko satamat mukana?"."""
    first = (words(asked) or [""])[0]
    return first in YES_NO_OPENERS or (first.endswith(("ko", "kö")) and len(first) > 4)


def named_sectors(context: str) -> list[str]:
    """The sectors or themes the user says they work on, from the context, most explicit first: "I run a
    logistics SME" → ["logistics"], "kyberturvallisuuteen erikoistunut ohjelmistoyritys" →
    ["kyberturvallisuuteen", "ohjelmisto"]."""
    found: list[str] = []
    for pattern in (*_SECTOR_EN, _SECTOR_FI_PHRASE, _SECTOR_FI):
        for match in pattern.finditer(context):
            sector = " ".join(w for w in match.group("sector").rstrip("-").split() if w.casefold() not in _NOT_SECTOR)
            if sector and sector.casefold() not in (f.casefold() for f in found):
                found.append(sector)
    return found


def named_sector(context: str) -> str | None:
    """The first sector named_sectors finds, or None."""
    sectors = named_sectors(context)
    return sectors[0] if sectors else None


def with_own_sector(question: str) -> str:
    """The question with "my sector" in its asked part replaced by the sector its context names."""
    asked = asked_part(question)
    if not _OWN_SECTOR.search(asked):
        return question
    context = question.replace(asked, " ")
    sectors = named_sectors(context)
    if not sectors:
        return question
    joined = " / ".join(sectors[:3])
    return question.replace(asked, _OWN_SECTOR.sub(joined, asked, count=1))


# "Is X among the priorities?", "does the strategy cover X?", "kuuluuko X painopisteisiin?": whether a theme
# is in the strategy. X is what the answer must say yes or no about.
_STRATEGY = r"(?:it|they|(?:the |this |your |kymenlaakso'?s? |the region'?s? |regional )*(?:ris3 |" \
    r"smart specialisation |smart specialization )?(?:strategy|ris3|plan|priorities|focus areas?|programme|program)" \
    r"(?: of the strategy)?)"
_MEMBERSHIP = (
    re.compile(
        rf"^(?:does|do|will|would|did)\s+{_STRATEGY}\s+(?:cover|include|mention|support|address|concern|"
        r"deal with|focus on|prioriti[sz]e|name|list|contain|involve)\s+(?P<x>.+?)[?.!]*$",
        re.I,
    ),
    re.compile(
        r"^(?:is|are)\s+(?P<x>.+?)\s+(?:included|covered|mentioned|named|listed|among|part of|one of|"
        r"a priority|a focus|a focus area|a key area|prioriti[sz]ed|in the strategy|on the list|in focus|"
        r"a theme|one of the themes)\b",
        re.I,
    ),
    re.compile(
        r"^(?:would|does|do|could|can|will)\s+(?P<x>.+?)\s+(?:fall under|fit|belong|count|qualify|"
        r"be included|be covered|be part)\b",
        re.I,
    ),
    re.compile(
        r"^(?:which|what)\s+(?:priority|priorities|theme|focus area|area|key area)\s+(?:would|does|do|could|can|will|"
        r"might)\s+(?P<x>.+?)\s+(?:fit|belong|fall under|match|come under|suit|be part of|go under)\b",
        re.I,
    ),
    re.compile(
        r"^(?:sopiiko|sopisiko|sopivatko|istuuko)\s+(?P<x>.+?)\s+(?:strategiaan|painopiste\w*|johonkin\w*|"
        r"mihinkään|teemoihin)\b",
        re.I,
    ),
    re.compile(
        r"^(?:mihin|mille|minkä)\s+(?:painopisteeseen|painopisteelle|painopisteen|teemaan|alueeseen)\s+"
        r"(?P<x>.+?)\s+(?:sopisi|sopii|kuuluu|kuuluisi|liittyy)\b",
        re.I,
    ),
    re.compile(
        r"^(?:kuuluuko|kuuluvatko|sisältyykö|sisältyvätkö|mahtuuko)\s+(?P<x>.+?)\s+(?:strategiaan|"
        r"painopiste\w*|mukaan|piiriin|kärkialoihin|kärki\w*|teemoihin|alueisiin|joukkoon)\b",
        re.I,
    ),
    re.compile(
        r"^(?:onko|ovatko|onks)\s+(?P<x>.+?)\s+(?:mukana|painopiste\w*|strategiassa|osa|yksi|listalla|"
        r"kärkiala\w*|valittu|valittujen|keskiössä|teemana)\b",
        re.I,
    ),
    re.compile(
        r"^(?:kattaako|sisältääkö|mainitaanko|mainitseeko|käsitteleekö|tukeeko|painottaako|koskeeko)\s+"
        r"(?:strategia|ris3|ris3-strategia|painopisteet)?\s*(?P<x>.+?)[?.!]*$",
        re.I,
    ),
)
# Words in X that name no theme ("my sector", "companies like ours").
_GENERIC = frozenset(
    "sector sectors industry industries field fields area areas theme themes topic topics business "
    "businesses company companies line kind type sort like ours ala alat alaa alamme toimiala toimialat "
    "teema teemat aihe aiheet yritys yritykset kaltaiset kaltaisemme among amongst within part included "
    "covered mentioned strategy strategian strategia priorities painopisteisiin".split()
)


def membership_subject(asked: str) -> str | None:
    """What a question asks to be in the strategy ("ports" in "does the strategy cover ports?"), or None
    when it is not such a question."""
    text = asked.strip()
    for pattern in _MEMBERSHIP:
        match = pattern.match(text)
        if match:
            subject = match.group("x").strip(" ,")
            if words(subject):
                return subject
    return None


# A membership subject that points back at the context ("Which priority would *it* fit?", "sopiiko *se*").
REFERRING = frozenset(
    "it this that they these our my idea project plan company business se tämä tää ne nämä hanke hankkeemme "
    "ideamme yrityksemme meidän projektimme".split()
)


def refers_to_context(subject: str) -> bool:
    return bool(words(subject)) and all(w in REFERRING for w in words(subject))


def theme_words(subject: str) -> list[str]:
    """The words of a membership subject that name a theme (no articles, no "sector")."""
    from bot.knowledge.text import STOPWORDS

    return [w for w in words(subject) if w not in STOPWORDS and w not in _GENERIC]


def mentions_own_sector(text: str) -> bool:
    """"my sector", "toimialamme": the user asks about their own line of work."""
    return bool(_OWN_SECTOR.search(text))


# Words before the asked part beyond which they are context ("Hi, I work for a municipality … I would like to
# know…") rather than the question's own opening ("Kertoisitko…", "Could you tell me…").
CONTEXT_WORDS = 5


def has_context(question: str) -> bool:
    """Whether the message gives context before the part that asks."""
    asked = asked_part(question)
    if asked == question:
        return False
    before = question[: question.find(asked)] if asked in question else question
    return len(words(before)) >= CONTEXT_WORDS
