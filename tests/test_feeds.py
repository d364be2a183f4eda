"""Calendar feeds: contents per kind, three parsers agree, HTTP caching, tokens, CLI, downloads."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime as http_date

import icalendar
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm.attributes import set_committed_value
from werkzeug.http import parse_date

from app.auth.models import Role
from app.core.clock import utcnow
from app.events.models import Activity, ActivityKind, ActivityStatus, VisitKind
from app.extensions import db
from app.feeds import cache, services, views
from app.feeds.cache import feed_body, feed_cache
from app.feeds.content import PUBLIC, FeedScope, scope_for
from app.feeds.models import FeedChange, FeedKind, FeedToken
from app.feeds.rendering import render_feed
from app.feeds.tracking import tracking_maintained
from app.ical.builder import build_calendar, build_vevent, last_changed
from app.invitations.models import Answer, Invitation
from app.orgs.models import OrgKind
from tests import factories
from tests.icalcheck import check_lines, read_all, read_icaljs


def invite(activity, person, organisation=None):
    row = Invitation(
        activity=activity,
        person=person,
        organisation=organisation or person.organisation,
        token_hash=hashlib.sha256(f"{activity.id}-{person.id}".encode()).hexdigest(),
        checkin_code=f"C{activity.id}-{person.id}",
    )
    db.session.add(row)
    db.session.flush()
    return row


class World:
    """An alliance with two enterprises, a department, a committee and activities of every sort."""

    def __init__(self, now: datetime) -> None:
        soon = now + timedelta(days=7)
        self.committee = factories.organisation(OrgKind.committee, name="产业链综合党委")
        self.alliance = factories.organisation(OrgKind.alliance, name="锂电新能源产业链党建联盟")
        self.e1 = factories.organisation(OrgKind.enterprise, name="赣锋锂业, 宜春分公司")
        self.e2 = factories.organisation(OrgKind.enterprise, name="宁德时代宜春基地")
        self.dept = factories.organisation(OrgKind.department, name="县税务局")
        factories.member(self.alliance, self.e1, leader=True)
        factories.member(self.alliance, self.e2)
        self.p1 = factories.person(self.e1, name="李, 四", email="li@e1.example.com")
        self.organiser = factories.person(self.committee, name="王五", email="wang@committee.example.com")
        venue = factories.venue(name="县委党校；报告厅")
        host = self.committee

        def act(title, **fields):
            fields.setdefault("host", host)
            fields.setdefault("starts_at", soon)
            fields.setdefault("updated_at", now - timedelta(days=1))
            return factories.activity(title=title, **fields)

        self.invited = act("减税降费政策宣讲会", kind=ActivityKind.roundtable, venue=venue)
        invite(self.invited, self.p1)
        self.alliance_open = act("联盟沙龙：出海, 合规; 与融资", alliance=self.alliance, organiser=self.organiser,
                                 agenda="一、政策解读\n二、企业交流", theme=factories.theme(year=soon.year, month=soon.month))
        self.cohosted = act("主题党日", kind=ActivityKind.themed_day)
        self.cohosted.cohosts.append(self.dept)
        self.county = act("企业家下午茶", kind=ActivityKind.afternoon_tea)
        self.visit_e1 = act("走访赣锋", kind=ActivityKind.visit, visit_kind=VisitKind.outreach, site=self.e1)
        self.visit_e2 = act("走访宁德", kind=ActivityKind.visit, visit_kind=VisitKind.follow_up, site=self.e2,
                            alliance=self.alliance)
        invite(self.visit_e2, self.p1)  # even an invitation must not leak another enterprise's visit
        self.draft = act("草稿沙龙", alliance=self.alliance, status=ActivityStatus.draft)
        self.cancelled = act("已取消的圆桌会", alliance=self.alliance, status=ActivityStatus.cancelled,
                             updated_at=now - timedelta(days=5), sequence=1)
        self.cancelled_long_ago = act("早已取消", alliance=self.alliance, status=ActivityStatus.cancelled,
                                      updated_at=now - timedelta(days=40), sequence=1)
        self.too_old = act("很久以前", alliance=self.alliance, starts_at=now - timedelta(days=120))
        self.too_far = act("明年以后", alliance=self.alliance, starts_at=now + timedelta(days=400))
        db.session.commit()

    def uid(self, activity) -> str:
        return f"activity-{activity.id}@linghang.test"

    def expected(self) -> dict[str, set]:
        return {
            "e1": {self.invited, self.alliance_open, self.cancelled, self.visit_e1},
            "e2": {self.alliance_open, self.cancelled, self.visit_e2},
            "p1": {self.invited},
            "organiser": {self.alliance_open},
            "dept": {self.cohosted},
            "alliance": {self.alliance_open, self.cancelled},
            "public": {self.invited, self.alliance_open, self.cohosted, self.county, self.cancelled},
        }


@pytest.fixture
def world(app):
    feed_cache().clear()
    return World(utcnow())


def make_tokens(world: World) -> dict[str, str]:
    staff = factories.user(Role.organiser, org=world.committee)
    now = utcnow()
    subjects = {
        "e1": {"organisation": world.e1},
        "e2": {"organisation": world.e2},
        "p1": {"person": world.p1},
        "organiser": {"person": world.organiser},
        "dept": {"organisation": world.dept},
        "alliance": {"organisation": world.alliance},
    }
    paths = {name: services.feed_path(services.create_token(staff, name, now=now, **subject)[1])
             for name, subject in subjects.items()}
    paths["public"] = "/feeds/public.ics"
    db.session.commit()
    return paths


def test_every_feed_kind_has_its_activities_and_three_parsers_agree(world, client):
    paths = make_tokens(world)
    bodies = {}
    for name, path in paths.items():
        response = client.get(path)
        assert response.status_code == 200, name
        assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
        bodies[name] = response.data
    parsed = dict(zip(bodies, read_all(list(bodies.values())), strict=True))
    for name, expected in world.expected().items():
        assert {e["uid"] for e in parsed[name]} == {world.uid(a) for a in expected}, name
    # An enterprise's feed never contains another enterprise's private visit.
    assert world.uid(world.visit_e2) not in {e["uid"] for e in parsed["e1"]}
    assert world.uid(world.visit_e1) not in {e["uid"] for e in parsed["e2"]}
    by_uid = {e["uid"]: e for e in parsed["e1"]}
    assert by_uid[world.uid(world.cancelled)]["status"] == "CANCELLED"
    assert by_uid[world.uid(world.invited)]["status"] == "CONFIRMED"
    start = world.invited.starts_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert by_uid[world.uid(world.invited)]["start"] == start


def test_feed_follows_ical_conformance(world, client):
    paths = make_tokens(world)
    body = client.get(paths["e1"]).data
    text = body.decode()
    unfolded = text.replace("\r\n ", "")
    assert "METHOD:PUBLISH" in text and "VERSION:2.0" in text and "PRODID:" in text
    assert "X-WR-CALNAME:领航 · 赣锋锂业\\, 宜春分公司" in unfolded
    assert "\r\nNAME:领航 · 赣锋锂业\\, 宜春分公司" in unfolded
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n" in text
    assert "X-PUBLISHED-TTL:PT1H\r\n" in text
    # The VTIMEZONE covers only the years used: no 1986–91 daylight saving rules.
    assert "BEGIN:DAYLIGHT" not in text
    assert "DTSTART;TZID=Asia/Shanghai:" in text
    event = unfolded.split(f"UID:{world.uid(world.alliance_open)}")[0].rsplit("BEGIN:VEVENT", 1)[1] + \
        unfolded.split(f"UID:{world.uid(world.alliance_open)}")[1].split("END:VEVENT")[0]
    # The last change of the row or of what the event shows (here the theme, created later).
    stamp = last_changed(world.alliance_open).strftime("%Y%m%dT%H%M%SZ")
    assert f"DTSTAMP:{stamp}" in event and f"LAST-MODIFIED:{stamp}" in event
    assert "SEQUENCE:0" in event
    assert "CATEGORIES:党建联盟沙龙," in event
    # ORGANIZER is the system's sending address (never a person's, feeds can be public) named after the host.
    host = world.alliance_open.host.name
    assert f"ORGANIZER;CN={host}:mailto:linghang@localhost" in event or f'ORGANIZER;CN="{host}":mailto:linghang@localhost' in event
    assert "wang@committee.example.com" not in unfolded
    assert "一、政策解读\\n二、企业交流" in event
    assert f"http://linghang.test/activities/{world.alliance_open.id}" in event.split("DESCRIPTION:")[1]
    assert f"URL:http://linghang.test/activities/{world.alliance_open.id}" in event
    invited = unfolded.split(f"UID:{world.uid(world.invited)}")[1].split("END:VEVENT")[0] + \
        unfolded.split(f"UID:{world.uid(world.invited)}")[0].rsplit("BEGIN:VEVENT", 1)[1]
    assert "LOCATION:县委党校\\；报告厅" in invited or "LOCATION:县委党校；报告厅" in invited
    # The person's CN with a comma is quoted.
    assert 'CN="李, 四"' not in text  # attendees are not listed in feeds
    # Feeds are in Chinese whatever the client asks for (no content negotiation).
    again = client.get(paths["e1"], headers={"Accept-Language": "en", "Accept": "text/html"}).data
    assert again == body


class ViewClock:
    """The feed views' clock, injected: `now` is what they read."""

    def __init__(self, monkeypatch, now: datetime) -> None:
        self.now = now
        monkeypatch.setattr(views, "utcnow", lambda: self.now)


