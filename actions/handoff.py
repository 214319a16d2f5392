"""Handing the conversation to the project manager: the form's questions and checks, and the ticket.

The ticket, its transcript and its notification jobs are written by bot.handoff in one transaction;
the back office (`bin/bot web`) delivers the notifications. Contact details never reach the logs.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

import aiohttp
from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from actions.common import language_of, send_knowledge_unavailable
from actions.group_chat import in_group_chat, move_to_private_chat
from bot.handoff.config import get_handoff_settings
from bot.handoff.draft import TicketDraft, transcript_from_events
from bot.handoff.models import utcnow
from bot.handoff.outbox import RetryPolicy, deliver_due
from bot.handoff.question_draft import carried_question, last_question
from bot.handoff.reply_expectation import reply_expectation
from bot.handoff.senders import build_senders
from bot.handoff.store import HandoffStore, StoreUnavailable, TicketClosed, TicketNotFound, upgrade
from bot.handoff.thread_senders import email_available
from bot.handoff.validation import InvalidInput, validate_contact, validate_name_answer, validate_question
from bot.knowledge.replies import contact_text
from bot.knowledge.service import get_service
from bot.metrics.actions import count_handoff
from bot.user_text import looks_like_payload

logger = logging.getLogger(__name__)

FORM_SLOTS = ("handoff_name", "handoff_contact", "handoff_question", "handoff_consent", "handoff_confirm")
YES_NO = {
    "en": [{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}],
    "fi": [{"title": "Kyllä", "payload": "/affirm"}, {"title": "Ei", "payload": "/deny"}],
}
KEEP_QUESTION = {"en": "Send it like this", "fi": "Lähetä näin"}
# After the store failed at confirmation: "yes" to trying again with the answers kept.
TRY_AGAIN = {"en": "Try again", "fi": "Yritä uudelleen"}

_store: HandoffStore | None = None
# Deliveries started right after a ticket; kept referenced so that they are not garbage-collected.
_deliveries: set[asyncio.Task[None]] = set()


def _get_store() -> HandoffStore:
    """One store per process, created (and its schema migrated) on first use."""
    global _store
    if _store is None:
        url = get_handoff_settings().database_url
        try:
            upgrade(url)
        except SQLAlchemyError as exc:
            raise StoreUnavailable(f"handoff database unavailable ({type(exc).__name__})") from exc
        _store = HandoffStore(url)
    return _store


async def _deliver_now(store: HandoffStore) -> None:
    """Send the new ticket's notifications at once instead of at the back office's next round.

    The outbox claims each job before sending, so this and the back office never send one twice; if
    this attempt fails, the job stays pending and the back office retries it."""
    settings = get_handoff_settings()
    try:
        async with aiohttp.ClientSession() as session:
            await deliver_due(store, build_senders(settings, session), policy=RetryPolicy.from_settings(settings))
    except Exception:  # the back office retries; the user already has their reference
        logger.exception("immediate handoff delivery failed; the outbox will retry")


def _contact(tracker: Tracker) -> str:
    return contact_text(get_service().index, language_of(tracker))


def _reset_form() -> list[dict[str, Any]]:
    return [SlotSet(slot, None) for slot in (*FORM_SLOTS, "handoff_question_draft")]


def _has_kept_answers(tracker: Tracker) -> bool:
    """Whether every answer up to the confirmation is there: left by a confirmation the store could not
    take (or at the confirmation step itself), so a new handoff needs only the confirmation again."""
    answers = (tracker.get_slot(slot) for slot in ("handoff_name", "handoff_contact", "handoff_question"))
    return all(answers) and tracker.get_slot("handoff_consent") is True


def answers_the_form(tracker: Tracker) -> bool:
    """Whether the latest message answers one of the form's questions. A name, an address, a number or a
    yes is no sign of the language the user wants ("Päivi" is as English as "John"), so such an answer
    never switches the conversation's language; only an explicit request does."""
    in_form = (tracker.active_loop or {}).get("name") == "handoff_form"
    return in_form and tracker.get_slot("requested_slot") in FORM_SLOTS


