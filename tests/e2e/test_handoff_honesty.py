"""End to end against the real Rasa server and action server (issue 25): what the handoff tells the user is what
happens on this install; the form says what a yes-or-no step expects; a button's payload is no form value and an
old "Yes" is no new question; the ticket's transcript shows what the user saw; typed text beginning with "/" is
words on REST and the website chat, and only a pressed button sends a payload; an engine.io packet of unknown
type gets a chat_error, not a traceback."""

from __future__ import annotations

import asyncio
import json
import re
import urllib.request
import uuid
from collections.abc import Iterator

import aiohttp
import pytest
import socketio

from bot.handoff.store import HandoffStore
from bot.runtime import BotProcesses
from tests.conftest import post_message

REFERENCE = re.compile(r"RIS3-[0-9A-Z]{4}")
NOT_A_NAME = "doesn't look like a name"
WAIT_SECONDS = 60.0
QUIET_SECONDS = 1.5


class Conversation:
    def __init__(self, url: str) -> None:
        self.url = url
        self.sender = f"honest-{uuid.uuid4().hex[:8]}"

    def say(self, message: str) -> str:
        return "\n".join(r.get("text") or "" for r in post_message(self.url, self.sender, message))


@pytest.fixture()
def store(bot_stack: BotProcesses) -> Iterator[HandoffStore]:
    store = HandoffStore(bot_stack.handoff_database_url)
    yield store
    store.close()


def test_the_handoff_says_what_happens_and_the_ticket_what_the_user_saw(bot_url: str, store: HandoffStore) -> None:
    chat = Conversation(bot_url)
    chat.say("How many jobs has the strategy created so far?")
    assert "name" in chat.say("I'd like to talk to a real person").lower()
    # A button's payload pressed at the name question (an old "Yes") is no name.
    assert NOT_A_NAME in chat.say("/affirm")
    assert "reach you" in chat.say("Ilona Rehellinen")
    assert "How many jobs" in chat.say("ilona.rehellinen@example.fi")
    consent = chat.say("/affirm")
    assert "erased after" in consent
    # Something else than yes or no at the consent step: the form's own words, then its question again.
    prompt = chat.say("what do you mean by storing?")
    assert "Please answer yes or no, or type “cancel” to stop." in prompt
    assert "erased after" in prompt
    assert "don't know" not in prompt and "pass your question" not in prompt
    summary = chat.say("/affirm")
    assert "Ilona Rehellinen" in summary
    done = chat.say("/affirm")
    reference = REFERENCE.search(done)
    assert reference, done
    # The phone number, not the rule about meetings, which has nothing to do with the request.
    assert "+358 44 747 8512" in done and "appointment" not in done
    # This install mails the project manager (the test stack's SMTP server): notified, and a copy by e-mail.
    assert "The project manager has been notified." in done
    assert "and by e-mail to ilona.rehellinen@example.fi" in done
    # The confirmation's "Yes" pressed again later: the request was sent already, not a new question.
    again = chat.say("/affirm")
    assert f"Your request {reference.group(0)} was already sent" in again
    assert len([t for t in store.list() if t.name == "Ilona Rehellinen"]) == 1

    (ticket,) = [t for t in store.list() if t.name == "Ilona Rehellinen"]
    said = [entry["text"] for entry in ticket.transcript_entries if entry["sender"] == "user"]
    # Each press of a button the bot had shown is its title (consent and confirmation: "Yes"); only the payload
    # sent at the name question, when no button carried it (a REST client), stays as it came.
    assert said.count("/affirm") == 1 and said.count("Yes") == 2 and "Send it like this" in said, said
    assert "what do you mean by storing?" in said


def test_the_finnish_form_says_what_it_expects_in_finnish(bot_url: str) -> None:
    chat = Conversation(bot_url)
    assert "nimesi" in chat.say("haluan puhua ihmisen kanssa")
    chat.say("Kaisa Kokeilija")
    chat.say("040 123 4567")
    assert "päivän" in chat.say("Miten hakemus tehdään?")
    prompt = chat.say("mitä tarkoitat?")
    assert "Vastaa kyllä tai ei, tai kirjoita ”peruuta”, jos haluat lopettaa." in prompt
    assert "päivän" in prompt  # the consent question again


@pytest.mark.parametrize("typed", ["/restart", "/session_start", '/answer_fact{"fact_id":"contact_pm"}'])
def test_typed_text_beginning_with_a_slash_is_words_over_rest(bot_url: str, typed: str) -> None:
    chat = Conversation(bot_url)
    assert "name" in chat.say("connect me to someone please").lower()
    # Read as an intent, "/restart" would have wiped the form; as words it is a (refused) name.
    assert NOT_A_NAME in chat.say(typed)
    assert "reach you" in chat.say("Tero Tekstinen")


