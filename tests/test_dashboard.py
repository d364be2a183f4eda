"""Dashboard figures: each computed independently in Python from a known fixture, then compared."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from app.extensions import db
from app.orgs.models import OrgKind
from app.problems.models import (
    OPEN_STATUSES,
    RESOLVED_STATUSES,
    ActivityRecord,
    Outcome,
    OutcomeKind,
    ProblemCategory,
    ProblemStatus,
    Satisfaction,
)
from app.problems.queries import LedgerFilter
from app.stats import services
from tests import factories

TODAY = date(2026, 6, 15)
NOW = datetime(2026, 6, 15, 2, 0, tzinfo=UTC)


@pytest.fixture
def fixture(app):
    """60 problems with seeded random attributes; returns their plain descriptions."""
    rng = random.Random(7)
    alliance = factories.organisation(OrgKind.alliance)
    departments = [factories.organisation(OrgKind.department) for _ in range(3)]
    enterprises = [factories.organisation(OrgKind.enterprise) for _ in range(8)]
    for e in enterprises[:4]:
        factories.member(alliance, e)
    theme = factories.theme(year=2026, month=3)
    activities = [
        factories.activity(theme=theme, status="completed", starts_at=datetime(2026, 3, 12, 6, 0, tzinfo=UTC)),
        factories.activity(alliance=alliance, status="completed", starts_at=datetime(2026, 4, 7, 6, 0, tzinfo=UTC)),
        factories.activity(status="cancelled", starts_at=datetime(2026, 5, 7, 6, 0, tzinfo=UTC)),
        factories.activity(status="published", starts_at=datetime(2026, 9, 7, 6, 0, tzinfo=UTC)),
    ]
    db.session.add(ActivityRecord(activity=activities[0], expected=40, present=30))
    db.session.add(ActivityRecord(activity=activities[1], expected=20, present=19))
    plain = []
    for _index in range(60):
        status = rng.choice(list(ProblemStatus))
        raised = datetime(2026, 1, 5, 2, 0, tzinfo=UTC) + timedelta(days=rng.randrange(0, 300))
        deadline = (raised + timedelta(days=rng.randrange(-10, 40))).date() if rng.random() < 0.8 else None
        resolved_on = (raised + timedelta(days=rng.randrange(0, 30))).date() if status in RESOLVED_STATUSES else None
        item = {
            "enterprise": rng.choice(enterprises), "category": rng.choice(list(ProblemCategory)), "status": status,
            "department": rng.choice(departments + [None]), "activity": rng.choice(activities[:2] + [None]),
            "raised_at": raised, "deadline": deadline, "resolved_on": resolved_on,
            "resolved_on_site": status in RESOLVED_STATUSES and rng.random() < 0.3,
            "satisfaction": rng.choice(list(Satisfaction) + [None]) if status in RESOLVED_STATUSES else None,
            "loan_amount_wan": Decimal(rng.randrange(50, 500)) if rng.random() < 0.2 else None,
        }
        plain.append(item)
        factories.problem(
            item["enterprise"], category=item["category"].value, status=status.value, department=item["department"],
            activity=item["activity"], raised_at=raised, deadline=deadline, resolved_on=resolved_on,
            resolved_on_site=item["resolved_on_site"], satisfaction=item["satisfaction"], loan_amount_wan=item["loan_amount_wan"],
        )
    db.session.add(Outcome(kind=OutcomeKind.loan, recorded_on=date(2026, 4, 20), amount_wan=Decimal("1000"), enterprise_count=7, alliance_id=alliance.id, note="银企对接"))
    db.session.add(Outcome(kind=OutcomeKind.mediation, recorded_on=date(2026, 5, 20), cases=5, note="调解"))
    db.session.commit()
    return {"plain": plain, "alliance": alliance, "departments": departments, "theme": theme, "enterprises": enterprises, "activities": activities}


def expected(items, outcome_loans=Decimal(0), outcome_enterprises=0, mediations=0):
    resolved = [p for p in items if p["status"] in RESOLVED_STATUSES]
    rated = [p for p in items if p["satisfaction"] is not None]
    return {
        "collected": len(items),
        "resolved": len(resolved),
        "on_site": sum(1 for p in resolved if p["resolved_on_site"]),
        "on_time": sum(1 for p in resolved if p["deadline"] is None or p["resolved_on"] <= p["deadline"]),
        "rated": len(rated),
        "satisfied": sum(1 for p in rated if p["satisfaction"] != Satisfaction.unsatisfied),
        "overdue": sum(1 for p in items if p["status"] in OPEN_STATUSES and p["deadline"] and p["deadline"] < TODAY),
        "enterprises": len({p["enterprise"].id for p in items}),
        "loans_wan": sum((p["loan_amount_wan"] or Decimal(0) for p in items), Decimal(0)) + outcome_loans,
        "loan_enterprises": len({p["enterprise"].id for p in items if p["loan_amount_wan"]}) + outcome_enterprises,
        "disputes_mediated": sum(1 for p in resolved if p["category"] == ProblemCategory.dispute) + mediations,
    }


def actual(f: services.Figures) -> dict:
    return {key: getattr(f, key) for key in expected([])}


def test_all_figures_match_an_independent_count(fixture):
    figures = services.figures(LedgerFilter(), NOW, TODAY)
    assert actual(figures) == expected(fixture["plain"], Decimal(1000), 7, 5)
    assert figures.activities_held == 2  # completed ones; the cancelled and the future do not count
    assert (figures.expected, figures.present) == (60, 49)
    assert figures.resolution_rate == figures.resolved / figures.collected
    assert figures.on_time_rate == figures.on_time / figures.resolved


@pytest.mark.parametrize("which", ["period", "alliance", "department", "theme", "enterprise"])
def test_filtered_figures_match(fixture, which):
    plain = fixture["plain"]
    members = {e.id for e in fixture["enterprises"][:4]}
    department = fixture["departments"][0]
    theme_activity = fixture["activities"][0]
    enterprise = fixture["enterprises"][5]
    start, end = date(2026, 3, 1), date(2026, 5, 31)

    def local_day(p):
        return (p["raised_at"] + timedelta(hours=8)).date()

    cases = {
        "period": (LedgerFilter(start=start, end=end), [p for p in plain if start <= local_day(p) <= end], (Decimal(1000), 7, 5)),
        "alliance": (LedgerFilter(alliance_id=fixture["alliance"].id), [p for p in plain if p["enterprise"].id in members], (Decimal(1000), 7, 0)),
        "department": (LedgerFilter(department_id=department.id), [p for p in plain if p["department"] is department], (0, 0, 0)),
        "theme": (LedgerFilter(theme_id=fixture["theme"].id), [p for p in plain if p["activity"] is theme_activity], (0, 0, 0)),
        "enterprise": (LedgerFilter(enterprise_id=enterprise.id), [p for p in plain if p["enterprise"] is enterprise], (0, 0, 0)),
    }
    filters, items, (loans, loan_enterprises, mediations) = cases[which]
    assert items, "the fixture must give each filter something to count"
    assert actual(services.figures(filters, NOW, TODAY)) == expected(items, Decimal(loans), loan_enterprises, mediations)


def test_trend_and_breakdowns(fixture):
    plain = fixture["plain"]
    trend = services.monthly_trend(LedgerFilter())
    by_month = {}
    for p in plain:
        month = (p["raised_at"] + timedelta(hours=8)).strftime("%Y-%m")
        collected, resolved = by_month.get(month, (0, 0))
        by_month[month] = (collected + 1, resolved + (p["status"] in RESOLVED_STATUSES))
    assert {m: (c, r) for m, c, r in trend} == by_month
    categories = {c: (n, r) for c, n, r in services.by_category(LedgerFilter())}
    for category in ProblemCategory:
        items = [p for p in plain if p["category"] == category]
        if items:
            assert categories[category] == (len(items), sum(p["status"] in RESOLVED_STATUSES for p in items))
    departments = services.by_department(LedgerFilter(), TODAY)
    assert sum(a for _n, a, _r, _o in departments) == sum(1 for p in plain if p["department"] is not None)


def test_dashboard_page_and_charts(fixture, client, login_as):
    login_as("organiser")
    page = client.get("/dashboard?year=2026")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "<svg" in body and "办结率" in body
    figures = services.figures(LedgerFilter(start=date(2026, 1, 1), end=date(2026, 12, 31)), NOW, TODAY)
    assert f'id="fig-collected">{figures.collected}<' in body



@pytest.mark.parametrize("now", [datetime(2026, 6, 15, 2, 0, tzinfo=UTC), datetime(2026, 12, 31, 2, 0, tzinfo=UTC)])
def test_demo_year_shows_the_report(app, client, now):
    from app.demo.services import load

    load(now=now)
    load(now=now)  # idempotent
    db.session.commit()
    today = now.date()
    figures = services.figures(LedgerFilter(start=date(2026, 1, 1), end=date(2026, 12, 31)), now, today)
    assert figures.collected == 72
    assert figures.resolved == 38
    assert figures.loans_wan == Decimal("36700")
    assert figures.loans_yi == Decimal("3.67")
    assert figures.loan_enterprises == 88
    assert figures.disputes_mediated == 50
    response = client.post("/login", data={"email": "organiser@linghang.demo", "password": "linghang-demo"})
    assert response.status_code == 302
    body = client.get("/dashboard?year=2026").get_data(as_text=True)
    for fragment in ('id="fig-collected">72<', 'id="fig-resolved">38<', "3.67 亿元", 'id="fig-loan-enterprises">88<', 'id="fig-disputes">50<'):
        assert fragment in body


def test_attendance_rate_from_check_in(app):
    from app.problems.models import ActivityRecord as Record

    invited = factories.activity(status="completed", starts_at=datetime(2026, 3, 2, 6, 0, tzinfo=UTC))
    recorded = factories.activity(status="completed", starts_at=datetime(2026, 3, 3, 6, 0, tzinfo=UTC))
    # 2 seats expected: one checked in 2 people for its 1 seat (counts 1), one did not come; a decline does not count.
    factories.answered_invitation(invited, checked_in_count=2)
    factories.answered_invitation(invited, checked_in_count=0)
    factories.answered_invitation(invited, answer="declined")
    db.session.add(Record(activity=recorded, expected=10, present=7))
    db.session.commit()
    figures = services.figures(LedgerFilter(), NOW, TODAY)
    assert (figures.expected, figures.present) == (2 + 10, 1 + 7)
