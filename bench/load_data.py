"""Data for the load test: `counties` counties' worth of a year of Linghang, inserted in batches.

One county (the report's Yihuang, rounded): 85 enterprises with a contact each, 2 alliances,
12 departments, 3 venues, 130 activities in the year with about 6 invitations each, 1,000
problems, 250 feed subscriptions and 3 staff accounts. A province is 100 of them. Also one large
event per load (500 invitees) for check-ins. Returns what the virtual users need: raw feed and
answer tokens (the database keeps only their hashes), staff log-ins, ids to visit.
"""

from __future__ import annotations

import random
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import insert, select

PER_COUNTY = {"enterprises": 85, "alliances": 2, "departments": 12, "venues": 3, "activities": 130,
              "invitations_per_activity": 6, "problems": 1_000, "feeds": 250, "staff": 3}
STAFF_PASSWORD = "load-test-password"
BATCH = 5_000
# How many of each the virtual users pick from (enough to spread them, few enough to ship).
SAMPLE = 2_000


def _progress(label: str, done: int, total: int) -> None:
    sys.stderr.write(f"\r  {label:<12} {done:>8}/{total}")
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def _batched(session, model, rows: list[dict], label: str) -> None:
    for start in range(0, len(rows), BATCH):
        session.execute(insert(model), rows[start:start + BATCH])
        _progress(label, min(start + BATCH, len(rows)), len(rows))


def _ids(session, column, where) -> list[int]:
    return list(session.scalars(select(column).where(where).order_by(column)))


