"""Checks that a page speaks one language: no Chinese UI text in English, no English UI text in Chinese.

Names and data (what the database holds: titles, names, addresses, notes…) may be in any language,
so every text stored in the database is taken out of the page before the check; so are form values
(<input value>, <textarea>) and scripts.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from babel.messages.pofile import read_po
from sqlalchemy import JSON, String, Text, select
from sqlalchemy import Enum as SAEnum

from app.extensions import db

ROOT = Path(__file__).resolve().parent.parent
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\u3000-\u303f\uff01-\uff60]+")
# A stretch of English words in a Chinese page (checked against the catalogue's msgids).
LATIN = re.compile(r"[A-Za-z][A-Za-z0-9 ,.'’()/:&\-]*[A-Za-z.)]")
ATTRIBUTES = ("title", "placeholder", "aria-label", "alt")
SKIPPED = {"script", "style", "textarea", "code"}


class _Text(HTMLParser):
    """The text a reader sees: text nodes and the attributes read aloud or shown on hover."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping: list[str] = []

    def handle_starttag(self, tag, attrs):
        # Skipped: scripts, typed values and text in a language of its
        # own (the language menu names each language in that language).
        if tag in SKIPPED or (tag != "html" and any(name == "lang" for name, _value in attrs)):
            self.skipping.append(tag)
        for name, value in attrs:
            if name in ATTRIBUTES and value:
                self.parts.append(value)

    def handle_endtag(self, tag):
        if self.skipping and self.skipping[-1] == tag:
            self.skipping.pop()

    def handle_data(self, data):
        if not self.skipping and data.strip():
            self.parts.append(data.strip())


def page_text(html: str) -> list[str]:
    """The page's visible text pieces."""
    parser = _Text()
    parser.feed(html)
    return parser.parts


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    return []


def stored_text() -> str:
    """Every text the database holds, one per line (the data a page may show in any language)."""
    found: set[str] = set()
    for table in db.metadata.sorted_tables:
        columns = [
            c for c in table.columns
            if isinstance(c.type, String | Text | JSON) and not isinstance(c.type, SAEnum)
        ]
        if not columns:
            continue
        for row in db.session.execute(select(*columns)):
            for value in row:  # JSON columns come back parsed
                found.update(s for s in _strings(value) if s)
    return "\n".join(sorted(found))


def _outside_data(text: str, data: str, pattern: re.Pattern) -> list[str]:
    """Stretches of the pattern in the text that are not part of some stored text."""
    return [run for run in pattern.findall(text) if run.strip() and run not in data]


def chinese_in_english(html: str, data: str) -> list[str]:
    """Chinese text of an English page outside names and data."""
    return [run for part in page_text(html) for run in _outside_data(part, data, CJK)]


def catalogue() -> dict[str, str]:
    """msgid → Chinese of the catalogue's plain messages that read differently in Chinese."""
    with (ROOT / "app/translations/zh/LC_MESSAGES/messages.po").open("rb") as handle:
        messages = read_po(handle)
    plain = {}
    for message in messages:
        if not message.id or isinstance(message.id, tuple) or "%(" in message.id:
            continue
        if len(message.id) >= 4 and re.search(r"[A-Za-z]{3}", message.id) and message.string != message.id:
            plain[message.id] = message.string
    return plain


def english_in_chinese(html: str, data: str, msgids: dict[str, str]) -> list[str]:
    """English UI words of a Chinese page: a catalogue msgid shown verbatim (untranslated)."""
    found = []
    for part in page_text(html):
        for run in _outside_data(part, data, LATIN):
            found += [
                m for m in msgids if m in run and re.search(rf"(?<![A-Za-z]){re.escape(m)}(?![A-Za-z])", run)
            ]
    return found
