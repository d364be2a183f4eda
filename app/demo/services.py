"""Loading the demo county; every step looks up what exists first, so a second load adds nothing."""

from __future__ import annotations

import calendar
import random
import secrets
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select

from app.auth.models import Role, User
from app.core.clock import display_zone, utcnow
from app.demo import data
from app.demo.counts import counts
from app.events.models import (
    Activity,
    ActivityKind,
    ActivityStatus,
    MonthlyTheme,
    VisitKind,
)
from app.events.series import create_series, publish_series
from app.events.services import ActivityInput, complete_activity
from app.extensions import db
from app.invitations.models import Answer, AnswerChannel, Invitation
from app.invitations.services import CODE_ALPHABET, CODE_LENGTH
from app.orgs.models import (
    AllianceMembership,
    InstructorAssignment,
    Organisation,
    OrgKind,
    PartyBranch,
    Person,
    Venue,
)
from app.problems.demo import load_problems
from app.workcal.services import holidays_between

INSTRUCTOR_COUNT = 12


def is_empty() -> bool:
    """True when the database has no organisation yet."""
    return db.session.scalar(select(func.count()).select_from(Organisation)) == 0


def _org(name: str, kind: OrgKind, **fields) -> Organisation:
    organisation = db.session.scalar(select(Organisation).where(Organisation.name == name))
    if organisation is None:
        organisation = Organisation(name=name, kind=kind, **fields)
        db.session.add(organisation)
        db.session.flush()
    return organisation


def _person(name: str, email: str, organisation: Organisation, title: str | None = None) -> Person:
    person = db.session.scalar(select(Person).where(Person.email == email))
    if person is None:
        person = Person(name=name, email=email, organisation=organisation, title=title)
        db.session.add(person)
        db.session.flush()
    return person


