"""What kind of information a question asks for (a phone number, a date, an amount…), to compare with what
the chosen fact gives (its `answers:` in knowledge/facts.yml). A near miss is usually a question about the
right topic that asks for something the fact does not give: "the Kotka office's phone number" against the
addresses, "how many companies are there" against the aims. English and Finnish."""

from __future__ import annotations

import re

# The kinds, and how a question asks for each. Finnish stems cover the inflected forms.
ASKS: dict[str, re.Pattern[str]] = {
    "phone": re.compile(r"\b(phone|telephone|gsm|mobile|switchboard|call (him|her|them|you)|puhelin\w*|puh\b|"
                        r"soita\w*|vaihde\w*|vaihtee\w*)", re.I),
    "email": re.compile(r"\b(e-?mail\w*|sähköpost\w*|meili\w*|s-posti\w*)", re.I),
    "fax": re.compile(r"\b(fax\w*|faksi\w*|telefax)", re.I),
    "hours": re.compile(r"\b(opening hours|office hours|open(s|ed)? (on|at|from|until|in)|what time|closed on|"
                        r"aukiolo\w*|auki\b|avoinna|aukeaa|sulkeutuu|kello)", re.I),
    "url": re.compile(r"\b(website|web ?site|web address|web page|url|homepage|www|linkedin|nettisivu\w*|"
                      r"verkkosivu\w*|kotisivu\w*|linkedin\w*)", re.I),
    "date": re.compile(r"\b(when|what year|which year|what month|which month|what date|since when|until when|"
                       r"how many years|how long|which years|what years|for what period|kuinka pitkä\w*|"
                       r"montako vuotta|kuinka monta vuotta|minkä vuosien|mille vuosille|minä vuosina|"
                       r"milloin|minä vuonna|mihin aikaan|mistä lähtien|mihin asti|minä päivänä|minä kuukautena|"
                       r"vuodenaika\w*|deadline|due date|määräaika\w*|hakuaika\w*|aikaraja\w*)", re.I),
    "amount": re.compile(r"\b(how much|budget\w*|euros?|money|cost\w*|salary|earn\w*|paljonko|kuinka paljon|"
                         r"euro\w*|budjet\w*|raha\w*|maksaa|palkka\w*|tienaa\w*)|€", re.I),
    "count": re.compile(r"\b(how many(?! years)|(?<!phone )(?<!telephone )(?<!fax )number of|"
                        r"montako(?! vuotta)|kuinka monta(?! vuotta)|monta(?! vuotta))\b", re.I),
    "name": re.compile(r"\b(name|called|nimi\w*|nimeltään)\b", re.I),
    "who": re.compile(r"^\W*(who|whom|whose|kuka|kenen|kehen|keneltä|kenelle|ketkä)\b|"
                      r"\b(which|what) (companies|company|partners|organisations?|people|persons?)\b|"
                      r"\b(mitkä|mikä) (yritykset|yritys|kumppanit|organisaatio\w*|tahot|taho)\b", re.I),
    "size": re.compile(r"\b(how big|how large|size|pages|kuinka iso|kuinka suuri|koko\b|kokoinen|sivua)\b", re.I),
    # "Missä toimisto on?": where something is (not "missä vaiheessa", at what stage; not where one may do a thing).
    "address": re.compile(r"\b(address\w*|located|location|where is|where are|where('s| can i (find|visit|send))|"
                          r"osoite\w*|osoitteen\w*|sijai\w*|postit\w*|"
                          r"missä(?! vaihee)(?=.*\b(on|ovat|olette|ollaan)\b))", re.I),
}
# A version in another language than the page's: no fact says whether one exists.
ASKS["translation"] = re.compile(
    r"\b(available|saatavilla|saatavana|löytyykö|onko|is there|is it)\b.{0,40}\b(suomeksi|ruotsiksi|in finnish|"
    r"in swedish|på svenska)|\b(finnish|swedish|suomenkieli\w*|ruotsinkieli\w*) (version|versio\w*|translation)",
    re.I,
)
KINDS = frozenset(ASKS)


def asked_kinds(question: str) -> set[str]:
    """The kinds of information the question asks for; empty when it asks for none of them."""
    return {kind for kind, pattern in ASKS.items() if pattern.search(question)}
