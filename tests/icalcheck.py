"""Read calendars as clients do: icalendar, vobject, Home Assistant's ical and Mozilla's ical.js
(Node), and compare."""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import icalendar
import vobject
from ical.calendar_stream import IcsCalendarStream

ROOT = Path(__file__).resolve().parent.parent
PARSE_JS = ROOT / "tests" / "js" / "parse_ics.mjs"


def check_lines(body: bytes) -> None:
    """≤ 75 octets per line, CRLF only, UTF-8 per physical line, a VTIMEZONE for every TZID."""
    assert body.endswith(b"\r\n")
    assert b"\n" not in body.replace(b"\r\n", b""), "bare LF"
    assert b"\r" not in body.replace(b"\r\n", b""), "bare CR"
    lines = body.split(b"\r\n")[:-1]
    for line in lines:
        assert len(line) <= 75, (len(line), line)
        line.decode("utf-8")  # a fold never splits a character
    text = body.decode("utf-8")
    used = set(re.findall(r";TZID=([^:;]+)[:;]", text))
    defined = set(re.findall(r"^TZID:(.+)$", text, flags=re.M))
    assert used <= {d.strip() for d in defined}, (used, defined)
    assert "TZID=\"UTC+" not in text


def _utc(value) -> str:
    assert isinstance(value, datetime) and value.tzinfo is not None, value
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def read_icalendar(body: bytes) -> list[dict]:
    calendar = icalendar.Calendar.from_ical(body)
    for component in calendar.walk():
        assert not component.errors, component.errors
    return [
        {
            "uid": str(e["UID"]),
            "summary": str(e["SUMMARY"]),
            "start": _utc(e.decoded("DTSTART")),
            "end": _utc(e.decoded("DTEND")),
            "status": str(e["STATUS"]),
            "sequence": int(e["SEQUENCE"]),
        }
        for e in calendar.walk("VEVENT")
    ]


def read_vobject(body: bytes) -> list[dict]:
    calendar = vobject.readOne(body.decode("utf-8"))
    calendar.validate(raiseException=True)
    events = []
    for e in getattr(calendar, "vevent_list", []):
        e.validate(raiseException=True)
        events.append(
            {
                "uid": e.uid.value,
                "summary": e.summary.value,
                "start": _utc(e.dtstart.value),
                "end": _utc(e.dtend.value),
                "status": e.status.value,
                "sequence": int(e.sequence.value),
            }
        )
    return events


def read_ha_ical(body: bytes) -> list[dict]:
    """Home Assistant's parser (PyPI `ical`): strict on value types; one bad line fails the whole calendar."""
    calendar = IcsCalendarStream.calendar_from_ics(body.decode("utf-8"))
    return [
        {
            "uid": e.uid,
            "summary": e.summary,
            "start": _utc(e.dtstart),
            "end": _utc(e.dtend),
            "status": str(e.status.value if hasattr(e.status, "value") else e.status),
            "sequence": int(e.sequence or 0),
        }
        for e in calendar.events
    ]


def read_icaljs(bodies: list[bytes]) -> list[dict]:
    """One Node run for many calendars; returns each calendar's parse."""
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for n, body in enumerate(bodies):
            path = Path(folder) / f"{n}.ics"
            path.write_bytes(body)
            paths.append(str(path))
        done = subprocess.run(
            ["node", str(PARSE_JS), *paths], capture_output=True, check=True, timeout=60, cwd=ROOT
        )
    return json.loads(done.stdout)


def icaljs_events(parsed: dict) -> list[dict]:
    events = []
    for e in parsed["events"]:
        assert e["start_zone"] != "floating" and e["end_zone"] != "floating", e
        events.append(
            {
                "uid": e["uid"],
                "summary": e["summary"],
                "start": e["start"].replace(".000Z", "Z"),
                "end": e["end"].replace(".000Z", "Z"),
                "status": e["status"],
                "sequence": e["sequence"],
            }
        )
    return events


def read_all(bodies: list[bytes]) -> list[list[dict]]:
    """Parse each calendar with the four parsers; assert they agree; return what they read."""
    js = read_icaljs(bodies)
    results = []
    for body, parsed in zip(bodies, js, strict=True):
        check_lines(body)
        by_icalendar = read_icalendar(body)
        assert read_vobject(body) == by_icalendar
        assert read_ha_ical(body) == by_icalendar
        assert icaljs_events(parsed) == by_icalendar
        results.append(by_icalendar)
    return results
