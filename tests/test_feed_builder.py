"""The feeds' text builder writes byte for byte what icalendar writes, and every parser reads it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar.parser.string import _foldline

from app.core.clock import utcnow
from app.events.models import ActivityKind, ActivityStatus, VisitKind
from app.events.series import occurrences
from app.extensions import db
from app.feeds.cache import feed_cache
from app.feeds.content import PUBLIC, FeedScope, scope_for
from app.feeds.models import FeedKind
from app.feeds.rendering import render_feed, render_reference
from app.invitations import services as invitations
from app.orgs.models import OrgKind
from tests import factories
from tests.icalcheck import check_lines, read_all
from tests.test_feeds import World
from tests.test_series_words import alliance_tea  # noqa: F401 - fixture

__all__ = ["alliance_tea"]

FOLD_CHARS = st.sampled_from(list("ab,;:\\^\"' 中文党建联盟🎉😀é") + ["\\n", "👩‍💻"])


@settings(max_examples=300, deadline=None)
@given(st.lists(FOLD_CHARS, max_size=120).map("".join), st.sampled_from(["SUMMARY:", "DESCRIPTION:", "X:"]))
def test_fold_is_icalendars_fold(text, name):
    from app.ical.fast import fold

    line = name + text
    assert fold(line.encode()) == _foldline(line).encode()


def awkward(world: World, now) -> None:
    """Activities whose lines fold at awkward places: escapes, carets, emoji, long agendas."""
    host = world.committee
    titles = [
        "减税降费政策宣讲会：出海, 合规; 与融资 \\ 反斜杠在折行处附近的标题，再长一点点点点点点",
        "a" * 70 + "\\,b",
        "^" * 80,
        "🎉" * 30 + "党建联盟",
        "C:\\New folder\\^caret^ 引号“” \"quotes\"",
    ]
    for n, title in enumerate(titles):
        factories.activity(
            title=title, host=host, alliance=world.alliance, starts_at=now + timedelta(days=2, hours=n),
            agenda=("一、政策解读；二、企业交流，三、问题收集\n" * (n + 1)) + "\\末尾",
            description="详情见附件,;\\" * n, location_note="二楼东侧" if n % 2 else None, updated_at=now,
        )
    cancelled = factories.activity(title="台风取消的沙龙", host=host, alliance=world.alliance,
                                   starts_at=now + timedelta(days=4), updated_at=now, sequence=2,
                                   status=ActivityStatus.cancelled)
    cancelled.status_reason = "台风“海葵”过境，改期另行通知"
    factories.activity(title="走访，带地址", kind=ActivityKind.visit, visit_kind=VisitKind.outreach, host=host,
                       site=world.e1, starts_at=now + timedelta(days=5), updated_at=now)
    world.e1.address = "宜春市袁州区春风路1号, 3栋"
    db.session.commit()


def scopes(world: World, people) -> list[FeedScope]:
    return [
        FeedScope(PUBLIC),
        scope_for(FeedKind.organisation, organisation=world.e1),
        scope_for(FeedKind.alliance, organisation=world.alliance),
        scope_for(FeedKind.department, organisation=world.dept),
        scope_for(FeedKind.person, person=world.p1),
        scope_for(FeedKind.person, person=people[0]),  # a whole series as one entry
        scope_for(FeedKind.organisation, organisation=people[0].organisation),
    ]


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "America/New_York", "Europe/London", "UTC"])
def test_fast_feeds_equal_icalendars_bytes_and_parse_everywhere(app, alliance_tea, zone):  # noqa: F811
    alliance, people, series = alliance_tea
    feed_cache().clear()
    now = utcnow()
    world = World(now)
    awkward(world, now)
    # The series: invited as a whole, one meeting cancelled, one moved and retitled.
    rows = occurrences(series)
    invitations.invite_series(rows[0], invitations.Selection(alliance_ids=[alliance.id]), now=now)
    rows[2].status, rows[2].sequence = ActivityStatus.cancelled, 1
    rows[3].starts_at += timedelta(hours=1)
    rows[3].ends_at += timedelta(hours=1)
    rows[3].title = "下午茶（改到三点，地点不变）"
    db.session.commit()
    app.config["DISPLAY_TIMEZONE"] = zone
    try:
        bodies = []
        for scope in scopes(world, people):
            fast = render_feed(scope, now).body
            assert fast == render_reference(scope, now), scope
            check_lines(fast)
            bodies.append(fast)
    finally:
        app.config["DISPLAY_TIMEZONE"] = "Asia/Shanghai"
    assert b"RRULE:" in bodies[5] and b"RECURRENCE-ID" in bodies[5] and b"EXDATE" in bodies[5]
    assert b"\r\n " in bodies[0]  # long lines were folded
    read_all(bodies)  # icalendar, vobject, Home Assistant's ical and ical.js read them all


def test_an_empty_feed_is_the_same_too(app):
    person = factories.person(factories.organisation(OrgKind.enterprise), name="无活动的人")
    db.session.commit()
    scope = scope_for(FeedKind.person, person=person)
    now = utcnow()
    assert render_feed(scope, now).body == render_reference(scope, now)
