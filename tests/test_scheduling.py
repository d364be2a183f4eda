"""Activities' life cycle and iCal SEQUENCE, series against an independent expander, conflicts, slots."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import recurring_ical_events
from icalendar import Calendar
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.core.errors import ValidationFailed
from app.events import series as series_services
from app.events.checks import ActivityInput, VenueTaken
from app.events.conflicts import organisation_conflicts, venue_conflicts
from app.events.models import Activity, ActivityKind, ActivitySeries, ActivityStatus, VisitKind
from app.events.services import (
    cancel_activity,
    complete_activity,
    create_activity,
    input_of,
    publish_activity,
    reschedule_activity,
    update_activity,
)
from app.events.signals import activity_cancelled, activity_published, activity_updated
from app.events.slots import find_slots, parse_working_hours
from app.extensions import db
from app.orgs.models import OrgKind
from app.workcal.services import is_official, is_working_day
from tests import factories

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)


def local(*args) -> datetime:
    return datetime(*args, tzinfo=SH)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def make_input(kind=ActivityKind.salon, start=None, hours=2.0, **fields) -> ActivityInput:
    start = start or local(2026, 3, 12, 14, 30)
    if "host_id" not in fields:
        fields["host_id"] = factories.organisation(OrgKind.committee).id
    if kind == ActivityKind.visit:
        fields.setdefault("visit_kind", VisitKind.outreach)
        if fields.get("site_id") is None and fields.get("venue_id") is None:
            fields["site_id"] = factories.organisation(OrgKind.enterprise).id
    return ActivityInput(kind=kind, title=fields.pop("title", f"{kind.value} 活动"), starts_at=start,
                         ends_at=start + timedelta(hours=hours), **fields)


@pytest.fixture
def signals():
    received: list[tuple[str, dict]] = []

    def listener(name):
        def receive(sender, **kwargs):
            received.append((name, kwargs))
        return receive

    handlers = {s: listener(n) for s, n in [(activity_published, "published"), (activity_updated, "updated"), (activity_cancelled, "cancelled")]}
    for sig, handler in handlers.items():
        sig.connect(handler)
    yield received
    for sig, handler in handlers.items():
        sig.disconnect(handler)


# -- life cycle and SEQUENCE ------------------------------------------------------------------

@pytest.mark.parametrize("kind", list(ActivityKind))
def test_life_cycle_of_every_kind_and_exact_sequence(app, kind, signals):
    venue = factories.venue(capacity=40) if kind != ActivityKind.visit else None
    data = make_input(kind, venue_id=venue.id if venue else None, agenda="议程")
    activity = create_activity(data, now=NOW).activity
    assert (activity.status, activity.sequence, activity.updated_at) == (ActivityStatus.draft, 0, NOW)

    # While a draft, nothing has been sent: even a time change keeps SEQUENCE at 0.
    draft_edit = input_of(activity)
    draft_edit.starts_at += timedelta(hours=1)
    draft_edit.ends_at += timedelta(hours=1)
    update_activity(activity, draft_edit, now=NOW + timedelta(minutes=1))
    assert activity.sequence == 0

    publish_activity(activity, now=NOW + timedelta(minutes=2))
    assert (activity.status, activity.sequence) == (ActivityStatus.published, 0)
    assert signals[-1][0] == "published"

    # An agenda typo is not attendee-visible: no SEQUENCE change, no update signal, but audited.
    typo = input_of(activity)
    typo.agenda = "议程（修订）"
    update_activity(activity, typo, now=NOW + timedelta(minutes=3))
    assert activity.sequence == 0
    assert activity.updated_at == NOW + timedelta(minutes=3)
    assert [name for name, _ in signals] == ["published"]

    later = activity.starts_at + timedelta(days=2)
    reschedule_activity(activity, later, later + timedelta(hours=2), reason="领导出差，延期两天", now=NOW + timedelta(minutes=4))
    assert activity.sequence == 1
    assert activity.status_reason == "领导出差，延期两天"
    assert signals[-1][0] == "updated" and set(signals[-1][1]["changes"]) >= {"starts_at", "ends_at"}
    assert signals[-1][1]["now"] == NOW + timedelta(minutes=4)

    # Place change (location note) is visible: +1, once even with several fields.
    place = input_of(activity)
    place.location_note = "二楼"
    place.capacity = 30
    update_activity(activity, place, now=NOW + timedelta(minutes=5))
    assert activity.sequence == 2

    if kind in (ActivityKind.salon, ActivityKind.visit):
        cancel_activity(activity, reason="台风预警", now=NOW + timedelta(minutes=6))
        assert (activity.status, activity.sequence, activity.status_reason) == (ActivityStatus.cancelled, 3, "台风预警")
        assert signals[-1] == ("cancelled", {"now": NOW + timedelta(minutes=6), "reason": "台风预警"})
    else:
        with pytest.raises(ValidationFailed):
            complete_activity(activity, now=NOW)  # not started yet
        complete_activity(activity, now=activity.starts_at + timedelta(hours=3))
        assert (activity.status, activity.sequence) == (ActivityStatus.completed, 2)
    with pytest.raises(ValidationFailed):
        update_activity(activity, input_of(activity), now=NOW)
    db.session.commit()
    actions = [e.action for e in db.session.scalars(select(AuditEntry).where(AuditEntry.entity_type == "activity").order_by(AuditEntry.id))]
    assert actions[:5] == ["create", "update", "publish", "update", "reschedule"]
    typo_entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "update").order_by(AuditEntry.id)).all()[1]
    assert set(typo_entry.changes) == {"agenda"}


def test_cancelling_a_draft_keeps_sequence_and_needs_a_reason(app):
    activity = create_activity(make_input(), now=NOW).activity
    with pytest.raises(ValidationFailed):
        cancel_activity(activity, reason="  ", now=NOW)
    cancel_activity(activity, reason="取消", now=NOW)
    assert (activity.status, activity.sequence) == (ActivityStatus.cancelled, 0)
    with pytest.raises(ValidationFailed):
        publish_activity(activity, now=NOW)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"ends_at": local(2026, 3, 12, 14, 0)}, "ends_at"),
        ({"ends_at": local(2026, 3, 12, 14, 30)}, "ends_at"),
        ({"starts_at": local(1999, 12, 31, 9, 0), "ends_at": local(1999, 12, 31, 10, 0)}, "starts_at"),
        ({"starts_at": local(2101, 1, 2, 9, 0), "ends_at": local(2101, 1, 2, 10, 0)}, "starts_at"),
        ({"venue_id": 99999}, "venue_id"),
        ({"theme_id": 99999}, "theme_id"),
        ({"alliance_id": 99999}, "alliance_id"),
        ({"cohost_ids": [99999]}, "cohost_ids"),
        ({"capacity": 0}, "capacity"),
    ],
)
def test_bad_input_is_refused_and_nothing_written(app, change, field):
    data = make_input()
    for key, value in change.items():
        setattr(data, key, value)
    before = (count(Activity), count(AuditEntry))
    with pytest.raises(ValidationFailed) as failure:
        create_activity(data, now=NOW)
    assert failure.value.field == field
    assert failure.value.message
    assert (count(Activity), count(AuditEntry)) == before


# -- series -----------------------------------------------------------------------------------

def independent_starts(series: ActivitySeries, start: date, end: date) -> list[datetime]:
    """Expand the exported VEVENT (RRULE + EXDATE) with recurring-ical-events."""
    calendar = Calendar()
    calendar.add("prodid", "-//test//")
    calendar.add("version", "2.0")
    calendar.add_component(series_services.to_vevent(series, f"series-{series.id}@test", "系列"))
    parsed = Calendar.from_ical(calendar.to_ical())
    events = recurring_ical_events.of(parsed).between(start, end)
    return sorted(e["DTSTART"].dt.astimezone(UTC) for e in events)


def live_starts(series: ActivitySeries) -> list[datetime]:
    return [a.recurrence_id for a in series_services.occurrences(series) if a.status != ActivityStatus.cancelled]


def test_monthly_second_thursday_series_matches_an_independent_expansion(app):
    venue = factories.venue()
    data = make_input(ActivityKind.themed_day, start=local(2026, 1, 8, 14, 30), venue_id=venue.id)
    series, results = series_services.create_series(
        data, "FREQ=MONTHLY;BYDAY=2TH;UNTIL=20261231", exception_days=[date(2026, 2, 12)], now=NOW
    )
    db.session.commit()
    starts = [r.activity.starts_at for r in results]
    assert len(starts) == 11  # twelve second Thursdays minus the February exception
    assert all(to.astimezone(SH).time() == time(14, 30) and to.astimezone(SH).weekday() == 3 for to in starts)
    assert live_starts(series) == independent_starts(series, date(2025, 12, 1), date(2027, 2, 1))

    # Cancel one occurrence: it stays as a cancelled activity and becomes an EXDATE.
    may = next(a for a in series_services.occurrences(series) if a.starts_at.astimezone(SH).month == 5)
    publish_activity(may, now=NOW)
    series_services.cancel_occurrence(may, reason="与上级会议冲突", now=NOW)
    assert (may.status, may.sequence) == (ActivityStatus.cancelled, 1)
    assert live_starts(series) == independent_starts(series, date(2025, 12, 1), date(2027, 2, 1))
    assert len(live_starts(series)) == 10

    # Edit one occurrence only: the others keep their time.
    june = next(a for a in series_services.occurrences(series) if a.starts_at.astimezone(SH).month == 6)
    one = input_of(june)
    one.starts_at, one.ends_at = local(2026, 6, 11, 9, 0), local(2026, 6, 11, 11, 0)
    series_services.edit_occurrence(june, one, now=NOW)
    assert june.series_id == series.id and june.recurrence_id.astimezone(SH) == local(2026, 6, 11, 14, 30)
    db.session.commit()


def test_this_and_following_splits_the_series(app):
    venue = factories.venue()
    data = make_input(ActivityKind.afternoon_tea, start=local(2026, 3, 6, 15, 0), hours=1.5, venue_id=venue.id)
    series, results = series_services.create_series(data, "FREQ=WEEKLY;BYDAY=FR;COUNT=10", now=NOW)
    series_services.publish_series(series, now=NOW)
    assert len(results) == 10
    fifth = series_services.occurrences(series)[4]
    before_ids = {a.id for a in series_services.occurrences(series)[4:]}
    new_values = input_of(fifth)
    new_values.starts_at, new_values.ends_at = local(2026, 4, 3, 16, 0), local(2026, 4, 3, 17, 0)
    new_values.title = "企业家下午茶（新时段）"
    new, _ = series_services.split_series(fifth, new_values, now=NOW + timedelta(hours=1))
    db.session.commit()
    old_rows, new_rows = series_services.occurrences(series), series_services.occurrences(new)
    assert len(old_rows) == 4 and len(new_rows) == 6
    assert {a.id for a in new_rows} == before_ids  # the same rows (and so their invitations) carry on
    assert all(a.starts_at.astimezone(SH).time() == time(16, 0) and a.sequence == 1 for a in new_rows)
    assert all(a.title == "企业家下午茶（新时段）" for a in new_rows)
    assert live_starts(series) == independent_starts(series, date(2026, 1, 1), date(2027, 1, 1))
    assert live_starts(new) == independent_starts(new, date(2026, 1, 1), date(2027, 1, 1))
    assert "COUNT=6" in new.rrule and "UNTIL" in series.rrule and new.parent_id == series.id


def test_this_and_following_with_a_new_rule_cancels_dropped_dates(app):
    data = make_input(ActivityKind.salon, start=local(2026, 3, 2, 9, 0))
    series, _ = series_services.create_series(data, "FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20260331", now=NOW)
    series_services.publish_series(series, now=NOW)
    rows = series_services.occurrences(series)
    third = rows[2]  # Mon 9 March
    values = input_of(third)
    new, _ = series_services.split_series(third, values, rule_value="FREQ=WEEKLY;BYDAY=MO;UNTIL=20260331", now=NOW)
    db.session.commit()
    dropped = [a for a in series_services.occurrences(new) if a.status == ActivityStatus.cancelled]
    assert [a.starts_at.astimezone(SH).day for a in dropped] == [11, 18, 25]
    assert live_starts(new) == independent_starts(new, date(2026, 1, 1), date(2027, 1, 1))
    assert live_starts(series) == independent_starts(series, date(2026, 1, 1), date(2027, 1, 1))


@pytest.mark.parametrize(
    "rule",
    ["FREQ=WEEKLY;BYDAY=FR", "NONSENSE", "FREQ=MONTHLY;BYMONTHDAY=31;BYMONTH=2;COUNT=3", "FREQ=DAILY;COUNT=900", "",
     "FREQ=WEEKLY;UNTIL=20200101", "FREQ=MONTHLY;UNTIL=20301231", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;COUNT=3"],
)
def test_bad_rules_are_refused_and_nothing_written(app, rule):
    data = make_input(start=local(2026, 3, 6, 15, 0))
    before = (count(Activity), count(ActivitySeries))
    with pytest.raises(ValidationFailed) as failure:
        series_services.create_series(data, rule, now=NOW)
    db.session.rollback()
    assert failure.value.field == "rrule"
    assert (count(Activity), count(ActivitySeries)) == before


# -- conflicts --------------------------------------------------------------------------------

def test_venue_conflict_blocks_unless_overridden_with_a_reason(app):
    venue = factories.venue(capacity=20)
    factories.activity(starts_at=local(2026, 3, 12, 15, 0), hours=1, venue=venue, title="已有沙龙")
    factories.activity(starts_at=local(2026, 3, 12, 16, 30), hours=1, venue=venue)  # touches the end: no overlap
    factories.activity(starts_at=local(2026, 3, 12, 14, 0), hours=1, venue=venue, status=ActivityStatus.cancelled)
    data = make_input(start=local(2026, 3, 12, 14, 30), venue_id=venue.id)
    before = count(Activity)
    with pytest.raises(VenueTaken) as failure:
        create_activity(data, now=NOW)
    assert "已有沙龙" in failure.value.message and len(failure.value.conflicts) == 1
    assert count(Activity) == before
    data.capacity = 50
    result = create_activity(data, now=NOW, override_reason="同一场地分两区")
    assert any("50" in w and "20" in w for w in result.warnings)
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.entity_id == result.activity.id)).one()
    assert "同一场地分两区" in entry.note
    assert len(venue_conflicts(venue.id, data.starts_at, data.ends_at, result.activity.id)) == 1
    # A reason given when nothing clashes is not recorded as an override.
    free = make_input(start=local(2026, 3, 13, 9, 0), venue_id=venue.id)
    quiet = create_activity(free, now=NOW, override_reason="以防万一").activity
    assert db.session.scalars(select(AuditEntry.note).where(AuditEntry.entity_id == quiet.id)).one() is None


def test_organisation_conflicts_warn_for_cohosts_hosts_and_sites(app):
    tax = factories.organisation(OrgKind.department, name="县税务局")
    firm = factories.organisation(OrgKind.enterprise)
    alliance = factories.organisation(OrgKind.alliance)
    busy = factories.activity(starts_at=local(2026, 3, 12, 14, 0), hours=2, host=alliance)
    busy.cohosts = [tax]
    factories.activity(kind=ActivityKind.visit, starts_at=local(2026, 3, 12, 15, 0), hours=1, site=firm)
    db.session.flush()
    found = organisation_conflicts([tax.id, firm.id, alliance.id], local(2026, 3, 12, 15, 30), local(2026, 3, 12, 17, 0))
    assert set(found) == {tax.id, firm.id, alliance.id}
    assert organisation_conflicts([tax.id], local(2026, 3, 12, 16, 0), local(2026, 3, 12, 17, 0)) == {}
    assert organisation_conflicts([tax.id], local(2026, 3, 12, 15, 0), local(2026, 3, 12, 16, 0), exclude_id=busy.id) == {}
    result = create_activity(make_input(start=local(2026, 3, 12, 15, 0), cohost_ids=[tax.id]), now=NOW)
    assert any("县税务局" in w for w in result.warnings)


# -- slot finder ------------------------------------------------------------------------------

def test_china_calendar_2026_facts():
    assert not is_working_day(date(2026, 2, 16))  # Spring Festival
    assert is_working_day(date(2026, 2, 14)) and is_working_day(date(2026, 2, 28))  # make-up Saturdays
    assert not is_working_day(date(2026, 10, 1)) and not is_working_day(date(2026, 10, 7))
    assert is_working_day(date(2026, 10, 10))  # make-up Saturday after National Day
    assert is_official(date(2026, 6, 1)) and not is_official(date(2031, 6, 1))


def test_slot_finder_skips_spring_festival_and_uses_the_make_up_day(app):
    venue = factories.venue()
    found = find_slots(
        duration=timedelta(hours=2), date_from=date(2026, 2, 14), date_to=date(2026, 3, 6), venue_id=venue.id,
        working_hours=parse_working_hours("09:00-12:00,14:00-17:30"), limit=3,
    )
    # Saturday 14 February is a make-up working day: the first slots are on it.
    assert [s.astimezone(SH) for s, _ in found.slots] == [local(2026, 2, 14, 9, 0), local(2026, 2, 14, 14, 0), local(2026, 2, 24, 9, 0)]
    assert found.provisional_years == []


def test_slot_finder_avoids_busy_venue_and_organisations(app):
    venue = factories.venue()
    tax = factories.organisation(OrgKind.department)
    factories.activity(starts_at=local(2026, 9, 30, 9, 0), hours=3, venue=venue)
    other = factories.activity(starts_at=local(2026, 9, 30, 14, 0), hours=1)
    other.cohosts = [tax]
    db.session.flush()
    found = find_slots(
        duration=timedelta(minutes=90), date_from=date(2026, 9, 30), date_to=date(2026, 10, 20), venue_id=venue.id,
        org_ids=[tax.id], limit=4,
    )
    starts = [s.astimezone(SH) for s, _ in found.slots]
    # 30 Sept: morning venue taken, 14:00–15:00 the tax bureau is busy; then 1–7 Oct off; 8 Oct works.
    assert starts == [local(2026, 9, 30, 15, 0), local(2026, 10, 8, 9, 0), local(2026, 10, 8, 10, 30), local(2026, 10, 8, 14, 0)]


def test_slot_finder_uses_the_statutory_holidays_past_the_known_years(app):
    found = find_slots(duration=timedelta(hours=1), date_from=date(2031, 1, 1), date_to=date(2031, 1, 7), limit=2)
    assert found.provisional_years == [2031]
    # 1 January 2031 (a Wednesday) is New Year's Day: the first slots are the next day.
    assert [s.astimezone(SH).date() for s, _ in found.slots] == [date(2031, 1, 2), date(2031, 1, 2)]
    found = find_slots(duration=timedelta(hours=8), date_from=date(2031, 1, 4), date_to=date(2031, 1, 5))
    assert found.slots == []


@pytest.mark.parametrize("minutes", [0, -30])
def test_slot_finder_refuses_empty_durations(app, minutes):
    with pytest.raises(ValidationFailed):
        find_slots(duration=timedelta(minutes=minutes), date_from=date(2026, 3, 1), date_to=date(2026, 3, 2))


def test_a_start_off_the_rule_and_a_split_at_the_first_occurrence(app):
    # Entered on a Wednesday, repeating on Fridays: the series starts on the first Friday.
    data = make_input(ActivityKind.afternoon_tea, start=local(2026, 3, 4, 15, 0), hours=1)
    series, results = series_services.create_series(data, "FREQ=WEEKLY;BYDAY=FR;COUNT=4", now=NOW)
    assert series.dtstart == local(2026, 3, 6, 15, 0)
    assert live_starts(series) == independent_starts(series, date(2026, 1, 1), date(2027, 1, 1))
    first = series_services.occurrences(series)[0]
    values = input_of(first)
    values.starts_at, values.ends_at = local(2026, 3, 6, 16, 0), local(2026, 3, 6, 17, 0)
    new, _ = series_services.split_series(first, values, now=NOW)
    db.session.commit()
    assert db.session.get(ActivitySeries, series.id) is None and new.parent_id is None
    assert len(series_services.occurrences(new)) == 4
    assert live_starts(new) == independent_starts(new, date(2026, 1, 1), date(2027, 1, 1))


def test_other_features_can_add_attendance_sources(app, monkeypatch):
    """Invitations will register a source; the conflict check then sees invited organisations."""
    import sqlalchemy as sa

    from app.events import conflicts

    firm = factories.organisation(OrgKind.enterprise)
    busy = factories.activity(starts_at=local(2026, 3, 12, 14, 0), hours=2)
    invited = sa.Table("test_invitation", sa.MetaData(), sa.Column("activity_id", sa.Integer), sa.Column("organisation_id", sa.Integer))
    connection = db.session.connection()
    invited.create(connection, checkfirst=True)
    connection.execute(invited.insert().values(activity_id=busy.id, organisation_id=firm.id))

    def invitations(org_ids, window):
        return sa.select(invited.c.activity_id, invited.c.organisation_id).where(
            invited.c.organisation_id.in_(org_ids), invited.c.activity_id.in_(window)
        )

    assert organisation_conflicts([firm.id], local(2026, 3, 12, 15, 0), local(2026, 3, 12, 16, 0)) == {}
    monkeypatch.setitem(app.extensions, conflicts.SOURCES_KEY, [*conflicts.attendance_sources(), invitations])
    assert organisation_conflicts([firm.id], local(2026, 3, 12, 15, 0), local(2026, 3, 12, 16, 0)) == {firm.id: [busy]}
    db.session.rollback()
    invited.drop(db.engine, checkfirst=True)


def test_invited_organisations_count_as_attending(app):
    firm = factories.organisation(OrgKind.enterprise)
    other = factories.organisation(OrgKind.enterprise)
    busy = factories.activity(starts_at=local(2026, 3, 12, 14, 0), hours=2, title="已邀请该企业的沙龙")
    factories.invitation(busy, factories.person(firm))
    factories.answered_invitation(busy, factories.person(other), answer="declined")
    found = organisation_conflicts([firm.id, other.id], local(2026, 3, 12, 15, 0), local(2026, 3, 12, 16, 0))
    assert found == {firm.id: [busy]}  # a declined invitation does not hold the enterprise
    result = create_activity(make_input(ActivityKind.visit, start=local(2026, 3, 12, 15, 0), site_id=firm.id), now=NOW)
    assert any("已邀请该企业的沙龙" in w for w in result.warnings)
