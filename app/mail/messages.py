"""Composing simple notices: a few lines of text, the same as HTML, and an optional link."""

from __future__ import annotations

from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formataddr

from markupsafe import escape

from app.core.inputs import clean_text

# Notices are written in the county's language, whoever triggered them.
MAIL_LOCALE = "zh_CN"


def header_text(value: str) -> str:
    """Text for a header such as Subject: one line, no control characters (no header injection)."""
    return clean_text(value or "").strip()


def mail_address(name: str | None, email: str | None) -> Address | str:
    """A To header value; the display name is cleaned of line breaks and control characters."""
    display = header_text(name or "")
    try:
        return Address(display_name=display, addr_spec=email or "")
    except (IndexError, ValueError, HeaderParseError):  # no usable address: kept as typed, cleaned
        return formataddr((display, header_text(email or "")))


def text_message(to_name: str, to_email: str, subject: str, lines: list[str], link: str | None) -> EmailMessage:
    """A plain-text and HTML mail of the given lines (empty lines separate paragraphs)."""
    message = EmailMessage()
    message["To"] = mail_address(to_name, to_email)
    message["Subject"] = header_text(subject)
    message.set_content("\n".join(lines) + "\n")
    html = "".join(f"<p>{escape(line)}</p>" if line else "" for line in lines)
    if link:
        html += f'<p><a href="{escape(link)}">{escape(link)}</a></p>'
    message.add_alternative(f"<!doctype html><html><body>{html}</body></html>", subtype="html")
    return message
