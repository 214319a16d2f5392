"""Turning a retrieval decision into what the bot says: a domain response to fill, the facts that
fill it, the source to cite, its links and the follow-up buttons. Channel-independent and free of Rasa
imports so that it is tested on its own."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from bot.knowledge.index import KnowledgeIndex
from bot.knowledge.retrieval import Decision
from bot.knowledge.store import Fact, Source

DEFAULT_LANGUAGE = "en"


@dataclass(frozen=True)
class Button:
    """A quick reply that sends its payload, or a link (url) that opens: links come only from knowledge/."""

    title: str
    payload: str = ""
    url: str = ""

    def as_message(self) -> dict[str, str]:
        """The button as Rasa carries it; the channels turn one with a url into a link."""
        return {"title": self.title, "url": self.url} if self.url else {"title": self.title, "payload": self.payload}


@dataclass
class Reply:
    response: str
    variables: dict[str, str] = field(default_factory=dict)
    buttons: list[Button] = field(default_factory=list)
    # What the reply rests on, for the channels that show it (and for logs and tests).
    fact_id: str | None = None
    source_id: str | None = None
    answered: bool = False
    # Messages said after this one (a domain response and its variables): where today stands against the
    # knowledge (bot/knowledge/currency.py). The reply's buttons go under the last of them.
    notes: list[tuple[str, dict[str, str]]] = field(default_factory=list)


# An international phone number as the knowledge writes it: "+358 44 747 8512".
_PHONE = re.compile(r"(?<![\w+])\+\d{1,3}(?:[ \u00a0-]?\d){4,13}(?![\d-])")


def phone_buttons(text: str) -> list[Button]:
    """A tap-to-call link for each phone number in a text from knowledge/ (never in one a user typed)."""
    buttons: list[Button] = []
    for match in _PHONE.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if 7 <= len(digits) <= 15 and all(b.url != f"tel:+{digits}" for b in buttons):
            buttons.append(Button(" ".join(match.group().split()), url=f"tel:+{digits}"))
    return buttons


def link_buttons(index: KnowledgeIndex, source: Source, text: str, documents: tuple[str, ...] = ()) -> list[Button]:
    """The links of an answer: the documents it speaks of and its source page, where their addresses are
    configured in knowledge/sources.yml, and the phone numbers it gives."""
    known = index.knowledge.documents
    links = [Button(known[d].title, url=known[d].url) for d in documents if known[d].url]
    if source.url:
        links.append(Button(source.title, url=source.url))
    return links + phone_buttons(text)


def fact_payload(fact_id: str) -> str:
    return "/answer_fact" + json.dumps({"fact_id": fact_id}, separators=(",", ":"))


def _localised(values: dict[str, str], lang: str) -> str:
    return values.get(lang) or values[DEFAULT_LANGUAGE]


def fact_buttons(index: KnowledgeIndex, fact_ids: tuple[str, ...] | list[str], lang: str) -> list[Button]:
    return [Button(_localised(index.facts[f].title, lang), fact_payload(f)) for f in fact_ids]


def menu_buttons(index: KnowledgeIndex, lang: str) -> list[Button]:
    return fact_buttons(index, index.knowledge.menu, lang)


def _fact_source(index: KnowledgeIndex, fact: Fact) -> Source:
    return index.knowledge.sources[fact.quotes[0].source]


# A PDF source is cited with the page of the fact's first quote on it.
PAGE = {"en": "p. {page}", "fi": "s. {page}"}


def citation(source: Source, lang: str, fact: Fact | None = None) -> str:
    """The source under an answer, with the page for a PDF source (where the fact's quote stands)."""
    cited = source.citation_in(lang)
    if fact is None or not source.pages:
        return cited
    page = next((p for q in fact.quotes if q.source == source.id and (p := source.page_of(q.text))), None)
    return f"{cited}, {PAGE.get(lang, PAGE['en']).format(page=page)}" if page else cited


def withheld_reply(index: KnowledgeIndex, fact: Fact, lang: str) -> Reply:
    """A fact whose quotes left a newer version of its source is not stated: the bot says the source has changed
    and gives the contact (domain.yml utter_fact_withheld)."""
    source = _fact_source(index, fact)
    contact = contact_text(index, lang)
    return Reply(
        response="utter_fact_withheld",
        variables={"source": source.citation_in(lang), "contact": contact},
        buttons=link_buttons(index, source, "" if index.facts[index.knowledge.contact].withheld else contact),
        fact_id=fact.id,
        source_id=source.id,
    )


def fact_reply(index: KnowledgeIndex, fact_id: str, lang: str, not_named: list[str] | None = None) -> Reply:
    fact = index.facts[fact_id]
    if fact.withheld:
        return withheld_reply(index, fact, lang)
    source = _fact_source(index, fact)
    answer = _localised(fact.text, lang)
    variables = {"answer": answer, "source": citation(source, lang, fact)}
    response = "utter_answer"
    if not_named:
        response = "utter_not_named"
        variables["words"] = ", ".join(f"“{w}”" for w in not_named)
    reply = Reply(
        response=response,
        variables=variables,
        buttons=link_buttons(index, source, answer, fact.documents) + fact_buttons(index, fact.follow_ups, lang),
        fact_id=fact.id,
        source_id=source.id,
        answered=True,
    )
    unlinked = [index.knowledge.documents[d] for d in fact.documents if not index.knowledge.documents[d].url]
    if unlinked:
        # A file name the user cannot open is no answer to "where can I get it?": say that the address is not
        # known here, and who can send the file.
        reply.notes.append(("utter_document_without_link", {
            "files": ", ".join(d.name for d in unlinked), "contact": contact_text(index, lang),
        }))
    return reply


def fact_text(index: KnowledgeIndex, fact_id: str, lang: str) -> str:
    return _localised(index.facts[fact_id].text, lang)


# Said in place of the contact fact while it is withheld (its details changed in a newer version of the source).
CONTACT_WITHHELD = {
    "en": "The contact details on the page “{title}” ({publisher}) have changed and are being checked; see the page.",
    "fi": "Sivun »{title}« ({publisher}) yhteystiedot ovat muuttuneet, ja niitä tarkistetaan; katso sivulta.",
}


def contact_text(index: KnowledgeIndex, lang: str) -> str:
    contact = index.facts[index.knowledge.contact]
    if contact.withheld:
        source = _fact_source(index, contact)
        return CONTACT_WITHHELD.get(lang, CONTACT_WITHHELD["en"]).format(title=source.title, publisher=source.publisher)
    return fact_text(index, index.knowledge.contact, lang)


def dont_know_reply(index: KnowledgeIndex, lang: str) -> Reply:
    contact = index.facts[index.knowledge.contact]
    text = contact_text(index, lang)
    return Reply(
        response="utter_dont_know",
        variables={"contact": text},
        buttons=phone_buttons(text) + menu_buttons(index, lang),
        fact_id=contact.id,
        source_id=_fact_source(index, contact).id,
    )


# The last button of "Do you mean …?": none of the facts offered is meant, so the project manager is offered
# (data/rules.yml: not_helpful → action_offer_handoff).
NONE_OF_THESE = {"en": "None of these", "fi": "Ei mikään näistä"}
NONE_OF_THESE_PAYLOAD = "/not_helpful"


def choice_reply(
    index: KnowledgeIndex, options: tuple[str, ...] | list[str], lang: str, response: str, none_of_these: bool = False
) -> Reply:
    """A question back ("Which one do you mean?") or an offer ("I can also tell you about:") with the
    facts as buttons; it states no fact itself."""
    buttons = fact_buttons(index, [f for f in options if f in index.facts], lang)
    if none_of_these:
        buttons.append(Button(NONE_OF_THESE.get(lang, NONE_OF_THESE["en"]), NONE_OF_THESE_PAYLOAD))
    return Reply(response=response, buttons=buttons)


def reply_for(decision: Decision, index: KnowledgeIndex, lang: str) -> Reply:
    best = decision.best
    if not decision.answer or best is None:
        return dont_know_reply(index, lang)
    if best.kind == "fact":
        reply = fact_reply(index, best.item, lang, decision.not_named)
        fact = index.facts[best.item]
        # "Is logistics among the priorities?" is answered yes, naming what the question and the fact share.
        if decision.yes_no and decision.named and fact.topic == "priorities" and not fact.overview:
            reply.response = "utter_yes_named"
            reply.variables["words"] = ", ".join(f"“{w}”" for w in decision.named)
            reply.variables["priority"] = _localised(fact.title, lang)
        return reply
    passage = index.passages[best.item]
    source = index.knowledge.sources[passage.source]
    page = source.page_of(passage.text)
    cited = source.citation_in(lang)
    if page:
        cited = f"{cited}, {PAGE.get(lang, PAGE['en']).format(page=page)}"
    return Reply(
        response="utter_passage",
        variables={"answer": passage.text, "source": cited},
        buttons=link_buttons(index, source, passage.text) + menu_buttons(index, lang),
        source_id=source.id,
        answered=True,
    )