def _last_question(tracker: Tracker) -> str | None:
    """The user's latest question before the handoff began (answers given to the form don't count), else the
    one asked in a Telegram group before its link brought the user here."""
    events = list(tracker.events)
    return last_question(events) or carried_question(events)


class ActionHuman(Action):
    """Opens the handoff: says what will happen; the form follows. With answers kept from a confirmation
    the store could not take, the form finds them all and asks only for the confirmation, with the summary."""

    def name(self) -> str:
        return "action_human"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        if in_group_chat(tracker):  # never the form where the whole group reads the answers
            return [SlotSet("failed_answers", 0.0), *move_to_private_chat(
                dispatcher, tracker, language_of(tracker), _contact(tracker))]
        opened = [SlotSet("handoff_offered", False), SlotSet("failed_answers", 0.0)]
        if _has_kept_answers(tracker):
            dispatcher.utter_message(response="utter_handoff_resume")
            return [*opened, SlotSet("handoff_confirm", None)]
        dispatcher.utter_message(response="utter_handoff_intro", contact=_contact(tracker))
        return [*opened, *_reset_form()]


class ActionOfferHandoff(Action):
    def name(self) -> str:
        return "action_offer_handoff"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        if in_group_chat(tracker):  # a "yes" would open the form in the group: the private chat's link at once
            return move_to_private_chat(dispatcher, tracker, language_of(tracker), _contact(tracker))
        dispatcher.utter_message(response="utter_handoff_offer", buttons=YES_NO[language_of(tracker)])
        return [SlotSet("handoff_offered", True)]


class ActionDeclineHandoff(Action):
    def name(self) -> str:
        return "action_decline_handoff"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        declined = [SlotSet("handoff_offered", False), SlotSet("failed_answers", 0.0)]
        if _has_kept_answers(tracker):  # "no" to trying again: the answers are not kept any longer
            dispatcher.utter_message(response="utter_handoff_cancelled")
            return [*declined, *_reset_form()]
        dispatcher.utter_message(response="utter_handoff_declined")
        return declined


class ActionCancelHandoff(Action):
    def name(self) -> str:
        return "action_cancel_handoff"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        if not (tracker.active_loop or {}).get("name"):
            # Outside the form only answers kept after a failed confirmation are left to cancel.
            if not _has_kept_answers(tracker):
                dispatcher.utter_message(response="utter_anything_else")
                return []
            dispatcher.utter_message(response="utter_handoff_cancelled")
            return [SlotSet("handoff_offered", False), *_reset_form()]
        dispatcher.utter_message(response="utter_handoff_cancelled")
        return [ActiveLoop(None), SlotSet("requested_slot", None), *_reset_form()]


class ActionAskHandoffQuestion(Action):
    """Offers the question already asked, so that the user need not type it again."""

    def name(self) -> str:
        return "action_ask_handoff_question"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        draft = _last_question(tracker)
        if draft:
            dispatcher.utter_message(
                response="utter_handoff_question_draft",
                draft=draft,
                buttons=[{"title": KEEP_QUESTION[language_of(tracker)], "payload": "/affirm"}],
            )
        else:
            dispatcher.utter_message(response="utter_ask_handoff_question")
        return [SlotSet("handoff_question_draft", draft)]


class ActionAskHandoffConsent(Action):
    def name(self) -> str:
        return "action_ask_handoff_consent"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        dispatcher.utter_message(
            response="utter_handoff_consent",
            days=str(get_handoff_settings().retention_days),
            buttons=YES_NO[language_of(tracker)],
        )
        return []


class ActionAskHandoffConfirm(Action):
    def name(self) -> str:
        return "action_ask_handoff_confirm"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        dispatcher.utter_message(
            response="utter_handoff_summary",
            name=tracker.get_slot("handoff_name") or "",
            contact=tracker.get_slot("handoff_contact") or "",
            question=tracker.get_slot("handoff_question") or "",
            buttons=YES_NO[language_of(tracker)],
        )
        return []


