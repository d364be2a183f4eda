"""The problem ledger wired into reminders (催办, 回访) and the department's calendar feed."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from app.auth.models import Role
from app.core.clock import utcnow
from app.extensions import db
from app.feeds import services as calendar_services
from app.feeds.cache import feed_cache
from app.mail import dispatch
from app.mail.models import OutboxMessage
from app.orgs.models import OrgKind
from app.problems import follow_ups, transitions
from app.problems.models import Satisfaction
from app.reminders import sweep as reminder_sweep
from app.reminders.models import Reminder, ReminderKind, ReminderStatus
from tests import factories

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 09:00 in Beijing
DEADLINE = date(2026, 3, 10)  # Tuesday
BEFORE = datetime(2026, 3, 6, 1, 0, tzinfo=UTC)  # two working days before, 09:00 Beijing
OVERDUE = datetime(2026, 3, 11, 1, 0, tzinfo=UTC)  # the morning after the deadline


class Ledger:
    def __init__(self) -> None:
        self.committee = factories.organisation(OrgKind.committee, name="产业链综合党委")
        self.organiser = factories.user(Role.organiser, org=self.committee, name="王组织")
        self.other_organiser = factories.user(Role.organiser, org=self.committee, name="赵组织")
        self.dept = factories.organisation(OrgKind.department, name="县税务局")
        self.other_dept = factories.organisation(OrgKind.department, name="县商务局")
        self.liaison = factories.user(Role.liaison, org=self.dept, name="刘联络")
        self.other_liaison = factories.user(Role.liaison, org=self.other_dept, name="陈联络")
        self.enterprise = factories.organisation(OrgKind.enterprise, name="赣锋锂业")
        self.instructor = factories.user(Role.instructor, org=self.committee, name="周指导")
        self.problem = factories.problem(self.enterprise, category="tax", description="出口退税进度慢")
        db.session.commit()

    def assign(self, actor=None, now=NOW):
        transitions.assign(self.problem, actor if actor is not None else self.organiser.person,
                        department_id=self.dept.id, deadline=DEADLINE, note=None, now=now)
        db.session.commit()


def sweep(moment: datetime):
    reminder_sweep.sweep(moment)
    return dispatch.deliver_due(moment)


def pending() -> list[tuple]:
    rows = db.session.scalars(
        select(Reminder).where(Reminder.status == ReminderStatus.pending).order_by(Reminder.due_at, Reminder.kind, Reminder.id)
    )
    return [(r.kind, r.email, r.due_at) for r in rows]


def reminder_mails(smtp_server) -> list:
    """The mails received, less the notices a step sends at once (交办, 办结: tests/test_problem_notices.py)."""
    notice_ids = set(db.session.scalars(select(OutboxMessage.message_id).where(OutboxMessage.kind.like("problem.%"))))
    return [mail for mail in smtp_server.parsed() if mail["Message-ID"] not in notice_ids]


def recipients(smtp_server) -> list[str]:
    return sorted(address.addr_spec for mail in reminder_mails(smtp_server) for address in mail["To"].addresses)


# -- 1. reminders --------------------------------------------------------------------

def test_assigning_plans_the_liaison_reminder_and_the_overdue_escalation(app):
    ledger = Ledger()
    ledger.assign()
    liaison, organiser = ledger.liaison.person.email, ledger.organiser.person.email
    assert pending() == [
        (ReminderKind.problem_due, liaison, BEFORE),
        (ReminderKind.problem_escalation, organiser, OVERDUE),
        (ReminderKind.problem_overdue, liaison, OVERDUE),
    ]


def test_reminder_times_are_configurable(app, monkeypatch):
    monkeypatch.setitem(app.config, "PROBLEM_REMIND_WORKING_DAYS", 5)
    monkeypatch.setitem(app.config, "PROBLEM_REMIND_HOUR", 14)
    ledger = Ledger()
    ledger.assign()
    # Five working days before Tuesday 10 March is Tuesday 3 March; 14:00 Beijing is 06:00 UTC.
    assert [(k, d) for k, _e, d in pending()][0] == (ReminderKind.problem_due, datetime(2026, 3, 3, 6, 0, tzinfo=UTC))


def test_due_and_not_yet_due_with_a_chinese_mail(app, smtp_server):
    ledger = Ledger()
    ledger.assign()
    sweep(BEFORE - timedelta(minutes=1))
    assert reminder_mails(smtp_server) == []
    sweep(BEFORE)
    assert recipients(smtp_server) == [ledger.liaison.person.email]
    mail = reminder_mails(smtp_server)[0]
    body = mail.get_body(("plain",)).get_content()
    assert "赣锋锂业" in mail["Subject"] and "赣锋锂业" in body
    assert "税费" in body and "2026-03-10" in body and "出口退税进度慢" in body
    assert f"/problems/{ledger.problem.id}" in body
    assert "即将到期" in mail["Subject"]


def test_resolved_before_the_reminder_is_due_sends_nothing(app, smtp_server):
    ledger = Ledger()
    ledger.assign()
    transitions.resolve(ledger.problem, ledger.liaison.person, resolution="已办理退税", now=NOW + timedelta(days=1))
    db.session.commit()
    assert pending() == []
    sweep(OVERDUE + timedelta(days=1))
    assert reminder_mails(smtp_server) == []


def test_a_change_made_without_replanning_is_caught_at_sweep_time(app, smtp_server):
    ledger = Ledger()
    ledger.assign()
    ledger.problem.status = "withdrawn"  # e.g. a bulk fix in the database
    db.session.commit()
    sweep(OVERDUE)
    assert reminder_mails(smtp_server) == []
    assert db.session.scalar(select(func.count()).select_from(Reminder).where(Reminder.status == ReminderStatus.done)) == 0


def test_an_approved_extension_moves_the_reminders(app, smtp_server):
    ledger = Ledger()
    ledger.assign()
    transitions.request_extension(ledger.problem, ledger.liaison.person, until=date(2026, 3, 20),
                               reason="需省局审批", now=NOW + timedelta(days=1))
    db.session.commit()
    assert [due for _k, _e, due in pending()][0] == BEFORE  # a request alone moves nothing
    transitions.decide_extension(ledger.problem, ledger.organiser.person, approve=True, note=None, now=NOW + timedelta(days=2))
    db.session.commit()
    # 2026-03-20 is a Friday: two working days before is Wednesday the 18th; overdue on Saturday the 21st.
    assert [(k, due) for k, _e, due in pending()] == [
        (ReminderKind.problem_due, datetime(2026, 3, 18, 1, 0, tzinfo=UTC)),
        (ReminderKind.problem_escalation, datetime(2026, 3, 21, 1, 0, tzinfo=UTC)),
        (ReminderKind.problem_overdue, datetime(2026, 3, 21, 1, 0, tzinfo=UTC)),
    ]
    sweep(OVERDUE)
    assert reminder_mails(smtp_server) == []


def test_overdue_reminds_the_department_and_escalates_to_the_assigning_organiser(app, smtp_server):
    ledger = Ledger()
    ledger.assign()
    sweep(BEFORE)
    smtp_server.messages.clear()
    sweep(OVERDUE)
    assert recipients(smtp_server) == sorted([ledger.liaison.person.email, ledger.organiser.person.email])
    subjects = {m["To"].addresses[0].addr_spec: m["Subject"] for m in reminder_mails(smtp_server)}
    assert "逾期" in subjects[ledger.organiser.person.email]


def test_without_a_known_organiser_the_escalation_goes_to_every_organiser(app, smtp_server):
    ledger = Ledger()
    ledger.assign(actor=ledger.liaison.person)  # not an organiser, and nobody recorded it
    sweep(BEFORE)
    smtp_server.messages.clear()
    sweep(OVERDUE)
    assert recipients(smtp_server) == sorted(
        [ledger.liaison.person.email, ledger.organiser.person.email, ledger.other_organiser.person.email]
    )


def test_reassigning_moves_the_reminders_to_the_other_department(app):
    ledger = Ledger()
    ledger.assign()
    transitions.reassign(ledger.problem, ledger.organiser.person, department_id=ledger.other_dept.id,
                      deadline=DEADLINE, reason="商务局负责", now=NOW + timedelta(hours=1))
    db.session.commit()
    emails = {e for k, e, _d in pending() if k != ReminderKind.problem_escalation}
    assert emails == {ledger.other_liaison.person.email}


def test_a_follow_up_visit_reminds_its_instructor_the_day_before(app, smtp_server):
    ledger = Ledger()
    ledger.assign()
    transitions.resolve(ledger.problem, ledger.liaison.person, resolution="已办理", now=NOW)
    starts = datetime(2026, 3, 12, 0, 30, tzinfo=UTC)  # 08:30 Beijing
    follow_up = follow_ups.schedule_follow_up(ledger.problem, ledger.instructor.person, host_id=ledger.committee.id,
                                            starts_at=starts, ends_at=starts + timedelta(hours=1), now=NOW)
    db.session.commit()
    due = starts - timedelta(hours=15)  # 17:30 the day before
    assert pending() == [(ReminderKind.follow_up_due, ledger.instructor.person.email, due)]
    sweep(due - timedelta(minutes=1))
    assert reminder_mails(smtp_server) == []
    sweep(due)
    assert recipients(smtp_server) == [ledger.instructor.person.email]
    body = reminder_mails(smtp_server)[0].get_body(("plain",)).get_content()
    assert "回访" in body and "赣锋锂业" in body
    # Giving satisfaction (a step) re-plans without dropping or doubling anything done.
    transitions.give_satisfaction(ledger.problem, None, satisfaction=Satisfaction.satisfied, comment=None, now=due)
    db.session.commit()
    assert follow_up.activity_id is not None


def test_a_recorded_or_cancelled_follow_up_visit_is_not_reminded(app, smtp_server):
    ledger = Ledger()
    ledger.assign()
    starts = datetime(2026, 3, 12, 0, 30, tzinfo=UTC)
    follow_up = follow_ups.schedule_follow_up(ledger.problem, ledger.instructor.person, host_id=ledger.committee.id,
                                            starts_at=starts, ends_at=starts + timedelta(hours=1), now=NOW)
    db.session.commit()
    follow_ups.record_follow_up(follow_up, ledger.instructor.person, outcome="企业已拿到退税", now=NOW + timedelta(days=1))
    db.session.commit()
    assert [k for k, _e, _d in pending() if k == ReminderKind.follow_up_due] == []


def test_a_rescheduled_or_cancelled_follow_up_visit_moves_or_drops_its_reminder(app, smtp_server):
    from app.events.signals import activity_cancelled, activity_updated

    ledger = Ledger()
    ledger.assign()
    starts = datetime(2026, 3, 12, 0, 30, tzinfo=UTC)
    visit = follow_ups.schedule_follow_up(ledger.problem, ledger.instructor.person, host_id=ledger.committee.id,
                                        starts_at=starts, ends_at=starts + timedelta(hours=1), now=NOW).activity
    db.session.commit()
    later = starts + timedelta(days=2)
    visit.starts_at, visit.ends_at = later, later + timedelta(hours=1)
    activity_updated.send(visit, now=NOW + timedelta(hours=1), changes={"starts_at": [starts, later]})
    db.session.commit()
    assert [d for k, _e, d in pending() if k == ReminderKind.follow_up_due] == [later - timedelta(hours=15)]
    visit.status = "cancelled"
    activity_cancelled.send(visit, now=NOW + timedelta(hours=2), reason="企业停产")
    db.session.commit()
    assert [k for k, _e, _d in pending() if k == ReminderKind.follow_up_due] == []
    reminder_sweep.sweep(later)
    dispatch.deliver_due(later)
    assert ledger.instructor.person.email not in recipients(smtp_server)


# -- 2. calendar feeds -----------------------------------------------------------------

def _feed_world():
    feed_cache().clear()
    ledger = Ledger()
    now = utcnow()
    other_enterprise = factories.organisation(OrgKind.enterprise, name="宁德时代")
    other_problem = factories.problem(other_enterprise, category="export")
    transitions.assign(ledger.problem, ledger.organiser.person, department_id=ledger.dept.id, deadline=None, note=None, now=now)
    transitions.assign(other_problem, ledger.organiser.person, department_id=ledger.other_dept.id, deadline=None, note=None, now=now)
    starts = now + timedelta(days=3)
    visit = follow_ups.schedule_follow_up(ledger.problem, ledger.instructor.person, host_id=ledger.committee.id,
                                        starts_at=starts, ends_at=starts + timedelta(hours=1), now=now).activity
    other_visit = follow_ups.schedule_follow_up(other_problem, ledger.instructor.person, host_id=ledger.committee.id,
                                              starts_at=starts, ends_at=starts + timedelta(hours=1), now=now).activity
    staff = ledger.organiser
    paths = {
        name: calendar_services.feed_path(calendar_services.create_token(staff, name, now=now, organisation=org)[1])
        for name, org in (("dept", ledger.dept), ("other_dept", ledger.other_dept),
                          ("enterprise", ledger.enterprise), ("other_enterprise", other_enterprise))
    }
    db.session.commit()
    return ledger, visit, other_visit, paths


def uid(activity) -> bytes:
    return f"activity-{activity.id}@".encode()


def test_department_feed_has_the_follow_up_visits_on_its_problems(app, client):
    _ledger, visit, other_visit, paths = _feed_world()
    dept = client.get(paths["dept"]).data
    assert uid(visit) in dept and uid(other_visit) not in dept
    other_dept = client.get(paths["other_dept"]).data
    assert uid(other_visit) in other_dept and uid(visit) not in other_dept
    enterprise = client.get(paths["enterprise"]).data
    assert uid(visit) in enterprise and uid(other_visit) not in enterprise
    other_enterprise = client.get(paths["other_enterprise"]).data
    assert uid(other_visit) in other_enterprise and uid(visit) not in other_enterprise


def test_reassigning_moves_the_visit_to_the_other_department_s_feed(app, client):
    ledger, visit, _other_visit, paths = _feed_world()
    first = client.get(paths["dept"])
    other_first = client.get(paths["other_dept"])
    assert uid(visit) in first.data and uid(visit) not in other_first.data
    transitions.reassign(ledger.problem, ledger.organiser.person, department_id=ledger.other_dept.id,
                      deadline=None, reason="商务局负责", now=utcnow())
    db.session.commit()
    moved = client.get(paths["dept"], headers={"If-None-Match": first.headers["ETag"]})
    assert moved.status_code == 200 and moved.headers["ETag"] != first.headers["ETag"]
    assert uid(visit) not in moved.data
    other = client.get(paths["other_dept"], headers={"If-None-Match": other_first.headers["ETag"]})
    assert other.status_code == 200 and uid(visit) in other.data


# -- 3. dashboard attendance and the on-site entry ----------------------------------------

def test_dashboard_attendance_is_the_check_in_of_attendance_summary(app):
    from app.invitations.services import attendance_summary
    from app.problems.queries import LedgerFilter
    from app.stats import services as stats

    held = factories.activity(status="completed", starts_at=datetime(2026, 3, 2, 6, 0, tzinfo=UTC))
    factories.answered_invitation(held, checked_in_count=2).seats = 3
    factories.answered_invitation(held, checked_in_count=4)  # extra people do not count twice
    factories.answered_invitation(held, checked_in_count=0)
    factories.answered_invitation(held, waitlisted_at=NOW, checked_in_count=0)
    factories.answered_invitation(held, answer="declined")
    factories.answered_invitation(held, is_walk_in=True, checked_in_count=2)
    db.session.commit()
    summary = attendance_summary(held.id, datetime(2026, 3, 5, tzinfo=UTC))
    figures = stats.figures(LedgerFilter(), datetime(2026, 3, 5, tzinfo=UTC), date(2026, 3, 5))
    assert (figures.expected, figures.present) == (summary.expected, summary.expected - summary.absent) == (5, 3)


def test_on_site_entry_lists_the_activity_s_invitees_first(app, client, login_as):
    factories.organisation(OrgKind.enterprise, name="A甲企业")
    invitee = factories.organisation(OrgKind.enterprise, name="Z被邀请企业")
    walk_in = factories.organisation(OrgKind.enterprise, name="Y现场企业")
    activity = factories.activity()
    factories.answered_invitation(activity, factories.person(invitee))
    factories.answered_invitation(activity, factories.person(walk_in), is_walk_in=True, checked_in_count=1)
    login_as("organiser")
    html = client.get(f"/problems/new?activity={activity.id}").get_data(as_text=True)
    assert html.index("Z被邀请企业") < html.index("Y现场企业") < html.index("A甲企业")


# -- 4. the demo -------------------------------------------------------------------------

def test_demo_follow_up_visits_are_linked_and_show_in_the_right_feeds(app):
    from app.demo.services import load
    from app.events.models import Activity
    from app.feeds.content import scope_for, subject_clause
    from app.orgs.models import Organisation
    from app.problems.models import FollowUp, Problem

    load(now=datetime(2026, 6, 15, tzinfo=UTC))
    db.session.commit()
    links = db.session.execute(
        select(FollowUp.activity_id, Problem.department_id, Problem.enterprise_id, Activity.site_id)
        .join(Problem, Problem.id == FollowUp.problem_id)
        .join(Activity, Activity.id == FollowUp.activity_id)
    ).all()
    assert len(links) >= 3

    def feed_ids(kind, org_id):
        scope = scope_for(kind, db.session.get(Organisation, org_id))
        return set(db.session.scalars(select(Activity.id).where(subject_clause(scope))))

    departments = list(db.session.scalars(select(Organisation.id).where(Organisation.kind == OrgKind.department)))
    for activity_id, department_id, enterprise_id, site_id in links[:4]:
        assert enterprise_id == site_id
        assert activity_id in feed_ids("department", department_id)
        assert activity_id in feed_ids("organisation", enterprise_id)
        other_department = next(d for d in departments if d != department_id)
        assert activity_id not in feed_ids("department", other_department)
        other_enterprise = next(e for _a, _d, e, _s in links if e != enterprise_id)
        assert activity_id not in feed_ids("organisation", other_enterprise)


def test_follow_up_links_and_problem_departments_touch_the_departments_feeds(app):
    from sqlalchemy import delete, func, select

    from app.feeds.models import FeedChange
    from app.feeds.tracking import tracking_maintained
    from app.problems.models import FollowUp

    ledger = Ledger()
    ledger.assign()
    starts = datetime(2026, 3, 12, 0, 30, tzinfo=UTC)
    follow_up = follow_ups.schedule_follow_up(ledger.problem, ledger.instructor.person, host_id=ledger.committee.id,
                                            starts_at=starts, ends_at=starts + timedelta(hours=1), now=NOW)
    db.session.commit()
    assert tracking_maintained()

    def last():
        return db.session.scalar(select(func.coalesce(func.max(FeedChange.id), 0)))

    def touched(since):
        return set(db.session.scalars(select(FeedChange.key).where(FeedChange.id > since)))

    before = last()
    db.session.execute(delete(FollowUp).where(FollowUp.id == follow_up.id))
    db.session.commit()
    assert f"o:{ledger.dept.id}" in touched(before)
    before = last()
    ledger.problem.department_id = ledger.other_dept.id
    db.session.commit()
    assert touched(before) == {f"o:{ledger.dept.id}", f"o:{ledger.other_dept.id}"}
    before = last()
    ledger.problem.description = "出口退税进度慢（补充）"  # not shown in any feed: touches nothing
    db.session.commit()
    assert touched(before) == set()
