"""Reading a mail from the reply mailbox: its Message-ID and the calendar answer inside it.

Calendars write answers in different shapes, and every one must be understood:
- Outlook: `text/calendar; method=REPLY` in the MIME header and METHOD:REPLY in the body, often
  base64, beside a text/plain part; "Propose new time" sends METHOD:COUNTER.
- Gmail: the calendar twice (inline text/calendar and an `invite.ics` application/ics attachment),
  with a VTIMEZONE of its own.
- Apple Calendar: quoted-printable, X-APPLE-… properties, CRLF.
- Thunderbird: text/calendar with the method in the header only on some versions.
A part counts as calendar when its type is text/calendar or application/ics or its file name ends
in .ics; the method is the body's METHOD, else the header's `method=` parameter. The parsing is
icalendar's; nothing here touches the database.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr

from icalendar import Calendar, Event

from app.core.inputs import clean_text

ANSWER_METHODS = ("REPLY", "COUNTER")
CALENDAR_TYPES = ("text/calendar", "application/ics")


@dataclass
class CalendarAnswer:
    """What one calendar said: the event it answers and how."""

    method: str
    uid: str
    sequence: int
    organizer: str
    attendees: dict[str, str]  # address (lower case) → PARTSTAT (upper case)
    proposed_start: datetime | None = None
    proposed_end: datetime | None = None
    comment: str | None = None


@dataclass
class ReplyMail:
    """A mail read from the reply mailbox."""

    message_id: str
    sender: str
    recipients: list[str] = field(default_factory=list)
    answer: CalendarAnswer | None = None
    problem: str | None = None  # why no answer was found


def _message_id(message: EmailMessage, raw: bytes) -> str:
    """The Message-ID, or one made from the bytes (a mail without one is still read once)."""
    value = str(message.get("Message-ID", "") or "").strip()
    return value[:300] if value else f"<sha256-{hashlib.sha256(raw).hexdigest()}@linghang.invalid>"


def message_id_of(raw: bytes) -> str:
    """The Message-ID of raw mail bytes (never fails)."""
    try:
        return _message_id(message_from_bytes(raw, policy=policy.default), raw)
    except Exception:  # a mail too broken for the parser still has an identity
        return f"<sha256-{hashlib.sha256(raw).hexdigest()}@linghang.invalid>"


def address_of(value: object) -> str:
    """The bare e-mail address of a mailto: URI or a header value, lower case."""
    text = str(value or "").strip()
    if text.lower().startswith("mailto:"):
        text = text[7:]
    return parseaddr(text)[1].strip().lower() or text.lower()


def _utc(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return None


def _listed(value: object) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _answered_event(calendar: Calendar) -> Event | None:
    """The VEVENT answered: the series' master (no RECURRENCE-ID) when there is one, else the first."""
    events = list(calendar.walk("VEVENT"))
    masters = [event for event in events if event.get("RECURRENCE-ID") is None]
    return (masters or events or [None])[0]


def _answer(calendar: Calendar, method: str) -> CalendarAnswer | None:
    event = _answered_event(calendar)
    if event is None or not event.get("UID"):
        return None
    attendees = {}
    for attendee in _listed(event.get("ATTENDEE")):
        attendees[address_of(attendee)] = str(getattr(attendee, "params", {}).get("PARTSTAT", "NEEDS-ACTION")).upper()
    try:
        sequence = int(event.get("SEQUENCE", 0))
    except (TypeError, ValueError):
        sequence = 0
    start, end = event.get("DTSTART"), event.get("DTEND")
    comment = event.get("COMMENT")
    return CalendarAnswer(
        method=method,
        uid=str(event.get("UID")).strip()[:300],
        sequence=sequence,
        organizer=str(event.get("ORGANIZER", "") or ""),
        attendees=attendees,
        proposed_start=_utc(start.dt) if method == "COUNTER" and start is not None else None,
        proposed_end=_utc(end.dt) if method == "COUNTER" and end is not None else None,
        comment=clean_text(str(_listed(comment)[0]), multiline=True)[:2000] if comment else None,
    )


def _calendar_parts(message: EmailMessage):
    """(header method, payload bytes) of every part that holds a calendar."""
    for part in message.walk():
        if part.is_multipart():
            continue
        kind = part.get_content_type()
        name = (part.get_filename() or "").lower()
        if kind in CALENDAR_TYPES or name.endswith(".ics"):
            payload = part.get_payload(decode=True)
            if payload:
                yield str(part.get_param("method") or "").upper(), payload


def _first_answer(message: EmailMessage) -> tuple[CalendarAnswer | None, str | None]:
    problem = "no calendar part"
    for header_method, payload in _calendar_parts(message):
        try:
            calendar = Calendar.from_ical(payload)
        except ValueError as error:
            problem = f"unreadable calendar: {error}"[:300]
            continue
        method = str(calendar.get("METHOD", "") or header_method).upper()
        if method not in ANSWER_METHODS:
            problem = f"calendar method {method or 'none'} is not an answer"
            continue
        answer = _answer(calendar, method)
        if answer is not None:
            return answer, None
        problem = "calendar answer without an event UID"
    return None, problem


def read_mail(raw: bytes) -> ReplyMail:
    """The mail's identity and its calendar answer (or why it has none)."""
    message = message_from_bytes(raw, policy=policy.default)
    recipients = [
        address.lower()
        for header in ("To", "Cc", "Delivered-To", "X-Original-To")
        for _name, address in getaddresses([str(value) for value in message.get_all(header, [])])
        if address
    ]
    answer, problem = _first_answer(message)
    return ReplyMail(
        message_id=_message_id(message, raw),
        sender=address_of(message.get("From", ""))[:254],
        recipients=recipients,
        answer=answer,
        problem=problem,
    )