class ValidateHandoffForm(FormValidationAction):
    def name(self) -> str:
        return "validate_handoff_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        # Without consent there is nothing to confirm: the form ends and nothing is stored.
        if tracker.get_slot("handoff_consent") is False:
            return [s for s in domain_slots if s != "handoff_confirm"]
        return domain_slots

    async def extract_handoff_consent(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return _expect_yes_or_no("handoff_consent", dispatcher, tracker)

    async def extract_handoff_confirm(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return _expect_yes_or_no("handoff_confirm", dispatcher, tracker)

    def validate_handoff_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None:  # cleared when the handoff began; nothing was said yet
            return {"handoff_name": None}
        if looks_like_payload(str(value)):  # an old "Yes" pressed at the name question is no name
            dispatcher.utter_message(response="utter_invalid_name")
            return {"handoff_name": None}
        try:
            # "Kyllä", a question or an address given for a name is asked again, in the form's language.
            return {"handoff_name": validate_name_answer(str(value or ""))}
        except InvalidInput:
            dispatcher.utter_message(response="utter_invalid_name")
            return {"handoff_name": None}

    def validate_handoff_contact(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None:
            return {"handoff_contact": None}
        if looks_like_payload(str(value)):  # a button's payload is no contact
            dispatcher.utter_message(response="utter_invalid_contact")
            return {"handoff_contact": None}
        try:
            _, normalised = validate_contact(str(value))
        except InvalidInput as exc:
            key = exc.args[0] if exc.args else "invalid_contact"
            response = {"invalid_email": "utter_invalid_email", "invalid_phone": "utter_invalid_phone"}.get(
                key, "utter_invalid_contact"
            )
            dispatcher.utter_message(response=response)
            return {"handoff_contact": None}
        return {"handoff_contact": normalised}

    def validate_handoff_question(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None:
            return {"handoff_question": None}
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        text = str(value)
        draft = tracker.get_slot("handoff_question_draft")
        # A "yes" means "keep the draft" only as the answer to the question step; a form resumed by a "yes"
        # re-checks the question the user gave, which may be their own rather than the draft.
        answering = tracker.get_slot("requested_slot") == "handoff_question"
        if draft and answering and (intent == "affirm" or text.startswith("/affirm")):
            text = draft
        elif looks_like_payload(text):  # a button's payload is not a question
            dispatcher.utter_message(response="utter_invalid_question")
            return {"handoff_question": None}
        try:
            return {"handoff_question": validate_question(text)}
        except InvalidInput:
            dispatcher.utter_message(response="utter_invalid_question")
            return {"handoff_question": None}


def _pressed_a_button(tracker: Tracker) -> bool:
    """Whether the latest message is a button's payload ("/affirm"), which is never a form's value."""
    return looks_like_payload((tracker.latest_message or {}).get("text") or "")


# The intents that answer a yes-or-no step of the form, or leave it (the cancel rule).
_YES_NO_STEP_INTENTS = frozenset({"affirm", "deny", "cancel"})


def _expect_yes_or_no(slot: str, dispatcher: CollectingDispatcher, tracker: Tracker) -> dict[str, Any]:
    """At a yes-or-no step (consent, confirmation) anything else gets the form's own word on what it expects,
    in the form's language, and the step's question again; not an answer to it as a new question with a
    handoff offer while the user is in the handoff already. Taking the step (an empty slot set) keeps the form
    from being rejected, which would hand the message to the other rules."""
    in_form = (tracker.active_loop or {}).get("name") == "handoff_form"
    if not in_form or tracker.get_slot("requested_slot") != slot or tracker.get_slot(slot) is not None:
        return {}
    intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
    if intent in _YES_NO_STEP_INTENTS:
        return {}
    dispatcher.utter_message(response="utter_handoff_expect_yes_no")
    return {slot: None}


class ActionSubmitHandoff(Action):
    def name(self) -> str:
        return "action_submit_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        try:
            contact = _contact(tracker)
        except Exception:  # the knowledge is checked at start-up; this is the last line of defence
            logger.exception("knowledge unavailable during a handoff")
            send_knowledge_unavailable(dispatcher)
            return _reset_form()
        if tracker.get_slot("handoff_consent") is not True or tracker.get_slot("handoff_confirm") is not True:
            response = "utter_handoff_no_consent" if tracker.get_slot("handoff_consent") is False else None
            dispatcher.utter_message(response=response or "utter_handoff_cancelled", contact=contact)
            return _reset_form()
        settings = get_handoff_settings()
        draft = TicketDraft(
            name=tracker.get_slot("handoff_name") or "",
            contact=tracker.get_slot("handoff_contact") or "",
            question=tracker.get_slot("handoff_question") or "",
            language=language_of(tracker),
            channel=tracker.get_latest_input_channel() or "unknown",
            consent=True,
            transcript=transcript_from_events(tracker.events),
            conversation_id=tracker.sender_id,  # where the manager's replies go back to
        )
        try:
            ticket = await asyncio.to_thread(_get_store().create_ticket, draft, settings.enabled_channels())
        except (StoreUnavailable, SQLAlchemyError) as exc:
            # Only the error's type: a database error's text can quote the row, with the contact details.
            logger.error("handoff store could not take a ticket (%s); the answers are kept", type(exc).__name__)
            dispatcher.utter_message(
                response="utter_handoff_store_down",
                contact=contact,
                buttons=[{"title": TRY_AGAIN[language_of(tracker)], "payload": "/affirm"}],
            )
            # The answers stay in the slots. "Try again" (a yes to this offer) or asking for a person again
            # re-opens the form, which finds them and asks only for the confirmation.
            return [SlotSet("handoff_confirm", None), SlotSet("handoff_offered", True)]
        except (InvalidInput, ValueError):
            logger.exception("handoff draft rejected")
            dispatcher.utter_message(response="utter_handoff_cancelled")
            return _reset_form()
        logger.info("handoff ticket %s created", ticket.reference)
        count_handoff(draft.channel)
        task = asyncio.create_task(_deliver_now(_get_store()))
        _deliveries.add(task)
        task.add_done_callback(_deliveries.discard)
        # The project manager's phone number, whatever happens to the request.
        dispatcher.utter_message(response="utter_handoff_done", reference=ticket.reference, contact=contact)
        _say_reply_expected(dispatcher, tracker, ticket.contact or "")
        return [*_reset_form(), SlotSet("handoff_reference", ticket.reference), SlotSet("failed_answers", 0.0)]


class ActionHandoffStatus(Action):
    def name(self) -> str:
        return "action_handoff_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        reference = tracker.get_slot("handoff_reference")
        if not reference:
            dispatcher.utter_message(response="utter_handoff_no_request")
            return []
        status = "new"
        try:
            ticket = await asyncio.to_thread(_get_store().get, reference)
            if ticket is not None:
                status = ticket.status
        except StoreUnavailable:
            logger.warning("handoff store unavailable for a status question")
        dispatcher.utter_message(response="utter_handoff_status", reference=reference, status=status)
        return []


# --- the two-way handoff: when to expect the reply, and additions to the open request ----------------

ADD_TO_REQUEST = {"en": "Add to my request", "fi": "Lisää pyyntööni"}
# "add to my request: <text>" gives the addition at once; without the text the form asks for it.
_ADDITION = re.compile(
    r"^\s*(?:please\s+)?(?:add(?:\s+this)?\s+to\s+my\s+(?:request|ticket)|lisää(?:\s+tämä)?\s+pyyntööni)\s*:\s*(?P<text>\S.*)$",
    re.IGNORECASE | re.DOTALL,
)


def _say_reply_expected(dispatcher: CollectingDispatcher, tracker: Tracker, contact: str) -> None:
    """Where and when the manager's reply comes, with the button that adds to the request."""
    settings = get_handoff_settings()
    language = language_of(tracker)
    try:
        values = reply_expectation(settings, utcnow(), language, contact, email_available(settings))
    except ValueError:  # bad RIS3_HANDOFF_WORKING_HOURS: the ticket is made, the sentence left out
        logger.exception("handoff: the working hours cannot be read")
        return
    dispatcher.utter_message(
        response="utter_handoff_reply_expected",
        buttons=[{"title": ADD_TO_REQUEST[language], "payload": "/add_to_request"}],
        **values,
    )


async def _open_ticket(tracker: Tracker) -> Any:
    try:
        return await asyncio.to_thread(_get_store().open_ticket_of_conversation, tracker.sender_id)
    except StoreUnavailable:
        logger.warning("handoff store unavailable for an addition")
        return None


class ValidateHandoffAdditionForm(FormValidationAction):
    def name(self) -> str:
        return "validate_handoff_addition_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        # Without an open request there is nothing to ask: the submit action says so.
        return domain_slots if await _open_ticket(tracker) is not None else []

    async def extract_handoff_addition(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") == "handoff_addition":
            return {}  # the answer to the form's question: the slot's own from_text mapping
        match = _ADDITION.match((tracker.latest_message or {}).get("text") or "")
        return {"handoff_addition": match.group("text").strip()} if match else {}

    def validate_handoff_addition(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None:
            return {"handoff_addition": None}
        text = str(value).strip()
        if not text or text.startswith("/") or len(text) > 4000:
            dispatcher.utter_message(response="utter_invalid_question")
            return {"handoff_addition": None}
        return {"handoff_addition": text}


class ActionAskHandoffAddition(Action):
    def name(self) -> str:
        return "action_ask_handoff_addition"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        ticket = await _open_ticket(tracker)
        reference = ticket.reference if ticket is not None else tracker.get_slot("handoff_reference") or ""
        dispatcher.utter_message(response="utter_handoff_addition_question", reference=reference)
        return []


class ActionSubmitHandoffAddition(Action):
    """The addition goes into the open ticket's thread, stored with the manager's notification in one
    transaction (bot/handoff/thread_store.py: at most one notification per ticket per quarter hour)."""

    def name(self) -> str:
        return "action_submit_handoff_addition"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        text = tracker.get_slot("handoff_addition")
        done = [SlotSet("handoff_addition", None)]
        ticket = await _open_ticket(tracker)
        if ticket is None or not text:
            dispatcher.utter_message(response="utter_handoff_no_open_request")
            return done
        store, channels = _get_store(), get_handoff_settings().enabled_channels()
        try:
            await asyncio.to_thread(store.add_user_message, ticket.reference, text, channels)
        except (TicketClosed, TicketNotFound):
            dispatcher.utter_message(response="utter_handoff_no_open_request")
            return done
        except (StoreUnavailable, SQLAlchemyError, InvalidInput) as exc:
            logger.error("handoff %s: the addition could not be stored (%s)", ticket.reference, type(exc).__name__)
            dispatcher.utter_message(response="utter_handoff_addition_failed")
            return done
        logger.info("handoff %s: the user added to the request", ticket.reference)
        dispatcher.utter_message(response="utter_handoff_added", reference=ticket.reference)
        return done



class ActionYesNoAlone(Action):
    """A yes or no that answers no question of the moment. A "Yes" under the handoff's confirmation pressed
    again after the request was sent (an old button, e.g. in Telegram) says that it was sent already;
    otherwise the bot asks what the user wants to know."""

    def name(self) -> str:
        return "action_yes_no_alone"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        reference = tracker.get_slot("handoff_reference")
        # Only a pressed button: a typed "yes" answers whatever was said last, not an old confirmation.
        if reference and _pressed_a_button(tracker) and _answers_a_sent_request(tracker):
            dispatcher.utter_message(response="utter_handoff_already_sent", reference=reference)
        else:
            dispatcher.utter_message(response="utter_anything_else")
        return []


def _answers_a_sent_request(tracker: Tracker) -> bool:
    """Whether the last yes-or-no question the bot asked came before the request's reference was set: the
    user's yes can then only be for the handoff that is done."""
    for event in reversed(tracker.events):
        if event.get("event") == "slot" and event.get("name") == "handoff_reference" and event.get("value"):
            return True
        buttons = (event.get("data") or {}).get("buttons") or [] if event.get("event") == "bot" else []
        if any(isinstance(b, dict) and b.get("payload") == "/affirm" for b in buttons):
            return False
    return False