def end_of_second(value: datetime) -> datetime:
    value = value.astimezone(UTC)
    return value.replace(microsecond=0) + timedelta(seconds=1 if value.microsecond else 0)


def test_http_caching_etag_last_modified_and_304(world, client, monkeypatch):
    paths = make_tokens(world)
    # Polled once the change has settled: Last-Modified is then the end of its second.
    ViewClock(monkeypatch, utcnow() + timedelta(seconds=10))
    first = client.get(paths["e1"])
    second = client.get(paths["e1"])
    assert first.data == second.data  # byte-identical repeat fetches
    etag = first.headers["ETag"]
    assert etag == '"' + hashlib.sha256(first.data).hexdigest() + '"'
    assert second.headers["ETag"] == etag
    last_modified = first.headers["Last-Modified"]
    assert last_modified.endswith("GMT")

    not_modified = client.get(paths["e1"], headers={"If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.data == b""
    assert not_modified.headers["ETag"] == etag
    assert client.get(paths["e1"], headers={"If-None-Match": '"other", ' + etag}).status_code == 304
    assert client.get(paths["e1"], headers={"If-None-Match": '"stale"'}).status_code == 200
    assert client.get(paths["e1"], headers={"If-Modified-Since": last_modified}).status_code == 304
    earlier = http_date(datetime(2020, 1, 1, tzinfo=UTC), usegmt=True)
    assert client.get(paths["e1"], headers={"If-Modified-Since": earlier}).status_code == 200
    # If-None-Match wins over If-Modified-Since.
    assert client.get(paths["e1"], headers={"If-None-Match": '"stale"', "If-Modified-Since": last_modified}).status_code == 200

    # A change makes a new ETag; the old one gets the full body.
    world.invited.title = "减税降费政策宣讲会（改期）"
    world.invited.updated_at = utcnow()
    db.session.commit()
    changed = client.get(paths["e1"], headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert "改期".encode() in changed.data


def test_unchanged_polls_do_not_rebuild(world, client, monkeypatch):
    paths = make_tokens(world)
    builds = []
    real = cache.render_tracked
    monkeypatch.setattr(cache, "render_tracked", lambda *a, **k: builds.append(1) or real(*a, **k))
    etag = client.get(paths["e1"]).headers["ETag"]
    assert len(builds) == 1
    for _ in range(3):
        assert client.get(paths["e1"], headers={"If-None-Match": etag}).status_code == 304
        assert client.get(paths["e1"]).headers["ETag"] == etag
    assert len(builds) == 1
    # An invitation adds an activity: the version changes, the feed is rebuilt once.
    invite(world.county, world.p1)
    db.session.commit()
    assert client.get(paths["e1"], headers={"If-None-Match": etag}).status_code == 200
    assert len(builds) == 2
    # Correctness does not depend on the cache: an empty cache rebuilds the same bytes.
    body = client.get(paths["e1"]).data
    feed_cache().clear()
    assert client.get(paths["e1"]).data == body


def touched_since(last_id: int) -> set[str]:
    """The keys changes touched after change row `last_id`."""
    return set(db.session.scalars(select(FeedChange.key).where(FeedChange.id > last_id)))


def last_change_id() -> int:
    return db.session.scalar(select(func.coalesce(func.max(FeedChange.id), 0)))


def test_triggers_touch_the_keys_of_what_changed(world, app):
    assert tracking_maintained()
    w = world
    start = last_change_id()
    w.invited.title = "新标题"
    db.session.commit()
    # The public feed, the host, the invited organisation and person; nothing else.
    assert touched_since(start) == {"public", f"o:{w.committee.id}", f"o:{w.e1.id}", f"p:{w.p1.id}"}
    start = last_change_id()
    invitation = invite(w.county, w.p1)
    db.session.commit()
    assert touched_since(start) == {f"o:{w.e1.id}", f"p:{w.p1.id}"}
    start = last_change_id()
    invitation.answer = Answer.accepted  # answers do not change any feed
    invitation.seats = 2
    w.invited.capacity = 80  # nor does the capacity
    db.session.commit()
    assert touched_since(start) == set()
    w.e1.name = "赣锋锂业宜春分公司"
    db.session.commit()
    assert touched_since(start) == {f"O:{w.e1.id}"}
    start = last_change_id()
    db.session.execute(delete(Invitation).where(Invitation.id == invitation.id))
    db.session.execute(update(Activity).where(Activity.id == w.alliance_open.id).values(sequence=3))
    db.session.commit()
    assert touched_since(start) == {
        f"o:{w.e1.id}", f"p:{w.p1.id}", "public", f"o:{w.committee.id}", f"a:{w.alliance.id}", f"p:{w.organiser.id}",
    }
    start = last_change_id()
    w.cohosted.cohosts.remove(w.dept)
    db.session.commit()
    assert touched_since(start) == {f"o:{w.dept.id}"}


def test_last_modified_follows_changes_that_touch_no_activity_row(world, client, monkeypatch):
    paths = make_tokens(world)
    keys = cache.render_tracked(scope_for(FeedKind.organisation, organisation=world.e1), utcnow()).tracked.keys

    def newest_change():
        return db.session.scalar(select(func.max(FeedChange.changed_at)).where(FeedChange.key.in_(keys)))

    changed = newest_change()
    assert changed.tzinfo is not None and abs(utcnow() - changed) < timedelta(minutes=1)
    clock = ViewClock(monkeypatch, utcnow() + timedelta(seconds=10))
    first = parse_date(client.get(paths["e1"]).headers["Last-Modified"])
    assert first == end_of_second(changed)
    invite(world.county, world.p1)  # the activity row itself is unchanged
    db.session.commit()
    later = newest_change()
    assert later > changed
    clock.now = utcnow() + timedelta(seconds=10)
    response = client.get(paths["e1"])
    assert parse_date(response.headers["Last-Modified"]) == end_of_second(later)
    assert world.uid(world.county).encode() in response.data


def test_without_triggers_nothing_is_cached(world, app, client, monkeypatch):
    paths = make_tokens(world)
    app.extensions["linghang_feed_triggers"] = False
    builds = []
    real = cache.render_tracked
    monkeypatch.setattr(cache, "render_tracked", lambda *a, **k: builds.append(1) or real(*a, **k))
    try:
        etag = client.get(paths["e1"]).headers["ETag"]
        assert client.get(paths["e1"], headers={"If-None-Match": etag}).status_code == 304
        assert len(builds) == 2 and len(feed_cache()) == 0
        invite(world.county, world.p1)
        db.session.commit()
        assert client.get(paths["e1"], headers={"If-None-Match": etag}).status_code == 200
    finally:
        app.extensions.pop("linghang_feed_triggers")


def test_revoked_and_unknown_tokens_answer_404(world, client):
    paths = make_tokens(world)
    assert client.get(paths["e1"]).status_code == 200
    token = db.session.scalar(select(FeedToken).where(FeedToken.name == "e1"))
    services.revoke_token(None, token, utcnow())
    db.session.commit()
    assert client.get(paths["e1"]).status_code == 404
    assert client.get("/feeds/" + "x" * 43 + ".ics").status_code == 404
    assert client.get(paths["e2"]).status_code == 200


def test_rescheduled_and_cancelled_activities_through_icaljs(world):
    scope = scope_for(FeedKind.organisation, organisation=world.e1)
    now = utcnow()
    before = read_icaljs([feed_body(scope, now).body])[0]["events"]
    old = {e["uid"]: e for e in before}[world.uid(world.invited)]
    assert old["sequence"] == 0 and old["status"] == "CONFIRMED"

    # What the scheduling service does: new times, SEQUENCE + 1, updated_at.
    moved = world.invited.starts_at + timedelta(days=2, hours=3)
    world.invited.starts_at, world.invited.ends_at = moved, moved + timedelta(hours=2)
    world.invited.sequence += 1
    world.invited.updated_at = now + timedelta(minutes=1)
    world.alliance_open.status = ActivityStatus.cancelled
    world.alliance_open.sequence += 1
    world.alliance_open.updated_at = now + timedelta(minutes=1)
    db.session.commit()
    later = now + timedelta(minutes=2)
    after = {e["uid"]: e for e in read_icaljs([feed_body(scope, later).body])[0]["events"]}
    rescheduled = after[world.uid(world.invited)]
    assert rescheduled["sequence"] == 1
    assert rescheduled["start"] == moved.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert rescheduled["end"] == (moved + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    cancelled = after[world.uid(world.alliance_open)]
    assert cancelled["status"] == "CANCELLED" and cancelled["sequence"] == 1
    # It is kept 30 whole local days after the cancellation, then drops out. 32 days, so a test
    # run just before local midnight (when now + 1 minute is already the next day) still holds.
    gone = read_icaljs([feed_body(scope, now + timedelta(days=32)).body])[0]["events"]
    assert world.uid(world.alliance_open) not in {e["uid"] for e in gone}


def test_window_is_configurable(world, app):
    scope = FeedScope(PUBLIC)
    now = utcnow()
    uids = lambda: {e["uid"] for e in read_all([feed_body(scope, now).body])[0]}  # noqa: E731
    assert world.uid(world.too_old) not in uids() and world.uid(world.too_far) not in uids()
    app.config["FEED_PAST_DAYS"], app.config["FEED_FUTURE_DAYS"] = 200, 500
    try:
        assert {world.uid(world.too_old), world.uid(world.too_far)} <= uids()
    finally:
        app.config["FEED_PAST_DAYS"], app.config["FEED_FUTURE_DAYS"] = 90, 365


def test_last_poll_is_recorded_at_most_every_15_minutes(world):
    staff = factories.user(Role.organiser, org=world.committee)
    now = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    token, _plain = services.create_token(staff, "手机", organisation=world.e1, now=now)
    db.session.commit()
    assert services.record_poll(token, now) is True
    db.session.commit()
    db.session.refresh(token)
    assert token.last_polled_at == now
    assert services.record_poll(token, now + timedelta(minutes=14)) is False
    # Another process with a stale copy: the conditional UPDATE writes nothing.
    set_committed_value(token, "last_polled_at", None)
    assert services.record_poll(token, now + timedelta(minutes=14)) is False
    db.session.rollback()
    db.session.refresh(token)
    assert services.record_poll(token, now + timedelta(minutes=16)) is True
    db.session.commit()
    db.session.refresh(token)
    assert token.last_polled_at == now + timedelta(minutes=16)


def test_feed_poll_sets_last_polled_at(world, client):
    paths = make_tokens(world)
    client.get(paths["e1"])
    token = db.session.scalar(select(FeedToken).where(FeedToken.name == "e1"))
    assert token.last_polled_at is not None
    assert utcnow() - token.last_polled_at < timedelta(minutes=1)


# -- Subscribe page ---------------------------------------------------------------

def test_contact_creates_a_link_shown_once_and_it_works(world, client, login_as):
    contact = login_as(factories.user(Role.contact, org=world.e1))
    page = client.get("/subscribe").get_data(as_text=True)
    assert "订阅" in page and "<svg" in page
    for client_name in ("Outlook", "谷歌日历", "苹果日历", "其他手机日历", "webcal://linghang.test/feeds/public.ics"):
        assert client_name in page
    assert world.e1.name in page and world.e2.name not in page
    response = client.post("/subscribe", data={"name": "办公室 Outlook", "subject": f"org:{world.e1.id}"})
    # The link is shown on the answer to the POST itself: nothing keeps it, not even the session.
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    with client.session_transaction() as session:
        assert page.split("/feeds/")[1].split(".ics")[0] not in repr(dict(session))
    token = db.session.scalar(select(FeedToken).where(FeedToken.created_by_id == contact.id))
    assert token.kind == FeedKind.organisation and token.organisation_id == world.e1.id
    https = [part for part in page.split('value="') if part.startswith("http://linghang.test/feeds/")][0].split('"')[0]
    assert "webcal://linghang.test/feeds/" in page and "<svg" in page
    assert hashlib.sha256(https.rsplit("/", 1)[1][:-4].encode()).hexdigest() == token.token_hash
    assert client.get(https.replace("http://linghang.test", "")).status_code == 200
    # Shown once: the next visit lists the link by name only.
    again = client.get("/subscribe").get_data(as_text=True)
    assert https not in again and "办公室 Outlook" in again


def test_contact_cannot_subscribe_to_another_enterprise(world, client, login_as):
    login_as(factories.user(Role.contact, org=world.e1))
    before = db.session.scalar(select(func.count(FeedToken.id)))
    response = client.post("/subscribe", data={"name": "偷看", "subject": f"org:{world.e2.id}"})
    assert response.status_code == 400
    assert db.session.scalar(select(func.count(FeedToken.id))) == before
    staff = factories.user(Role.organiser, org=world.committee)
    other, _plain = services.create_token(staff, "宁德", organisation=world.e2, now=utcnow())
    db.session.commit()
    assert client.post(f"/subscribe/{other.id}/revoke").status_code == 404
    assert client.post(f"/subscribe/{other.id}/rotate").status_code == 404
    assert "宁德" not in client.get("/subscribe").get_data(as_text=True)


def test_liaison_may_subscribe_to_own_department_only(world, client, login_as):
    login_as(factories.user(Role.liaison, org=world.dept))
    page = client.get("/subscribe").get_data(as_text=True)
    assert world.dept.name in page and world.e1.name not in page
    response = client.post("/subscribe", data={"name": "税务", "subject": f"org:{world.dept.id}"})
    assert response.status_code == 200
    token = db.session.scalar(select(FeedToken).where(FeedToken.name == "税务"))
    assert token.kind == FeedKind.department and token.organisation_id == world.dept.id
    assert client.post("/subscribe", data={"name": "x", "subject": f"org:{world.e1.id}"}).status_code == 400


def test_organiser_may_subscribe_to_any_organisation(world, client, login_as):
    login_as(factories.user(Role.organiser, org=world.committee))
    page = client.get("/subscribe").get_data(as_text=True)
    assert all(o.name in page for o in (world.e1, world.e2, world.dept, world.alliance))
    response = client.post("/subscribe", data={"name": "联盟", "subject": f"org:{world.alliance.id}"})
    assert response.status_code == 200
    token = db.session.scalar(select(FeedToken).where(FeedToken.name == "联盟"))
    assert token.kind == FeedKind.alliance


def test_empty_name_is_refused(world, client, login_as):
    login_as(factories.user(Role.contact, org=world.e1))
    response = client.post("/subscribe", data={"name": " ", "subject": f"org:{world.e1.id}"})
    assert response.status_code == 400
    assert db.session.scalar(select(func.count(FeedToken.id))) == 0


def test_rotate_replaces_and_revoke_stops(world, client, login_as):
    contact = login_as(factories.user(Role.contact, org=world.e1))
    token, plain = services.create_token(contact, "手机", person=contact.person, now=utcnow())
    db.session.commit()
    assert client.get(services.feed_path(plain)).status_code == 200
    response = client.post(f"/subscribe/{token.id}/rotate")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert client.get(services.feed_path(plain)).status_code == 404
    fresh = db.session.scalar(select(FeedToken).where(FeedToken.revoked_at.is_(None), FeedToken.name == "手机"))
    assert fresh.id != token.id and fresh.person_id == contact.person_id
    new_path = "/feeds/" + page.split("/feeds/")[1].split('"')[0]
    assert new_path not in client.get("/subscribe").get_data(as_text=True)  # shown once
    assert client.get(new_path).status_code == 200
    assert client.post(f"/subscribe/{fresh.id}/revoke").status_code == 302
    assert client.get(new_path).status_code == 404


# -- CLI -------------------------------------------------------------------------

def test_cli_prints_a_working_url_and_reuses_it(world, runner, client):
    first = runner.invoke(args=["feeds", "url", "--org", world.e1.name])
    assert first.exit_code == 0, first.output
    url = first.output.strip()
    assert url.startswith("http://linghang.test/feeds/") and url.endswith(".ics")
    assert client.get(url.replace("http://linghang.test", "")).status_code == 200
    assert runner.invoke(args=["feeds", "url", "--org", world.e1.name]).output.strip() == url
    token = db.session.scalar(select(FeedToken).where(FeedToken.name == "CLI"))
    services.revoke_token(None, token, utcnow())
    db.session.commit()
    rotated = runner.invoke(args=["feeds", "url", "--org", world.e1.name]).output.strip()
    assert rotated != url and client.get(rotated.replace("http://linghang.test", "")).status_code == 200
    for args in (["--person", world.p1.email], ["--alliance", world.alliance.name],
                 ["--department", world.dept.name]):
        result = runner.invoke(args=["feeds", "url", *args])
        assert result.exit_code == 0, result.output
        assert client.get(result.output.strip().replace("http://linghang.test", "")).status_code == 200
    assert runner.invoke(args=["feeds", "url", "--public"]).output.strip() == "http://linghang.test/feeds/public.ics"
    assert runner.invoke(args=["feeds", "url", "--alliance", world.e1.name]).exit_code != 0
    assert runner.invoke(args=["feeds", "url"]).exit_code != 0


# -- one activity ------------------------------------------------------------------

def test_activity_page_offers_ics_and_add_to_calendar(world, client, login_as):
    login_as(factories.user(Role.contact, org=world.e1))
    page = client.get(f"/activities/{world.visit_e1.id}").get_data(as_text=True)
    assert f"/activities/{world.visit_e1.id}.ics" in page
    assert "calendar.google.com" in page and "outlook.live.com" in page
    response = client.get(f"/activities/{world.visit_e1.id}.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    (events,) = read_all([response.data])
    assert [e["uid"] for e in events] == [world.uid(world.visit_e1)]
    assert b"METHOD:PUBLISH" in response.data
    assert client.get(f"/activities/{world.visit_e2.id}.ics").status_code == 404
    assert client.get(f"/activities/{world.draft.id}.ics").status_code == 404
    check_lines(response.data)


# -- awkward titles, property-based --------------------------------------------------

TITLE_CHARS = st.one_of(
    st.sampled_from(list(",;\\\n:\"'<>&中文党建联盟🎉😀👩‍💻 ")),
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Co", "Cn")),
)
TITLES = st.text(TITLE_CHARS, min_size=1, max_size=60).filter(lambda t: t.strip())


def test_titles_that_break_calendars(app):
    now = utcnow()
    titles = ["C:\\New folder", "\\N", "a\\,b", "减税;降费,政策\n宣讲 🎉", "\\n\\\\", "“引号” \"quotes\"", "末尾空格 "]
    host = factories.organisation(OrgKind.committee)
    for n, title in enumerate(titles):
        factories.activity(title=title, host=host, starts_at=now + timedelta(days=1, hours=n), updated_at=now)
    db.session.commit()
    (events,) = read_all([render_feed(FeedScope(PUBLIC), now).body])
    assert [e["summary"] for e in events] == titles


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(titles=st.lists(TITLES, min_size=20, max_size=20))
def test_awkward_titles_read_the_same_in_three_parsers(app, titles):
    now = utcnow()
    host = factories.organisation(OrgKind.committee)
    start = now + timedelta(days=3)
    for n, title in enumerate(titles):
        factories.activity(title=title, host=host, starts_at=start + timedelta(hours=n), updated_at=now)
    try:
        body = render_feed(FeedScope(PUBLIC), now).body
        (events,) = read_all([body])  # one Node run for the whole batch
        assert [e["summary"] for e in events] == titles
        assert [e["start"] for e in events] == [
            (start + timedelta(hours=n)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") for n in range(len(titles))
        ]
    finally:
        db.session.rollback()


# -- the shared builder ---------------------------------------------------------------

def test_builder_quotes_parameters_and_keeps_method_a_parameter(app):
    now = utcnow()
    host = factories.organisation("committee", name="王, 五")
    guest = factories.person(name='李"四";', email="li@example.com")
    activity = factories.activity(title="圆桌会", host=host, starts_at=now + timedelta(days=2), updated_at=now)
    db.session.commit()
    with app.test_request_context():
        event = build_vevent(activity, base_url="https://linghang.example.gov.cn", attendee=guest)
        body = build_calendar([event], method="request").to_ical()
    text = body.decode().replace("\r\n ", "")
    assert "METHOD:REQUEST" in text
    assert f"UID:activity-{activity.id}@linghang.example.gov.cn" in text
    assert 'ORGANIZER;CN="王, 五":mailto:linghang@localhost' in text
    attendee = [line for line in text.split("\r\n") if line.startswith("ATTENDEE")][0]
    assert "PARTSTAT=NEEDS-ACTION" in attendee and "RSVP=TRUE" in attendee and "ROLE=REQ-PARTICIPANT" in attendee
    assert attendee.endswith(":mailto:li@example.com")
    (events,) = read_all([body])
    assert events[0]["summary"] == "圆桌会"
    parsed = icalendar.Calendar.from_ical(body).walk("VEVENT")[0]
    assert parsed["ORGANIZER"].params["CN"] == "王, 五"
    assert parsed["ATTENDEE"].params["CN"] == '李"四";'
