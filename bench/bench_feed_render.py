"""First-render benchmark: the 1,000-activity feed rendered from the database vs icalendar alone.

    .venv/bin/python bench/bench_feed_render.py [--database-url postgresql://postgres@127.0.0.1/bench]

Seeds the data of bench/bench_feeds.py (a temporary SQLite database by default) and measures, in
one process, alternating over several rounds (median):

  first render      render_feed() of the enterprise's feed with nothing cached: reading the
                    activities, the change-log mark and keys, serialising, hashing (a fresh
                    session each time, as a new request has)
  icalendar alone   the same events built by icalendar from data already in memory (plain
                    strings and datetimes, no database): Event objects, a Calendar with its
                    VTIMEZONE, to_ical()

and prints the ratio. Aim: ≤ 1.0 (today's builder needed 2.5).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_feeds import seed  # noqa: E402 - after the path is set


def plain_events(activities, base_url: str) -> list[dict]:
    """What the events show, as plain values (the work of reading it is not icalendar's)."""
    from app.ical.builder import _description, activity_url, calendar_zone, last_changed, uid_for

    zone = calendar_zone()
    rows = []
    for a in activities:
        url = activity_url(a, base_url)
        rows.append({
            "uid": uid_for(a.id, base_url), "summary": a.title, "start": a.starts_at.astimezone(zone),
            "end": a.ends_at.astimezone(zone), "stamp": last_changed(a), "created": a.created_at,
            "sequence": a.sequence, "status": "CANCELLED" if a.status == "cancelled" else "CONFIRMED",
            "location": a.place, "host": a.host.name, "categories": [a.kind_label] + ([a.theme.title] if a.theme else []),
            "description": _description(a, url), "url": url, "private": a.kind == "visit",
        })
    return rows


def icalendar_alone(rows: list[dict], name: str) -> bytes:
    """The calendar built by icalendar from memory."""
    from icalendar import Calendar, Event, vCalAddress

    from app.ical.builder import vtimezone

    calendar = Calendar()
    for key, value in (("PRODID", "-//Linghang//Linghang 领航//ZH"), ("VERSION", "2.0"),
                       ("CALSCALE", "GREGORIAN"), ("METHOD", "PUBLISH"), ("NAME", name), ("X-WR-CALNAME", name)):
        calendar.add(key, value)
    years = [r["start"].year for r in rows] + [r["end"].year for r in rows]
    calendar.add_component(vtimezone("Asia/Shanghai", min(years), max(years)))
    for r in rows:
        event = Event()
        for key in ("uid", "summary", "sequence", "status", "url", "description"):
            event.add(key.upper(), r[key])
        for key, stamp in (("DTSTAMP", r["stamp"]), ("LAST-MODIFIED", r["stamp"]), ("CREATED", r["created"]),
                           ("DTSTART", r["start"]), ("DTEND", r["end"])):
            event.add(key, stamp)
        if r["location"]:
            event.add("LOCATION", r["location"])
        organizer = vCalAddress("mailto:linghang@localhost")
        organizer.params["CN"] = r["host"]
        event.add("ORGANIZER", organizer)
        event.add("CATEGORIES", r["categories"])
        event.add("CLASS", "PRIVATE" if r["private"] else "PUBLIC")
        event.add("TRANSP", "TRANSPARENT" if r["status"] == "CANCELLED" else "OPAQUE")
        calendar.add_component(event)
    return calendar.to_ical()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    parser.add_argument("--activities", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="linghang-bench-render-"))
    env = {
        "LINGHANG_INSTANCE": str(folder / "instance"),
        "DATABASE_URL": args.database_url or f"sqlite:///{folder / 'bench.sqlite'}",
        "BASE_URL": "http://127.0.0.1:8000",
        "SECRET_KEY": "bench-secret",
    }
    token, _other, _unrelated = seed(env, args.activities)
    os.environ.update(env)

    from flask_babel import force_locale

    from app import create_app
    from app.core.clock import utcnow
    from app.extensions import db
    from app.feeds import services
    from app.feeds.content import calendar_name, feed_activities
    from app.feeds.rendering import render_feed

    app = create_app()
    with app.app_context():
        scope = services.find_poll_target(token).scope
        now = utcnow()
        with force_locale(app.config["BABEL_DEFAULT_LOCALE"]):
            rows = plain_events(feed_activities(scope, now), env["BASE_URL"])
            name = calendar_name(scope)
        db.session.remove()
        renders, alone = [], []
        render_feed(scope, now)  # warm imports and caches once
        for _round in range(args.rounds):
            db.session.remove()
            started = time.perf_counter()
            body = render_feed(scope, now).body
            renders.append(time.perf_counter() - started)
            started = time.perf_counter()
            icalendar_alone(rows, name)
            alone.append(time.perf_counter() - started)
    database = "PostgreSQL" if env["DATABASE_URL"].startswith("postgres") else "SQLite"
    render, ical = statistics.median(renders), statistics.median(alone)
    print(f"Organisation feed: {body.count(b'BEGIN:VEVENT')} events, {len(body):,} bytes; {database}; "
          f"median of {args.rounds} rounds")
    print(f"  first render (database → bytes)     {render * 1000:8.1f} ms")
    print(f"  icalendar alone, from memory         {ical * 1000:8.1f} ms")
    print(f"First render vs icalendar alone:      {render / ical:8.2f}   (aim ≤ 1.0)")


if __name__ == "__main__":
    main()
