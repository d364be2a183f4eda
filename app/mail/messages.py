"""Composing simple notices: a few lines of text, the same as HTML, and an optional link."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formataddr

from markupsafe import escape

# Notices are written in the county's language, whoever triggered them.
MAIL_LOCALE = "zh_CN"


def text_message(to_name: str, to_email: str, subject: str, lines: list[str], link: str | None) -> EmailMessage:
    """A plain-text and HTML mail of the given lines (empty lines separate paragraphs)."""
    message = EmailMessage()
    message["To"] = formataddr((to_name, to_email))
    message["Subject"] = subject
    message.set_content("\n".join(lines) + "\n")
    html = "".join(f"<p>{escape(line)}</p>" if line else "" for line in lines)
    if link:
        html += f'<p><a href="{escape(link)}">{escape(link)}</a></p>'
    message.add_alternative(f"<!doctype html><html><body>{html}</body></html>", subtype="html")
    return message
