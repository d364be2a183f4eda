"""Two organisers at once: a venue is never double-booked, transitions have one winner, stale edits are refused.

Every race runs through the HTTP test client with two logged-in organisers whose requests start
together behind a threading.Barrier. On PostgreSQL the venue row is locked (SELECT … FOR UPDATE)
and an exclusion constraint (migration 0800) refuses overlapping published activities even when
the service is bypassed; on SQLite the service's first write takes the database's write lock.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.events.models import (
    VENUE_EXCLUSION,
    Activity,
    ActivityKind,
    ActivitySeries,
    ActivityStatus,
)
from app.extensions import db
from app.orgs.models import OrgKind
from tests import factories
from tests.conftest import RequestContextClient

SH = ZoneInfo("Asia/Shanghai")
ROUNDS = 20
CLASH = "该场地在此时段已被占用"
STALE = "他人"


@pytest.fixture
def world(app):
    """A committee, a venue and two organisers, each logged in on a client of their own."""
    committee = factories.organisation(OrgKind.committee)
    venue = factories.venue(capacity=30)
    organisers = [factories.user("organiser"), factories.user("organiser")]
    db.session.commit()
    app.test_client_class = RequestContextClient
    clients = []
    for organiser in organisers:
        client = app.test_client()
        response = client.post("/login", data={"email": organiser.email, "password": factories.PASSWORD})
        assert response.status_code == 302
        clients.append(client)
    return {"committee": committee, "venue": venue, "clients": clients}


def booking(world, day: date, **overrides) -> dict[str, str]:
    """The activity form for the venue on a day, 09:30–11:30."""
    values = {
        "kind": "roundtable", "visit_kind": "", "title": "圆桌会", "starts_at": f"{day}T09:30",
        "ends_at": f"{day}T11:30", "theme_id": "0", "host_id": str(world["committee"].id),
        "alliance_id": "0", "venue_id": str(world["venue"].id), "site_id": "0", "location_note": "",
        "capacity": "20", "agenda": "议程", "description": "", "rrule": "", "exception_days": "",
        "scope": "this", "override_reason": "", "action": "publish",
    }
    values.update(overrides)
    return values


def at_once(app, calls):
    """Run (client, method, url, data) requests together, each in its own thread; return the responses."""
    start = threading.Barrier(len(calls))

    def run(call):
        client, method, url, data = call
        with app.app_context():
            start.wait(timeout=30)
            response = getattr(client, method)(url, data=data)
            return response.status_code, response.get_data(as_text=True)

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def published_at(venue_id: int, day: date) -> int:
    starts = datetime(day.year, day.month, day.day, 9, 30, tzinfo=SH)
    return db.session.scalar(
        select(func.count()).select_from(Activity).where(
            Activity.venue_id == venue_id, Activity.starts_at == starts, Activity.status == ActivityStatus.published
        )
    )


def test_two_organisers_booking_one_venue_at_once_never_both_win(app, world):
    a, b = world["clients"]
    for round_ in range(ROUNDS):
        day = date(2026, 12, 1) + timedelta(days=round_)
        answers = at_once(app, [
            (a, "post", "/activities/new", booking(world, day, title=f"甲{round_}")),
            (b, "post", "/activities/new", booking(world, day, title=f"乙{round_}")),
        ])
        statuses = sorted(status for status, _page in answers)
        assert statuses == [200, 302], f"round {round_}: {statuses}"
        loser = next(page for status, page in answers if status == 200)
        assert CLASH in loser
        db.session.expire_all()
        assert published_at(world["venue"].id, day) == 1
    assert db.session.scalar(select(func.count()).select_from(Activity)) == ROUNDS


def _published(venue, starts: datetime, **fields) -> Activity:
    return factories.activity(starts_at=starts, venue=venue, status=ActivityStatus.published, **fields)


def test_the_database_itself_refuses_a_double_booking_on_postgresql(app, backend):
    """Written directly, past the services' lock and check: PostgreSQL's constraint still refuses it."""
    venue = factories.venue()
    starts = datetime(2026, 12, 16, 9, 0, tzinfo=SH)
    _published(venue, starts)
    db.session.commit()
    # What the constraint leaves alone: a draft, a cancelled one, an explicit override, another venue.
    factories.activity(starts_at=starts, venue=venue, status=ActivityStatus.draft)
    factories.activity(starts_at=starts, venue=venue, status=ActivityStatus.cancelled)
    _published(venue, starts, venue_override=True)
    _published(factories.venue(), starts)
    _published(venue, starts + timedelta(hours=2))  # starts when the first ends: no overlap
    db.session.commit()
    if backend == "sqlite":
        # SQLite has no exclusion constraint: there only the services' write lock keeps bookings apart.
        _published(venue, starts + timedelta(hours=1))
        db.session.commit()
        return
    with pytest.raises(sa.exc.IntegrityError, match=VENUE_EXCLUSION):
        _published(venue, starts + timedelta(hours=1))
    db.session.rollback()
    draft = factories.activity(starts_at=starts + timedelta(hours=1), venue=venue, status=ActivityStatus.draft)
    db.session.commit()
    draft.status = ActivityStatus.published
    with pytest.raises(sa.exc.IntegrityError, match=VENUE_EXCLUSION):
        db.session.commit()
    db.session.rollback()


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_constraint_violation_is_the_usual_venue_refusal_not_a_500(app, world, monkeypatch):
    """With the services' lock and check switched off, PostgreSQL's constraint alone refuses the second booking."""
    monkeypatch.setattr("app.events.services.check_conflicts", lambda data, exclude_id, override_reason: [])
    a, b = world["clients"]
    day = date(2026, 12, 16)
    assert a.post("/activities/new", data=booking(world, day, title="先到")).status_code == 302
    response = b.post("/activities/new", data=booking(world, day, title="后到"))
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and CLASH in page and "先到" in page
    assert db.session.scalar(select(func.count()).select_from(Activity)) == 1
    # Moving a published activity onto the first: refused by the constraint at the update.
    assert b.post("/activities/new", data=booking(world, day, title="下午场", starts_at=f"{day}T14:00", ends_at=f"{day}T16:00")).status_code == 302
    moving = db.session.scalar(select(Activity).where(Activity.title == "下午场"))
    response = b.post(f"/activities/{moving.id}/reschedule", data={"starts_at": f"{day}T10:00", "ends_at": f"{day}T12:00"})
    assert response.status_code == 200 and CLASH in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Activity, moving.id).starts_at == datetime(2026, 12, 16, 14, 0, tzinfo=SH)
    # The same through racing threads: one wins each round, the other gets the refusal.
    for round_ in range(5):
        day = date(2027, 1, 4) + timedelta(days=round_)
        answers = at_once(app, [
            (a, "post", "/activities/new", booking(world, day)),
            (b, "post", "/activities/new", booking(world, day)),
        ])
        assert sorted(status for status, _page in answers) == [200, 302]
        assert CLASH in next(page for status, page in answers if status == 200)
        db.session.expire_all()
        assert published_at(world["venue"].id, day) == 1


def _hidden(page: str, name: str) -> str:
    marker = f'name="{name}" type="hidden" value="'
    start = page.index(marker) + len(marker)
    return page[start:page.index('"', start)]


def test_two_editors_of_one_activity_the_second_is_refused_with_what_changed(app, world):
    activity = factories.activity(
        kind=ActivityKind.roundtable, title="原标题", host=world["committee"], venue=world["venue"],
        starts_at=datetime(2026, 12, 16, 9, 30, tzinfo=SH), status=ActivityStatus.draft,
    )
    db.session.commit()
    a, b = world["clients"]
    opened = [client.get(f"/activities/{activity.id}/edit").get_data(as_text=True) for client in (a, b)]
    seen = [{"version": _hidden(page, "version"), "seen": _hidden(page, "seen")} for page in opened]
    day = date(2026, 12, 16)
    first = a.post(f"/activities/{activity.id}/edit", data=booking(
        world, day, title="甲改的标题", starts_at="2026-12-16T14:00", ends_at="2026-12-16T16:00", action="save", **seen[0],
    ))
    assert first.status_code == 302
    second = b.post(f"/activities/{activity.id}/edit", data=booking(
        world, day, title="乙改的标题", agenda="乙的议程", action="save", **seen[1],
    ))
    page = second.get_data(as_text=True)
    assert second.status_code == 200 and STALE in page
    assert "标题：现为 甲改的标题" in page and "时间：现为" in page and "14:00" in page
    assert "地点" not in page.split(STALE, 1)[1].split("</div>", 1)[0]  # the place did not change
    db.session.expire_all()
    saved = db.session.get(Activity, activity.id)
    assert (saved.title, saved.agenda) == ("甲改的标题", "议程")
    updates = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "update")).all()
    assert len(updates) == 1
    # Reopened, the second editor's save goes through.
    reopened = b.get(f"/activities/{activity.id}/edit").get_data(as_text=True)
    fresh = {"version": _hidden(reopened, "version"), "seen": _hidden(reopened, "seen")}
    again = b.post(f"/activities/{activity.id}/edit", data=booking(
        world, day, title="乙改的标题", starts_at="2026-12-16T14:00", ends_at="2026-12-16T16:00", action="save", **fresh,
    ))
    assert again.status_code == 302
    db.session.expire_all()
    assert db.session.get(Activity, activity.id).title == "乙改的标题"


def test_a_reschedule_form_opened_before_an_edit_is_refused(app, world):
    activity = factories.activity(
        kind=ActivityKind.roundtable, host=world["committee"], venue=world["venue"],
        starts_at=datetime(2026, 12, 16, 9, 30, tzinfo=SH), status=ActivityStatus.published,
    )
    db.session.commit()
    a, b = world["clients"]
    page = b.get(f"/activities/{activity.id}/reschedule").get_data(as_text=True)
    seen = {"version": _hidden(page, "version"), "seen": _hidden(page, "seen")}
    assert a.post(f"/activities/{activity.id}/edit", data=booking(
        world, date(2026, 12, 16), title="新标题", location_note="二楼", action="save",
    )).status_code == 302
    response = b.post(f"/activities/{activity.id}/reschedule", data={
        "starts_at": "2026-12-18T09:30", "ends_at": "2026-12-18T11:30", "reason": "改期", **seen,
    })
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and STALE in page and "标题：现为 新标题" in page and "地点：现为" in page
    db.session.expire_all()
    assert db.session.get(Activity, activity.id).starts_at == datetime(2026, 12, 16, 9, 30, tzinfo=SH)


def test_two_editors_saving_at_once_one_wins(app, world):
    activity = factories.activity(
        kind=ActivityKind.roundtable, host=world["committee"], venue=world["venue"],
        starts_at=datetime(2026, 12, 16, 9, 30, tzinfo=SH), status=ActivityStatus.draft,
    )
    db.session.commit()
    a, b = world["clients"]
    day = date(2026, 12, 16)
    for round_ in range(5):
        page = a.get(f"/activities/{activity.id}/edit").get_data(as_text=True)
        seen = {"version": _hidden(page, "version"), "seen": _hidden(page, "seen")}
        answers = at_once(app, [
            (a, "post", f"/activities/{activity.id}/edit", booking(world, day, title=f"甲{round_}", action="save", **seen)),
            (b, "post", f"/activities/{activity.id}/edit", booking(world, day, title=f"乙{round_}", action="save", **seen)),
        ])
        assert sorted(status for status, _page in answers) == [200, 302]
        assert STALE in next(page for status, page in answers if status == 200)
        db.session.expire_all()
        winner = "甲" if answers[0][0] == 302 else "乙"
        assert db.session.get(Activity, activity.id).title == f"{winner}{round_}"


@pytest.mark.parametrize("second", ["cancel", "publish"])
def test_publish_and_cancel_of_one_activity_at_once_one_wins(app, world, second):
    a, b = world["clients"]
    for round_ in range(10):
        activity = factories.activity(
            host=world["committee"], starts_at=datetime(2026, 12, 1, 9, 0, tzinfo=SH) + timedelta(days=round_),
            status=ActivityStatus.draft,
        )
        db.session.commit()
        version = str(activity.version)
        answers = at_once(app, [
            (a, "post", f"/activities/{activity.id}/publish", {"version": version}),
            (b, "post", f"/activities/{activity.id}/{second}", {"version": version, "reason": "临时取消"}),
        ])
        statuses = sorted(status for status, _page in answers)
        assert statuses == [302, 409], f"round {round_}: {statuses}"
        assert STALE in next(page for status, page in answers if status == 409)
        db.session.expire_all()
        final = db.session.get(Activity, activity.id)
        transitions = db.session.scalars(
            select(AuditEntry.action).where(AuditEntry.entity_id == activity.id, AuditEntry.action.in_(["publish", "cancel"]))
        ).all()
        assert len(transitions) == 1
        assert final.status == {"publish": ActivityStatus.published, "cancel": ActivityStatus.cancelled}[transitions[0]]


def test_cancelling_an_occurrence_while_another_edits_the_following_ones(app, world):
    """Both take the series, then the occurrence: one wins, the other is refused, no deadlock, no mix."""
    a, b = world["clients"]
    for round_ in range(5):
        first = date(2026, 12, 4) + timedelta(weeks=round_ * 5)
        response = a.post("/activities/new", data=booking(
            world, first, title=f"周五茶叙{round_}", rrule="FREQ=WEEKLY;COUNT=4", venue_id="0", action="publish",
        ))
        assert response.status_code == 302
        db.session.expire_all()
        series = db.session.scalars(select(ActivitySeries).order_by(ActivitySeries.id.desc())).first()
        second = db.session.scalars(
            select(Activity).where(Activity.series_id == series.id).order_by(Activity.starts_at)
        ).all()[1]
        page = b.get(f"/activities/{second.id}/edit").get_data(as_text=True)
        seen = {"version": _hidden(page, "version"), "seen": _hidden(page, "seen")}
        day = second.starts_at.astimezone(SH).date()
        answers = at_once(app, [
            (a, "post", f"/activities/{second.id}/cancel", {"version": seen["version"], "reason": "场地维修"}),
            (b, "post", f"/activities/{second.id}/edit", booking(
                world, day, title=f"改名{round_}", venue_id="0", scope="following", action="save", **seen,
            )),
        ])
        statuses = [status for status, _page in answers]
        assert statuses in ([302, 200], [409, 302]), f"round {round_}: {statuses}"
        db.session.expire_all()
        row = db.session.get(Activity, second.id)
        if statuses[0] == 302:  # the cancel won: the edit changed nothing
            assert STALE in answers[1][1]
            assert (row.status, row.title) == (ActivityStatus.cancelled, f"周五茶叙{round_}")
        else:  # the edit won: the occurrence is not cancelled
            assert STALE in answers[0][1]
            assert row is None or row.status != ActivityStatus.cancelled
            titles = db.session.scalars(select(Activity.title).where(Activity.starts_at >= second.starts_at)).all()
            assert f"改名{round_}" in titles
