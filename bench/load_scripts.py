"""The conversations the load benchmark's users have: what they type, which buttons they press and what
they must see in the bot's reply for the conversation to go on.

A user reads each reply before the next step, as a person would: a step's `expect` is checked against
the reply (case-insensitive regexes, any one matching), and a step that presses a button takes it from
that reply. A reply that does not fit ends the conversation with an "unexpected reply" error, so a
benchmark run also shows whether the bot still behaves under load.

Our bot's conversations mix English and Finnish questions, small talk, topic buttons and, now and then,
the handoff form (which creates a real ticket in the instance's handoff database). The default `rasa init`
bot gets conversations of the same length with messages of similar length that it understands.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

REFERENCE = re.compile(r"RIS3-[0-9A-Z]{4}")
# The channels' apology when the bot could not answer (bot/channels/unanswered.py): a failure inside the bot.
APOLOGY = re.compile(r"cannot answer just now|en pysty vastaamaan juuri nyt")
# A button whose payload asks for one fact directly (the topic and follow-up buttons).
FACT_BUTTON = "/answer_fact"


@dataclass(frozen=True)
class Step:
    """One message of a conversation.

    say: the text typed. press: the start of a button's payload or its exact title in the previous
    reply; a random one among the matching buttons is pressed (its payload is sent). When nothing
    matches, `say` is typed instead if given (a user who finds no button types the question), else the
    conversation fails. expect: regexes, one of which must match the reply's text; none = any reply.
    """

    kind: str
    say: str | None = None
    press: str | None = None
    expect: tuple[str, ...] = ()

    def describe(self) -> str:
        return self.say if self.press is None else f"[{self.press}]"


@dataclass(frozen=True)
class Script:
    name: str
    steps: tuple[Step, ...]
    handoff: bool = False
    weight: int = 1


def ask(text: str) -> Step:
    return Step("question", say=text)


def chat(text: str) -> Step:
    return Step("smalltalk", say=text)


def press_topic() -> Step:
    return Step("button", press=FACT_BUTTON)


OUR_SCRIPTS: tuple[Script, ...] = (
    Script(
        "en-topics",
        (chat("hi"), press_topic(), ask("what are the priorities?"), press_topic(),
         ask("who is the project manager?"), chat("thanks")),
        weight=3,
    ),
    Script(
        "fi-topics",
        (chat("moi"), ask("Mitkä ovat Kymenlaakson painopisteet?"), press_topic(),
         ask("Milloin strategia julkaistiin?"), chat("kiitos")),
        weight=3,
    ),
    Script(
        "en-researcher",
        (ask("What is smart specialisation?"), press_topic(),
         ask("Does the strategy involve cooperation with other regions?"), ask("when does the strategy end?"),
         chat("bye")),
        weight=2,
    ),
    Script(
        "fi-company",
        (ask("Mikä on KymÄES 2.0 -hanke?"), ask("Kuka on projektipäällikkö?"), press_topic(),
         chat("kiitos, hei hei")),
        weight=2,
    ),
)

HANDOFF_QUESTION = "How many jobs has the strategy created so far?"
# Names the language detector leaves English: "Juha Mäkinen" or "Anna Heikkinen" typed as the name switch the
# form to Finnish (a known bot issue), which would make these English steps fail on the bot's wording.
HANDOFF_NAMES = ("Aino Virtanen", "Matti Korhonen", "Liisa Nieminen", "Pekka Laine", "Timo Salo")


def handoff_script(n: int) -> Script:
    """The handoff form in English, as tests/e2e/test_handoff.py fills it: ask, ask for a person, name,
    e-mail, keep the prefilled question (or type it when the bot asks), consent, confirm."""
    name = HANDOFF_NAMES[n % len(HANDOFF_NAMES)]
    email = f"{name.split()[0].lower()}.bench{n}@example.fi"
    return Script(
        "handoff",
        (
            ask(HANDOFF_QUESTION),
            Step("handoff", say="I want to talk to a person", expect=(r"your name",)),
            Step("handoff", say=name, expect=(r"reach you",)),
            Step("handoff", say=email, expect=(r"Send it like this", r"would you like to ask")),
            Step("handoff", press="Send it like this", say=HANDOFF_QUESTION, expect=(r"erased after",)),
            Step("handoff", press="Yes", expect=(r"Shall I send",)),
            Step("handoff", press="Yes", expect=(REFERENCE.pattern,)),
        ),
        handoff=True,
    )


# The default bot (rasa init's mood bot): its intents are greet, mood_great, mood_unhappy, affirm, deny,
# bot_challenge and goodbye; the messages are about as long as our users' and the conversations as many steps.
DEFAULT_BOT_SCRIPTS: tuple[Script, ...] = (
    # Each message gets a reply in its place (a "no" outside "Did that help you?" gets none from the mood bot).
    Script(
        "mood-sad-helped",
        (chat("hello there, good morning to you"), chat("I am feeling very sad and unhappy today"),
         chat("yes, that did help me quite a lot"), chat("are you a bot or a real human?"),
         chat("goodbye and have a nice day")),
    ),
    Script(
        "mood-great",
        (chat("hey, good evening"), chat("I am feeling great and very happy today"),
         chat("are you a bot or a real human?"), chat("hello again, how are you doing"),
         chat("see you later, goodbye")),
    ),
    Script(
        "mood-sad-not-helped",
        (chat("good morning, hello"), chat("I feel really sad and down today"), chat("no, that did not help me at all"),
         chat("are you a bot or a real human?"), chat("bye bye, see you later then")),
    ),
)


@dataclass
class ScriptChooser:
    """Picks each new conversation's script by weight; handoffs only when asked for."""

    rng: random.Random
    scripts: tuple[Script, ...]
    handoff_share: float = 0.0
    _handoffs: int = field(default=0)

    def next(self) -> Script:
        if self.handoff_share and self.rng.random() < self.handoff_share:
            return self.handoff()
        return self.rng.choices(self.scripts, weights=[s.weight for s in self.scripts])[0]

    def handoff(self) -> Script:
        self._handoffs += 1
        return handoff_script(self._handoffs)
