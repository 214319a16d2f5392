"""What the user reads of the thread: the manager's reply and the closing notice, in the ticket's language.

Plain text everywhere: every route sends it as text (Telegram without parse_mode, e-mail text/plain, the
widget as a text bubble), so nothing the manager types is taken as markup.
"""

from __future__ import annotations

from bot.handoff.models import ThreadMessage, Ticket

REPLY = {
    "en": "Reply from the project manager to your request {reference}:\n\n{text}",
    "fi": "Projektipäällikön vastaus pyyntöösi {reference}:\n\n{text}",
}
CLOSED = {
    "en": "The project manager has closed your request {reference}. I am here again for your questions about "
    "the RIS3 strategy; for something new, ask for a person again.",
    "fi": "Projektipäällikkö on sulkenut pyyntösi {reference}. Vastaan taas kysymyksiisi RIS3-strategiasta; "
    "uudessa asiassa voit pyytää ihmistä uudelleen.",
}
EMAIL_SUBJECT = {"en": "Reply to your request {reference}", "fi": "Vastaus pyyntöösi {reference}"}
EMAIL_FOOTER = {
    "en": "\n\n--\nRIS3 assistant, Regional Council of Kymenlaakso. The reply also appears in the chat you asked in.",
    "fi": "\n\n--\nRIS3-avustaja, Kymenlaakson liitto. Vastaus näkyy myös keskustelussa, jossa kysyit.",
}


def _language(ticket: Ticket) -> str:
    return ticket.language if ticket.language in REPLY else "en"


def closed_notice(ticket: Ticket) -> str:
    return CLOSED[_language(ticket)].format(reference=ticket.reference)


def user_text(ticket: Ticket, message: ThreadMessage) -> str:
    """The message as the user reads it in the chat."""
    if message.kind == "manager_reply":
        return REPLY[_language(ticket)].format(reference=ticket.reference, text=message.text or "")
    return message.text or ""


def email_subject(ticket: Ticket) -> str:
    return EMAIL_SUBJECT[_language(ticket)].format(reference=ticket.reference)


def email_body(ticket: Ticket, message: ThreadMessage) -> str:
    return user_text(ticket, message) + EMAIL_FOOTER[_language(ticket)]


def addition_text(ticket: Ticket, additions: list[ThreadMessage]) -> str:
    """The manager's notification of what the user added (plain text, e-mail and Telegram)."""
    lines = [f"New message(s) from the user on request {ticket.reference} (RIS3 assistant):", ""]
    for message in additions:
        lines.append(f"[{message.created_at:%Y-%m-%d %H:%M} UTC] {message.text or '(erased)'}")
    lines += ["", "Reply in the inbox, or reply to this message in Telegram."]
    return "\n".join(lines)
