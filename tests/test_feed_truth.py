"""Feeds tell the truth: no never-published activity, related renames move the stamps, a change
within one second is never hidden from an If-Modified-Since poll, an empty feed is valid."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar
from sqlalchemy import select, update
from werkzeug.http import parse_date

from app.auth.models import Role
from app.core.clock import utcnow
from app.events import services as scheduling
from app.events.models import Activity, ActivityStatus
from app.extensions import db
from app.feeds import services
from app.feeds.cache import feed_cache
from app.feeds.content import PUBLIC, FeedScope, scope_for
from app.feeds.models import FeedChange, FeedKind
from app.feeds.rendering import render_feed
from app.orgs.services import save_venue
from tests import factories
from tests.icalcheck import read_all, read_ha_ical
from tests.test_feeds import ViewClock, invite, make_tokens, world  # noqa: F401 - fixture

__all__ = ["world"]


def events_of(body: bytes) -> dict[str, icalendar.Event]:
    return {str(e["UID"]): e for e in icalendar.Calendar.from_ical(body).walk("VEVENT")}


def settle(activity: Activity) -> None:
    """What the activity shows (host, venue, site, theme) last changed two days ago."""
    long_ago = utcnow() - timedelta(days=2)
    for related in (activity.host, activity.venue, activity.site, activity.theme):
        if related is not None:
            related.updated_at = long_ago
    db.session.commit()


def test_a_cancelled_draft_is_in_no_feed(world, client):
    paths = make_tokens(world)
    draft = factories.activity(
        title="从未发布的圆桌会", alliance=world.alliance, host=world.committee, organiser=world.organiser,
        status=ActivityStatus.draft, starts_at=utcnow() + timedelta(days=3),
    )
    draft.cohosts.append(world.dept)
    invite(draft, world.p1)
    db.session.commit()
    scheduling.cancel_activity(draft, reason="计划有变", now=utcnow())
    db.session.commit()
    assert draft.status == ActivityStatus.cancelled and draft.sequence == 0
    uid = world.uid(draft).encode()
    for name, path in paths.items():
        body = client.get(path).data
        assert uid not in body, name
        assert world.uid(world.cancelled).encode() in body or name in ("p1", "organiser", "dept")
    scopes = [FeedScope(PUBLIC), scope_for(FeedKind.organisation, organisation=world.committee),
              scope_for(FeedKind.department, organisation=world.dept),
              scope_for(FeedKind.person, person=world.organiser)]
    for scope in scopes:
        assert uid not in render_feed(scope, utcnow()).body, scope
    # A published activity that is cancelled stays in the feeds, struck through.
    published = factories.activity(title="已发布后取消", alliance=world.alliance, host=world.committee,
                                   status=ActivityStatus.published, starts_at=utcnow() + timedelta(days=3))
    db.session.commit()
    scheduling.cancel_activity(published, reason="台风", now=utcnow())
    db.session.commit()
    event = events_of(client.get(paths["alliance"]).data)[world.uid(published)]
    assert str(event["STATUS"]) == "CANCELLED" and event["SEQUENCE"] == 1


def test_renaming_a_venue_moves_the_events_stamps_but_not_their_sequence(world, client):
    paths = make_tokens(world)
    venue = world.invited.venue
    settle(world.invited)
    uid = world.uid(world.invited)
    before = events_of(client.get(paths["e1"]).data)[uid]
    assert "县委党校" in str(before["LOCATION"])

    save_venue(venue, name="县委党校新校区报告厅", address=venue.address)
    db.session.commit()
    after = events_of(client.get(paths["e1"]).data)[uid]
    assert "新校区" in str(after["LOCATION"])
    assert after.decoded("LAST-MODIFIED") > before.decoded("LAST-MODIFIED")
    assert after.decoded("DTSTAMP") > before.decoded("DTSTAMP")
    # A new name for the same room is not a significant change (RFC 5546 §2.1.4): no new SEQUENCE.
    assert after["SEQUENCE"] == before["SEQUENCE"]
    assert db.session.get(Activity, world.invited.id).sequence == before["SEQUENCE"]


def test_renaming_the_host_or_theme_moves_the_stamps(world, client):
    paths = make_tokens(world)
    uid = world.uid(world.alliance_open)
    settle(world.alliance_open)
    before = events_of(client.get(paths["alliance"]).data)[uid]
    world.committee.name = "产业链综合党委（新）"
    db.session.commit()
    middle = events_of(client.get(paths["alliance"]).data)[uid]
    assert "（新）" in str(middle["ORGANIZER"].params["CN"])
    assert middle.decoded("LAST-MODIFIED") > before.decoded("LAST-MODIFIED")
    settle(world.alliance_open)
    world.alliance_open.theme.title = "出海合规"
    db.session.commit()
    after = events_of(client.get(paths["alliance"]).data)[uid]
    assert "出海合规" in after["CATEGORIES"].cats
    assert after.decoded("DTSTAMP") > before.decoded("DTSTAMP")


def _stamp_change(activity: Activity, title: str, at: datetime) -> None:
    """An edit at a chosen instant (the change log's own stamps stay older)."""
    activity.title = title
    activity.updated_at = at
    db.session.commit()
    db.session.execute(update(FeedChange).values(changed_at=at - timedelta(seconds=30)))
    db.session.commit()


def test_two_edits_within_one_second_are_not_hidden_from_if_modified_since(world, client, monkeypatch):
    paths = make_tokens(world)
    second = (utcnow() + timedelta(minutes=1)).replace(microsecond=0)
    clock = ViewClock(monkeypatch, second + timedelta(milliseconds=300))

    _stamp_change(world.invited, "宣讲会（第一次修改）", second + timedelta(milliseconds=200))
    first = client.get(paths["e1"])
    assert first.status_code == 200 and "第一次修改".encode() in first.data
    last_modified = first.headers["Last-Modified"]
    assert parse_date(last_modified) <= clock.now  # never in the future

    _stamp_change(world.invited, "宣讲会（第二次修改）", second + timedelta(milliseconds=700))
    clock.now = second + timedelta(milliseconds=800)
    polled = client.get(paths["e1"], headers={"If-Modified-Since": last_modified})
    assert polled.status_code == 200 and "第二次修改".encode() in polled.data

    # Once the change has settled, Last-Modified is the end of its second and validates.
    clock.now = second + timedelta(seconds=10)
    settled = client.get(paths["e1"])
    assert parse_date(settled.headers["Last-Modified"]) == second + timedelta(seconds=1)
    again = client.get(paths["e1"], headers={"If-Modified-Since": settled.headers["Last-Modified"]})
    assert again.status_code == 304
    # If-None-Match takes precedence over If-Modified-Since (RFC 9110 §13.2.2).
    stale = client.get(paths["e1"], headers={"If-None-Match": first.headers["ETag"],
                                             "If-Modified-Since": settled.headers["Last-Modified"]})
    assert stale.status_code == 200


def test_an_empty_feed_is_a_valid_calendar(app, client):
    feed_cache().clear()
    loner = factories.person(factories.organisation(), name="无活动的人")
    staff = factories.user(Role.organiser)
    _token, plain = services.create_token(staff, "空", person=loner, now=utcnow())
    db.session.commit()
    body = client.get(services.feed_path(plain)).data
    calendar = icalendar.Calendar.from_ical(body)
    assert [c.name for c in calendar.subcomponents] == ["VTIMEZONE"]
    assert "DAYLIGHT" not in body.decode()
    assert read_all([body]) == [[]]  # icalendar, vobject, Home Assistant's ical and ical.js
    assert read_ha_ical(body) == []
    stamps = db.session.scalars(select(FeedChange.changed_at)).all()
    assert stamps  # the empty feed still has a Last-Modified to validate against
    assert client.get(services.feed_path(plain)).data == body


def test_the_public_feed_with_nothing_published_parses_everywhere(app, client):
    feed_cache().clear()
    factories.activity(title="草稿", status=ActivityStatus.draft, starts_at=datetime.now(UTC) + timedelta(days=2))
    db.session.commit()
    body = client.get("/feeds/public.ics").data
    assert b"BEGIN:VTIMEZONE" in body and b"BEGIN:VEVENT" not in body
    assert read_all([body]) == [[]]