def _organisations(session, counties: int) -> dict[str, list[int]]:
    from app.orgs.models import AllianceMembership, Organisation, OrgKind

    per = PER_COUNTY
    rows = []
    for c in range(counties):
        rows.append({"name": f"县{c:03d}产业链综合党委", "kind": OrgKind.committee})
        rows += [{"name": f"县{c:03d}部门{d:02d}", "kind": OrgKind.department} for d in range(per["departments"])]
        rows += [{"name": f"县{c:03d}产业链党建联盟{a}", "kind": OrgKind.alliance} for a in range(per["alliances"])]
        rows += [{"name": f"县{c:03d}企业{e:03d}有限公司", "kind": OrgKind.enterprise} for e in range(per["enterprises"])]
    _batched(session, Organisation, rows, "organisations")
    ids = {kind.value: _ids(session, Organisation.id, Organisation.kind == kind) for kind in OrgKind}
    enterprises, alliances = ids["enterprise"], ids["alliance"]
    per_alliance = per["enterprises"] // per["alliances"]

    def alliance_of(i: int) -> int:
        county, within = divmod(i, per["enterprises"])
        return alliances[county * per["alliances"] + min(within // per_alliance, per["alliances"] - 1)]

    memberships = [{"alliance_id": alliance_of(i), "enterprise_id": enterprise, "is_chain_leader": i % 20 == 0}
                   for i, enterprise in enumerate(enterprises)]
    _batched(session, AllianceMembership, memberships, "memberships")
    return ids


def _people_and_staff(session, ids: dict[str, list[int]], counties: int) -> tuple[list[int], list[int], list[str]]:
    from werkzeug.security import generate_password_hash

    from app.auth.models import User, password_hash_method
    from app.core.roles import Role
    from app.orgs.models import Person

    contacts = [{"name": f"联系人{i:05d}", "email": f"contact{i}@load.example", "phone": f"139{i:08d}",
                 "organisation_id": org} for i, org in enumerate(ids["enterprise"])]
    _batched(session, Person, contacts, "contacts")
    contact_ids = _ids(session, Person.id, Person.email.like("contact%@load.example"))
    staff_rows = [{"name": f"组织员{i:04d}", "email": f"staff{i}@load.example", "organisation_id": ids["committee"][i // 3]}
                  for i in range(counties * PER_COUNTY["staff"])]
    _batched(session, Person, staff_rows, "staff")
    staff_people = _ids(session, Person.id, Person.email.like("staff%@load.example"))
    password = generate_password_hash(STAFF_PASSWORD, method=password_hash_method())
    _batched(session, User, [{"person_id": p, "role": Role.organiser, "password_hash": password} for p in staff_people],
             "accounts")
    return contact_ids, staff_people, [row["email"] for row in staff_rows]


def _activities(session, ids, staff_people, counties: int, now: datetime, rng: random.Random) -> list[int]:
    from app.events.models import Activity, ActivityKind, ActivityStatus
    from app.orgs.models import Venue

    per = PER_COUNTY
    _batched(session, Venue, [{"name": f"县{v // per['venues']:03d}会场{v % per['venues']}", "address": "县委党校",
                               "capacity": 200} for v in range(counties * per["venues"])], "venues")
    venues = _ids(session, Venue.id, Venue.id.is_not(None))
    kinds = [ActivityKind.salon, ActivityKind.roundtable, ActivityKind.themed_day, ActivityKind.afternoon_tea]
    # Half a year back and half a year ahead: feeds show both, invitees answer the coming ones.
    year_start = (now - timedelta(days=180)).replace(hour=1, minute=0, second=0, microsecond=0)
    rows = []
    for c in range(counties):
        for n in range(per["activities"]):
            # Each venue holds one activity a day at most: no clash for the exclusion constraint.
            venue = venues[c * per["venues"] + n % per["venues"]]
            start = year_start + timedelta(days=(n // per["venues"]) * 8 + rng.randrange(0, 7), hours=rng.randrange(0, 8))
            rows.append({
                "kind": kinds[n % 4], "title": f"县{c:03d}第{n}期 党建联盟活动：政策宣讲与融资对接",
                "agenda": "一、政策解读\n二、企业交流\n三、问题收集", "host_id": ids["committee"][c],
                "alliance_id": ids["alliance"][c * per["alliances"] + n % per["alliances"]], "venue_id": venue,
                "starts_at": start, "ends_at": start + timedelta(hours=2), "status": ActivityStatus.published,
                "organiser_id": staff_people[c * per["staff"]], "created_at": year_start, "updated_at": year_start,
            })
    _batched(session, Activity, rows, "activities")
    return _ids(session, Activity.id, Activity.id.is_not(None))


def _invitations(session, activities, contact_ids, now, rng) -> list[str]:
    """About six invitations per activity; returns the answer tokens of activities still to come."""
    from app.events.models import Activity
    from app.invitations.models import Invitation, InvitationToken
    from app.invitations.tokens import hash_token
    from app.orgs.models import Person

    per = PER_COUNTY
    coming = set(session.scalars(select(Activity.id).where(Activity.starts_at > now + timedelta(days=2))))
    organisation_of = dict(session.execute(select(Person.id, Person.organisation_id).where(Person.id.in_(contact_ids))).all())
    rows, tokens = [], []
    for index, activity in enumerate(activities):
        county = index // per["activities"]
        pool = contact_ids[county * per["enterprises"]:(county + 1) * per["enterprises"]]
        for person in rng.sample(pool, per["invitations_per_activity"]):
            token = f"load-answer-{len(rows):08d}"
            if activity in coming:
                tokens.append(token)
            rows.append({"activity_id": activity, "person_id": person, "organisation_id": organisation_of[person],
                         "token_hash": hash_token(token), "checkin_code": f"L{len(rows):07d}", "sent_at": now})
    _batched(session, Invitation, rows, "invitations")
    by_hash = dict(session.execute(select(Invitation.token_hash, Invitation.id)).all())
    _batched(session, InvitationToken, [{"invitation_id": by_hash[r["token_hash"]], "token_hash": r["token_hash"],
                                         "created_at": now} for r in rows], "answer links")
    return tokens


def _large_event(session, ids, contact_ids, staff_people, now) -> tuple[int, list[str]]:
    """One event with 500 invitees checking in during the run."""
    from app.events.models import Activity, ActivityKind, ActivityStatus
    from app.invitations.models import Invitation
    from app.invitations.tokens import hash_token
    from app.orgs.models import Person

    starts = now - timedelta(minutes=30)
    activity = Activity(kind=ActivityKind.themed_day, title="全省产业链党建联盟推进大会", host_id=ids["committee"][0],
                        location_note="省委党校大礼堂", starts_at=starts, ends_at=starts + timedelta(hours=4),
                        status=ActivityStatus.published, organiser_id=staff_people[0], created_at=now, updated_at=now)
    session.add(activity)
    session.flush()
    people = contact_ids[:500]
    organisation_of = dict(session.execute(select(Person.id, Person.organisation_id).where(Person.id.in_(people))).all())
    codes = [f"BIG{n:05d}" for n in range(len(people))]
    session.execute(insert(Invitation), [
        {"activity_id": activity.id, "person_id": p, "organisation_id": organisation_of[p], "answer": "accepted",
         "seats": 1, "token_hash": hash_token(f"load-big-{n}"), "checkin_code": codes[n], "sent_at": now}
        for n, p in enumerate(people)
    ])
    return activity.id, codes


def _problems(session, ids, counties: int, rng: random.Random) -> None:
    from app.problems.models import Problem, ProblemCategory, ProblemStatus, Satisfaction

    per = PER_COUNTY
    statuses, categories = list(ProblemStatus), list(ProblemCategory)
    rows = []
    for c in range(counties):
        enterprises = ids["enterprise"][c * per["enterprises"]:(c + 1) * per["enterprises"]]
        departments = ids["department"][c * per["departments"]:(c + 1) * per["departments"]]
        for _ in range(per["problems"]):
            status = rng.choice(statuses)
            raised = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=rng.randrange(0, 330 * 24 * 60))
            resolved = status in (ProblemStatus.resolved, ProblemStatus.closed)
            rows.append({
                "enterprise_id": rng.choice(enterprises), "category": rng.choice(categories),
                "description": "企业反映的困难诉求" * rng.randint(1, 4), "status": status,
                "department_id": rng.choice(departments), "raised_at": raised, "created_at": raised,
                "updated_at": raised, "deadline": (raised + timedelta(days=rng.randrange(3, 30))).date(),
                "resolved_on": (raised + timedelta(days=rng.randrange(1, 35))).date() if resolved else None,
                "resolved_on_site": resolved and rng.random() < 0.3, "resolution": "已办结" if resolved else None,
                "satisfaction": rng.choice(list(Satisfaction)) if resolved else None,
                "loan_amount_wan": Decimal(rng.randrange(10, 900)) if rng.random() < 0.05 else None,
            })
    _batched(session, Problem, rows, "problems")


def _feeds(session, ids, counties: int) -> list[str]:
    from app.feeds.models import FeedKind, FeedToken
    from app.feeds.services import hash_token

    tokens = [f"load-feed-{n:07d}" for n in range(counties * PER_COUNTY["feeds"])]
    enterprises = ids["enterprise"]
    _batched(session, FeedToken, [
        {"name": "日历订阅", "kind": FeedKind.organisation, "organisation_id": enterprises[n % len(enterprises)],
         "token_hash": hash_token(token)} for n, token in enumerate(tokens)
    ], "feeds")
    return tokens


def generate(app, counties: int, now: datetime, seed: int = 7) -> dict:
    """Insert `counties` counties' worth of data; return what the virtual users need."""
    from app.core.unit_of_work import unit_of_work
    from app.extensions import db
    from app.problems.models import Problem

    rng = random.Random(seed)
    with app.app_context(), unit_of_work():
        session = db.session
        ids = _organisations(session, counties)
        contacts, staff_people, staff_emails = _people_and_staff(session, ids, counties)
        activities = _activities(session, ids, staff_people, counties, now, rng)
        answer_tokens = _invitations(session, activities, contacts, now, rng)
        big_event, codes = _large_event(session, ids, contacts, staff_people, now)
        _problems(session, ids, counties, rng)
        feed_tokens = _feeds(session, ids, counties)
        problem_ids = list(session.scalars(select(Problem.id).order_by(Problem.id).limit(SAMPLE)))
    after_bulk_load(app)
    pick = random.Random(seed + 1)
    return {
        "counties": counties,
        "staff": staff_emails[:SAMPLE],
        "password": STAFF_PASSWORD,
        "feeds": pick.sample(feed_tokens, min(SAMPLE, len(feed_tokens))),
        "answers": pick.sample(answer_tokens, min(SAMPLE, len(answer_tokens))),
        "activities": pick.sample(activities, min(SAMPLE, len(activities))),
        "problems": problem_ids,
        "big_event": big_event,
        "checkin_codes": codes,
    }


def after_bulk_load(app) -> None:
    """Bring what the services keep up to date (summaries, statistics) in line with the bulk insert."""
    from app.core.unit_of_work import unit_of_work
    from app.extensions import db
    from app.stats.rebuild import rebuild

    with app.app_context():
        # The inserts bypassed the ORM flushes that keep the dashboard's roll-ups (as `flask stats rebuild`).
        with unit_of_work():
            rebuild(db.session.connection())
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.exec_driver_sql("VACUUM ANALYZE")