def person_name(index: int) -> str:
    """A deterministic invented Chinese name."""
    return data.SURNAMES[index % len(data.SURNAMES)] + data.GIVEN[(index * 7 + index // 3) % len(data.GIVEN)]


def _membership(alliance: Organisation, enterprise: Organisation, leader: bool) -> None:
    exists = db.session.scalar(
        select(AllianceMembership).where(
            AllianceMembership.alliance_id == alliance.id,
            AllianceMembership.enterprise_id == enterprise.id,
        )
    )
    if exists is None:
        db.session.add(AllianceMembership(alliance=alliance, enterprise=enterprise, is_chain_leader=leader))


def _enterprises(alliances: dict[str, Organisation]) -> dict[str, list[Organisation]]:
    by_alliance: dict[str, list[Organisation]] = {name: [] for name in alliances}
    for name, short, alliance, leader, branch in data.NAMED_ENTERPRISES:
        enterprise = _org(
            name, OrgKind.enterprise, short_name=short, party_branch=PartyBranch(branch),
            address=f"{data.COUNTY}工业园区",
            joint_branch_name="园区联合党支部" if branch == "joint" else None,
        )
        _membership(alliances[alliance], enterprise, leader)
        by_alliance[alliance].append(enterprise)
    serial = 0
    for alliance_name, target in data.ENTERPRISES_PER_ALLIANCE.items():
        words = data.PLASTICS_WORDS if alliance_name == data.PLASTICS else data.ELECTRONICS_WORDS
        named = by_alliance[alliance_name]
        # Branches still to hand out after the named enterprises, in a fixed order.
        left = dict(data.BRANCHES[alliance_name])
        for enterprise in named:
            if enterprise.party_branch.value in left:
                left[enterprise.party_branch.value] -= 1
        branches = [branch for branch, n in left.items() for _ in range(max(n, 0))]
        for k in range(target - len(named)):
            serial += 1
            place = data.PLACE_WORDS[k % len(data.PLACE_WORDS)]
            word = words[(k // len(data.PLACE_WORDS) + k) % len(words)]
            branch = branches[k] if k < len(branches) else "none"
            enterprise = _org(
                f"江西{place}{word}有限公司", OrgKind.enterprise, short_name=f"{place}{word}",
                party_branch=PartyBranch(branch), address=f"{data.COUNTY}工业园区{serial}号",
                joint_branch_name="园区联合党支部" if branch == "joint" else None,
            )
            _membership(alliances[alliance_name], enterprise, False)
            by_alliance[alliance_name].append(enterprise)
    db.session.flush()
    return by_alliance


def _account(email: str, role: Role, person: Person) -> None:
    if db.session.scalar(select(User).where(User.person_id == person.id)) is None:
        user = User(person=person, role=role, active=True)
        user.set_password(data.DEMO_PASSWORD)
        db.session.add(user)


def _local(day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=display_zone())


def nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The n-th given weekday of a month (n = -1 for the last)."""
    days = [d for d in calendar.Calendar().itermonthdates(year, month) if d.month == month and d.weekday() == weekday]
    return days[n if n < 0 else n - 1]


def _activity(title: str, **fields) -> Activity:
    activity = db.session.scalar(select(Activity).where(Activity.title == title))
    if activity is None:
        activity = Activity(title=title, **fields)
        db.session.add(activity)
    return activity


def _status(ends_at: datetime, now: datetime) -> ActivityStatus:
    return ActivityStatus.completed if ends_at < now else ActivityStatus.published


def load(now: datetime | None = None) -> dict[str, int]:
    """Build (or complete) the demo county and return the row counts."""
    now = now or utcnow()
    year = now.astimezone(display_zone()).year
    committee = _org(data.COMMITTEE, OrgKind.committee, short_name="综合党委", address=f"{data.COUNTY}工业园区管委会")
    alliances = {
        data.PLASTICS: _org(data.PLASTICS, OrgKind.alliance, short_name="塑料联盟"),
        data.ELECTRONICS: _org(data.ELECTRONICS, OrgKind.alliance, short_name="电子信息联盟"),
    }
    departments = {short: _org(name, OrgKind.department, short_name=short) for name, short in data.DEPARTMENTS}
    by_alliance = _enterprises(alliances)
    enterprises = [e for group in by_alliance.values() for e in group]

    venues = {}
    for name, address, capacity, directions in data.VENUES:
        venue = db.session.scalar(select(Venue).where(Venue.name == name))
        if venue is None:
            venue = Venue(name=name, address=address, capacity=capacity, directions=directions)
            db.session.add(venue)
        venues[name] = venue

    counter = 0
    for index, enterprise in enumerate(enterprises):
        counter += 1
        _person(person_name(counter), f"contact{index + 1:03d}@enterprise.demo", enterprise, "企业联系人")
    for index, (_name, short) in enumerate(data.DEPARTMENTS):
        counter += 1
        _person(person_name(counter), f"liaison{index + 1}@department.demo", departments[short], "党建联络员")
    instructors = []
    for index in range(INSTRUCTOR_COUNT):
        counter += 1
        instructor = _person(person_name(counter), f"instructor{index + 1:02d}@committee.demo", committee, "党建工作指导员")
        instructors.append(instructor)
    for email, name, org_name, role in data.DEMO_ACCOUNTS:
        organisation = db.session.scalar(select(Organisation).where(Organisation.name == org_name))
        person = _person(name, email, organisation)
        _account(email, Role(role), person)
        if role == "instructor":
            instructors.append(person)
    db.session.flush()
    for index, enterprise in enumerate(enterprises):
        instructor = instructors[index % len(instructors)]
        if db.session.scalar(
            select(InstructorAssignment.id).where(
                InstructorAssignment.instructor_id == instructor.id,
                InstructorAssignment.enterprise_id == enterprise.id,
            )
        ) is None:
            db.session.add(InstructorAssignment(instructor=instructor, enterprise=enterprise))

    themes = {}
    for month, (title, description, leads) in data.THEMES.items():
        theme = db.session.scalar(select(MonthlyTheme).where(MonthlyTheme.year == year, MonthlyTheme.month == month))
        if theme is None:
            theme = MonthlyTheme(year=year, month=month, title=title, description=description)
            theme.lead_departments = [departments[s] for s in leads]
            db.session.add(theme)
        themes[month] = theme
    db.session.flush()
    organiser = db.session.scalar(select(Person).where(Person.email == "organiser@linghang.demo"))
    _activities(year, now, committee, alliances, departments, venues, themes, by_alliance, instructors, organiser)
    db.session.flush()
    _weekly_tea(year, now, committee, venues["企业家之家"], organiser)
    _invitations(now, by_alliance)
    db.session.flush()
    load_problems(now, enterprises, departments, organiser)
    return counts()


def _activities(year, now, committee, alliances, departments, venues, themes, by_alliance, instructors, organiser):
    hall = venues["园区党群服务中心一楼会议室"]
    room = venues["产业链综合党委会议室"]
    tea_room = venues["企业家之家"]
    for month, theme in themes.items():
        day = nth_weekday(year, month, calendar.THURSDAY, 2)
        starts, ends = _local(day, time(14, 30)), _local(day, time(16, 30))
        activity = _activity(
            f"{year}年{month}月主题党日：{theme.title}",
            kind=ActivityKind.themed_day, theme=theme, host=committee, venue=hall,
            starts_at=starts, ends_at=ends, capacity=60, status=_status(ends, now), organiser=organiser,
            agenda="1. 政策宣讲\n2. 企业提问、部门现场答复\n3. 问题登记交办",
        )
        if not activity.cohosts:
            activity.cohosts = list(theme.lead_departments)
        # Salons for plastics on odd months, electronics on even months; teas every month.
        alliance = alliances[data.PLASTICS if month % 2 else data.ELECTRONICS]
        day = nth_weekday(year, month, calendar.TUESDAY, 1)
        starts, ends = _local(day, time(15, 0)), _local(day, time(17, 0))
        _activity(
            f"{year}年{month}月{alliance.short_name}沙龙",
            kind=ActivityKind.salon, host=alliance, alliance=alliance, venue=tea_room,
            starts_at=starts, ends_at=ends, capacity=20, status=_status(ends, now), organiser=organiser,
            agenda="链上企业经营情况交流，困难诉求收集。",
        )
        day = nth_weekday(year, month, calendar.FRIDAY, -1)
        starts, ends = _local(day, time(15, 0)), _local(day, time(16, 30))
        _activity(
            f"{year}年{month}月企业家下午茶",
            kind=ActivityKind.afternoon_tea, host=committee, venue=tea_room,
            starts_at=starts, ends_at=ends, capacity=15, status=_status(ends, now), organiser=organiser,
            agenda="新生代企业家与老一辈企业家结对交流。",
        )
        if month % 3 == 0:
            day = nth_weekday(year, month, calendar.WEDNESDAY, 3)
            starts, ends = _local(day, time(9, 30)), _local(day, time(11, 30))
            _activity(
                f"{year}年第{month // 3}季度党建联盟圆桌会",
                kind=ActivityKind.roundtable, host=committee, venue=room,
                starts_at=starts, ends_at=ends, capacity=30, status=_status(ends, now), organiser=organiser,
                agenda="链主企业与配套企业供需对接，资源共享。",
            )
    # Instructor visits: each instructor visits one enterprise a month, rotating the three kinds.
    kinds = [VisitKind.outreach, VisitKind.reception, VisitKind.follow_up]
    enterprises = [e for group in by_alliance.values() for e in group]
    for index, instructor in enumerate(instructors[:6]):
        for month in range(1, 13):
            enterprise = enterprises[(index * 12 + month) % len(enterprises)]
            day = nth_weekday(year, month, calendar.MONDAY + index % 4, 2)
            starts, ends = _local(day, time(9, 0)), _local(day, time(10, 30))
            visit_kind = kinds[(index + month) % 3]
            label = {"outreach": "走访", "reception": "接访", "follow_up": "回访"}[visit_kind.value]
            _activity(
                f"{year}年{month}月{label}：{enterprise.short_name or enterprise.name}（{instructor.name}）",
                kind=ActivityKind.visit, visit_kind=visit_kind, host=committee, site=enterprise,
                starts_at=starts, ends_at=ends, status=_status(ends, now), organiser=instructor,
                agenda="了解企业经营与党建情况，收集困难诉求。",
            )


WEEKLY_TEA = "每周五企业家午后茶叙"


def _weekly_tea(year: int, now: datetime, committee: Organisation, tea_room: Venue, organiser: Person | None) -> None:
    """A series: a short entrepreneurs' tea every Friday of the autumn; Fridays that are holidays are skipped."""
    if db.session.scalar(select(Activity.id).where(Activity.title == WEEKLY_TEA)) is not None:
        return
    first = nth_weekday(year, 9, calendar.FRIDAY, 1)
    data = ActivityInput(
        kind=ActivityKind.afternoon_tea, title=WEEKLY_TEA, host_id=committee.id,
        starts_at=_local(first, time(13, 30)), ends_at=_local(first, time(14, 30)),
        venue_id=tea_room.id, capacity=12, organiser_id=organiser.id if organiser else None,
        agenda="企业家围桌茶叙，现场收集困难诉求。",
    )
    holiday_fridays = [day for day in holidays_between(first, date(year, 12, 31)) if day.weekday() == calendar.FRIDAY]
    series, results = create_series(
        data, f"FREQ=WEEKLY;BYDAY=FR;UNTIL={year}1231", exception_days=holiday_fridays,
        now=now, override_reason="演示数据",
    )
    publish_series(series, now=now)
    for result in results:
        if result.activity.ends_at < now:
            complete_activity(result.activity, now=now)


# How many contacts each kind of gathering invites (within its capacity).
INVITED = {
    ActivityKind.themed_day: 50,
    ActivityKind.salon: 18,
    ActivityKind.afternoon_tea: 12,
    ActivityKind.roundtable: 25,
}


def _code(rng: random.Random, taken: set[str]) -> str:
    while True:
        code = "".join(rng.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if code not in taken:
            taken.add(code)
            return code


def _answers(rng: random.Random, n: int, past: bool) -> list[Answer]:
    """A shuffled mix of answers: past gatherings mostly accepted; upcoming ones partly still open."""
    shares = [(Answer.declined, 0.12), (Answer.pending, 0.05)] if past else [
        (Answer.declined, 0.15), (Answer.tentative, 0.07), (Answer.pending, 0.28)]
    answers = [a for a, share in shares for _ in range(max(1, round(n * share)))]
    answers = answers[:n]
    answers += [Answer.accepted] * (n - len(answers))
    rng.shuffle(answers)
    return answers


def _invitations(now: datetime, by_alliance: dict[str, list[Organisation]]) -> None:
    """Invitations with answers: past gatherings also with check-ins, upcoming ones half answered.

    Rows are written directly (no mail is queued: the demo outbox stays empty, and no answer
    link is valid, as only random hashes are stored). Activities that already have invitations
    are left alone, so a second load adds nothing. Reminders of upcoming activities are planned
    by the scheduler's periodic pass (`flask reminders plan`).
    """
    activities = list(
        db.session.scalars(
            select(Activity)
            .where(
                Activity.kind.in_(list(INVITED)),
                Activity.status.in_([ActivityStatus.completed, ActivityStatus.published]),
                ~select(Invitation.id).where(Invitation.activity_id == Activity.id).exists(),
            )
            .order_by(Activity.starts_at, Activity.id)
        )
    )
    if not activities:
        return
    contacts: dict[int, Person] = {}
    for person in db.session.scalars(
        select(Person).where(Person.email.like("contact%@enterprise.demo")).order_by(Person.id)
    ):
        contacts.setdefault(person.organisation_id, person)
    everyone = [contacts[e.id] for group in by_alliance.values() for e in group if e.id in contacts]
    taken = set(db.session.scalars(select(Invitation.checkin_code)))
    for activity in activities:
        rng = random.Random(activity.title)  # the same answers on every machine
        if activity.alliance_id is not None:
            pool = [contacts[m.enterprise_id] for m in db.session.scalars(
                select(AllianceMembership).where(AllianceMembership.alliance_id == activity.alliance_id)
                .order_by(AllianceMembership.enterprise_id)) if m.enterprise_id in contacts]
        else:
            pool = everyone
        invited = rng.sample(pool, min(INVITED[activity.kind], len(pool)))
        past = activity.status == ActivityStatus.completed
        sent = activity.starts_at - timedelta(days=10)
        attendance = rng.uniform(0.80, 0.95)
        for person, answer in zip(invited, _answers(rng, len(invited), past), strict=True):
            seats = (2 if rng.random() < 0.15 else 1) if answer == Answer.accepted else 0
            answered = sent + timedelta(hours=rng.randint(2, 200)) if answer != Answer.pending else None
            came = past and answer == Answer.accepted and rng.random() < attendance
            db.session.add(Invitation(
                activity=activity, person=person, organisation_id=person.organisation_id,
                answer=answer, seats=seats,
                channel=(AnswerChannel.phone if rng.random() < 0.2 else AnswerChannel.link) if answered else None,
                answered_at=answered, token_hash=secrets.token_hex(32), checkin_code=_code(rng, taken),
                checked_in_at=activity.starts_at - timedelta(minutes=rng.randint(0, 20)) if came else None,
                checked_in_count=seats if came else 0,
                sent_at=sent, created_at=sent, updated_at=answered or sent,
            ))
        if past and activity.kind == ActivityKind.themed_day:
            # Someone always comes without an invitation.
            organisation = rng.choice(pool).organisation
            walk_in = Person(name=person_name(rng.randint(500, 900)), organisation=organisation,
                             is_contact=False, active=True)
            db.session.add(walk_in)
            db.session.add(Invitation(
                activity=activity, person=walk_in, organisation_id=organisation.id, answer=Answer.accepted,
                seats=1, channel=AnswerChannel.walk_in, answered_at=activity.starts_at,
                token_hash=secrets.token_hex(32), checkin_code=_code(rng, taken),
                checked_in_at=activity.starts_at + timedelta(minutes=5), checked_in_count=1, is_walk_in=True,
                created_at=activity.starts_at, updated_at=activity.starts_at,
            ))
    db.session.flush()
