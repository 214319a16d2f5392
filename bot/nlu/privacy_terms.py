"""Whether a message asks about privacy or asks to erase, from the domain's words rather than from examples.

The intent classifier learns from data/nlu's examples and misses phrasings far from them ("are my questions
stored somewhere after I close the window?"). These patterns name the privacy domain's own vocabulary in English
and Finnish: its terms (privacy, personal data, tietosuoja, henkilötiedot), keeping and reading verbs and erasing
verbs, each with what the user owns (my messages, what I write, this conversation, viestini, kirjoittamani).
They decide only where the classifier is unsure (bot/nlu/privacy.py). Pure Python: both runtimes and the tests
import it.
"""

from __future__ import annotations

import re

ASK_PRIVACY, REQUEST_ERASURE = "ask_privacy", "request_erasure"

_TERMS = re.compile(
    r"\b(privacy|gdpr|personal (data|information|details)|data (protection|retention)|retention period|cookies?"
    r"|anonym\w*|tietosuoj\w*|henkilöti\w*|yksityisyy\w*|säilytysai\w*|rekisteriselos\w*|eväste\w*|anonyym\w*)",
)
_OWNED = re.compile(
    r"\b(my|our) (data|details|info(rmation)?|messages?|chats?|conversations?|questions?|name|contact\w*|e-?mail"
    r"|phone|number|history|requests?)\b"
    r"|\b(what|anything|everything|things?|all|that) (i|i've|i have) (write|wrote|written|type|typed|say|said|send"
    r"|sent|tell|told|ask|asked)\b"
    r"|\b(this|the|our) (chat|conversation)s?\b|\b(about|on|of) me\b|\bus(ers?|ers') (data|information)\b"
    r"|\b(my|our) (chat|conversation) history\b"
    r"|\bwhat('s| is| are| gets?) (kept|stored|saved|recorded|logged|collected)\b"
    r"|\b(tietoni|tietojani|tiedoistani|tiedoilleni|tietoja minusta|minusta|viestini|viestejäni|viesteilleni|nimeni"
    r"|yhteystie\w*|puhelinnumero\w*ni|sähköposti\w*ni|kysymykseni|kysymyksiäni|kirjoittam\w*|kirjoitan|kerroin"
    r"|keskustelu\w*|chat\w*|\w*pyyntöni|\w*pyyntöjäni)\b",
)
_KEEP_OR_READ = re.compile(
    r"\b(stor\w*|sav(e|ed|es|ing)|kept|keep\w*|record\w*|log(s|ged|ging)?|retain\w*|hold\w*|collect\w*|track\w*"
    r"|see|sees|seen|read|reads|visible|access\w*|shar\w*|sell\w*|sold|cop(y|ies)|remember\w*|kept"
    r"|us(e|ed)|process\w*|protect\w*"
    r"|säily\w*|tallen\w*|tallessa|kirjaa\w*|kerä\w*|näke\w*|näkee|näkyy|luke\w*|lukee|pääsy\w*|kopio\w*"
    r"|luovut\w*|jää|jääkö|pidetään|pidätte|muista\w*|käyte\w*|käsitel\w*|suoja\w*|nähtävi\w*|näkyvi\w*"
    r"|järjestelmä\w*)\b",
)
_ERASE = re.compile(
    r"\b(delet\w*|eras\w*|remov\w*|wip(e|ed|ing)|forget|forgotten|destroy\w*|purg\w*|get rid"
    r"|poist\w*|hävit\w*|hävitt\w*|unohd\w*|unoht\w*|tyhjen\w*|pyyhi\w*|pyyhk\w*)\b",
)


def privacy_intent(text: str | None) -> str | None:
    """request_erasure, ask_privacy, or None when the message does not speak of the user's data."""
    if not text or text.startswith("/"):
        return None
    folded = " ".join(text.casefold().split())
    about_data = bool(_TERMS.search(folded) or _OWNED.search(folded))
    if _ERASE.search(folded) and about_data:
        return REQUEST_ERASURE
    if _TERMS.search(folded) or (_OWNED.search(folded) and _KEEP_OR_READ.search(folded)):
        return ASK_PRIVACY
    return None


# Words of the privacy domain that belong to one language only: "tietosuoja" alone is Finnish even where a
# general detector cannot tell from one word.
_FINNISH = re.compile(
    r"\b(tietosuoj\w*|henkilöti\w*|yksityisyy\w*|säilytysai\w*|rekisteriselos\w*|eväste\w*|anonyym\w*"
    r"|tietoni|tietojani|poist\w*|hävit\w*|unohd\w*|tallen\w*|säily\w*)\b"
)
_ENGLISH = re.compile(
    r"\b(privacy|personal (data|information)|data (protection|retention)|cookies?|anonymous|delete|erase"
    r"|remove|forget|stored?|kept|keep)\b"
)


def privacy_language(text: str | None) -> str | None:
    """fi or en when the message's privacy words are of one language only, else None."""
    if not text or text.startswith("/"):
        return None
    folded = " ".join(text.casefold().split())
    finnish, english = bool(_FINNISH.search(folded)), bool(_ENGLISH.search(folded))
    if finnish == english:
        return None
    return "fi" if finnish else "en"