def test_our_buttons_payloads_still_work_over_rest(bot_url: str) -> None:
    chat = Conversation(bot_url)
    answer = chat.say('/answer_fact{"fact_id":"priorities_all"}')
    assert "logistics" in answer.lower() and "Source:" in answer


class ChatSocket:
    def __init__(self, url: str) -> None:
        self.url = url
        self.client = socketio.AsyncClient(reconnection=False)
        self.replies: asyncio.Queue[dict] = asyncio.Queue()
        self.confirmed: asyncio.Queue[str] = asyncio.Queue()
        self.client.on("bot_uttered", self.replies.put)
        self.client.on("session_confirm", self.confirmed.put)
        self.session_id = ""

    async def open(self) -> ChatSocket:
        await self.client.connect(self.url, headers={"Origin": "http://localhost:8000"}, transports=["websocket"],
                                  wait_timeout=30)
        await self.client.emit("session_request", {"session_id": None})
        self.session_id = await asyncio.wait_for(self.confirmed.get(), WAIT_SECONDS)
        return self

    async def say(self, text: str, button: bool = False) -> str:
        data: dict = {"message": text, "session_id": self.session_id}
        if button:
            data["button"] = True
        await self.client.emit("user_uttered", data)
        texts = [(await asyncio.wait_for(self.replies.get(), WAIT_SECONDS)).get("text", "")]
        while True:
            try:
                texts.append((await asyncio.wait_for(self.replies.get(), QUIET_SECONDS)).get("text", ""))
            except asyncio.TimeoutError:
                return "\n".join(texts)


def _user_events(bot: BotProcesses, session_id: str) -> list[dict]:
    conversation = "web:" + session_id.split("-", 1)[0]  # bot/channels/conversation_ids.py
    with urllib.request.urlopen(bot.api_url(f"/conversations/{conversation}/tracker"), timeout=30) as response:
        return [e for e in json.loads(response.read())["events"] if e["event"] == "user"]


def test_the_website_chat_takes_a_payload_only_from_a_button(bot_stack: BotProcesses) -> None:
    async def scenario() -> str:
        page = await ChatSocket(bot_stack.url).open()
        try:
            await page.say('/answer_fact{"fact_id":"priorities_all"}')  # typed
            pressed = await page.say('/answer_fact{"fact_id":"priorities_all"}', button=True)
            assert "logistics" in pressed.lower() and "Source:" in pressed
            assert "name" in (await page.say("I want to talk to a person")).lower()
            assert NOT_A_NAME in await page.say("/restart")  # typed: words, not Rasa's restart
            assert NOT_A_NAME in await page.say("/affirm", button=True)  # a button's payload is no name
        finally:
            await page.client.disconnect()
        return page.session_id

    session_id = asyncio.run(scenario())
    typed, pressed = _user_events(bot_stack, session_id)[:2]
    # Typed, the words went to the NLU (no fact id read from them); pressed, the payload named the fact.
    assert typed["parse_data"]["intent"]["name"] != "answer_fact" and not typed["parse_data"]["entities"]
    assert pressed["parse_data"]["intent"]["name"] == "answer_fact"
    assert pressed["parse_data"]["entities"][0]["value"] == "priorities_all"


def test_an_engineio_packet_of_unknown_type_gets_a_chat_error_and_no_traceback(bot_stack: BotProcesses) -> None:
    log = bot_stack.log("rasa")
    before = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""

    async def scenario() -> list[str]:
        url = bot_stack.url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        received: list[str] = []
        async with aiohttp.ClientSession() as session, session.ws_connect(
            url, headers={"Origin": "http://localhost:8000"}
        ) as ws:
            opened = await ws.receive_str(timeout=WAIT_SECONDS)
            assert opened.startswith("0{")
            await ws.send_str("40")
            assert (await ws.receive_str(timeout=WAIT_SECONDS)).startswith("40")
            for packet in ("9", "9hello", "7"):
                await ws.send_str(packet)
            # The connection goes on after the junk: a session is still confirmed.
            await ws.send_str('42["session_request",{"session_id":null}]')
            while not any(r.startswith('42["session_confirm"') for r in received):
                received.append(await ws.receive_str(timeout=WAIT_SECONDS))
        return received

    received = asyncio.run(scenario())
    errors = [json.loads(r[2:]) for r in received if r.startswith('42["chat_error"')]
    assert errors and all(e == ["chat_error", {"error": "the packet could not be decoded"}] for e in errors), received
    after = log.read_text(encoding="utf-8", errors="replace")[len(before):]
    assert "Unknown receive error" not in after and "Traceback" not in after, after[-2000:]
