"""The dashboard read from the ledger's summaries equals the plain recount, after any history.

A seeded random history goes through the ledger's own services and steps (every transition,
refused steps rolled back in a savepoint, withdrawals, deletions, category, department and date
corrections, alliance members joining and leaving); then, for several filter combinations, every
dashboard figure read from the summaries must equal the same figure counted from the problems,
and `flask stats rebuild --check` finds nothing to correct. On PostgreSQL, writers racing behind
a barrier on the same roll-up rows leave them exact.
"""

from __future__ import annotations

import random
import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.core.errors import ConcurrentChange, ValidationFailed
from app.extensions import db
from app.orgs.models import AllianceMembership, OrgKind
from app.problems import services as problem_services
from app.problems import transitions
from app.problems.models import Problem, ProblemCategory, Satisfaction
from app.problems.queries import LedgerFilter
from app.stats import recount, summaries
from app.stats.models import LedgerRollup
from app.stats.rebuild import differences
from tests import factories

TODAY = date(2026, 7, 1)
CATEGORIES = list(ProblemCategory)


def random_moment(rng: random.Random) -> datetime:
    """Anywhere from mid-December 2025 to the end of 2026 (two years, month and year edges)."""
    return datetime(2025, 12, 15, tzinfo=UTC) + timedelta(minutes=rng.randrange(0, 382 * 24 * 60))


def step_fields(rng: random.Random, action: str, problem: Problem, departments: list) -> dict:
    """Plausible form fields for a step (some of them refused, as a person's would be)."""
    department = rng.choice(departments).id
    return {
        "assign": {"department_id": department, "deadline": None, "note": "交办"},
        "reassign": {"department_id": department, "deadline": None, "reason": "转办"},
        "start": {"note": None},
        "resolve": {"resolution": "已解决", "loan_amount_wan": Decimal(rng.randrange(1, 900)) / 4 if rng.random() < 0.5 else None},
        "return": {"reason": "非本部门职责"},
        "close": {"note": None},
        "reopen": {"reason": "不满意"},
        "withdraw": {"reason": "企业撤回"},
        "request_extension": {"until": (problem.deadline or TODAY) + timedelta(days=rng.randrange(1, 20)), "reason": "需要时间"},
        "decide_extension": {"approve": rng.random() < 0.5, "note": None},
        "satisfaction": {"satisfaction": rng.choice(list(Satisfaction)), "comment": None},
    }[action]


def correct(rng: random.Random, problem: Problem, departments: list, enterprises: list) -> None:
    """A data correction made directly on the row: category, department, enterprise or date."""
    choice = rng.randrange(4)
    if choice == 0:
        problem.category = rng.choice(CATEGORIES)
    elif choice == 1:
        problem.department = rng.choice(departments + [None])
    elif choice == 2:
        problem.enterprise = rng.choice(enterprises)
    else:
        problem.raised_at = random_moment(rng)


def change_membership(rng: random.Random, alliances: list, enterprises: list) -> None:
    """An enterprise joins an alliance, or a member leaves."""
    alliance, enterprise = rng.choice(alliances), rng.choice(enterprises)
    membership = db.session.scalar(
        select(AllianceMembership).where(AllianceMembership.alliance_id == alliance.id, AllianceMembership.enterprise_id == enterprise.id)
    )
    if membership is None:
        db.session.add(AllianceMembership(alliance=alliance, enterprise=enterprise))
    else:
        db.session.delete(membership)


def one_operation(rng: random.Random, world: dict) -> None:
    """A random operation on the ledger, in a savepoint (refused steps write nothing)."""
    problems = list(db.session.scalars(select(Problem).order_by(Problem.id)))
    kind = rng.random()
    with db.session.begin_nested() as savepoint:
        try:
            if kind < 0.25 or not problems:
                problem_services.record_problem(
                    enterprise_id=rng.choice(world["enterprises"]).id, category=rng.choice(CATEGORIES), description="企业诉求",
                    now=random_moment(rng), recorder=None,
                    department_id=rng.choice(world["departments"]).id if rng.random() < 0.4 else None,
                    resolved_on_site=rng.random() < 0.1, resolution="现场解决",
                )
            elif kind < 0.75:
                problem = rng.choice(problems)
                # Mostly a step the problem's status allows; sometimes any (refused, rolled back).
                allowed = [a for a in transitions.STEPS if problem.status in transitions.TRANSITIONS[a][0]]
                action = rng.choice(allowed if allowed and rng.random() < 0.8 else list(transitions.STEPS))
                fields = step_fields(rng, action, problem, world["departments"])
                transitions.STEPS[action](problem, None, now=random_moment(rng), **fields)
            elif kind < 0.85:
                correct(rng, rng.choice(problems), world["departments"], world["enterprises"])
            elif kind < 0.93:
                change_membership(rng, world["alliances"], world["enterprises"])
            else:
                db.session.delete(rng.choice(problems))
            db.session.flush()
        except (ValidationFailed, ConcurrentChange):
            savepoint.rollback()


@pytest.fixture
def world(app):
    """Departments, alliances (some members in two) and enterprises; committed."""
    world = {
        "departments": [factories.organisation(OrgKind.department) for _ in range(4)],
        "alliances": [factories.organisation(OrgKind.alliance) for _ in range(3)],
        "enterprises": [factories.organisation(OrgKind.enterprise) for _ in range(12)],
    }
    for index, enterprise in enumerate(world["enterprises"]):
        factories.member(world["alliances"][index % 3], enterprise)
        if index % 4 == 0:
            factories.member(world["alliances"][(index + 1) % 3], enterprise)
    db.session.commit()
    return world


def filter_combinations(world: dict) -> list[LedgerFilter]:
    """The dashboard's filters: all time, a year, part of a year, with alliance, department, category."""
    alliance, department = world["alliances"][0].id, world["departments"][1].id
    year = {"start": date(2026, 1, 1), "end": date(2026, 12, 31)}
    return [
        LedgerFilter(),
        LedgerFilter(**year),
        LedgerFilter(start=date(2025, 1, 1), end=date(2025, 12, 31)),
        LedgerFilter(start=date(2025, 12, 20), end=date(2026, 8, 10)),
        LedgerFilter(start=date(2026, 3, 1), end=date(2026, 5, 31), category=ProblemCategory.tax),
        LedgerFilter(start=date(2026, 4, 15), end=date(2026, 4, 20)),
        LedgerFilter(start=date(2026, 6, 2)),
        LedgerFilter(end=date(2026, 2, 27), department_id=department),
        LedgerFilter(**year, alliance_id=alliance),
        LedgerFilter(**year, department_id=department),
        LedgerFilter(**year, category=ProblemCategory.financing),
        LedgerFilter(alliance_id=world["alliances"][2].id, department_id=department),
        LedgerFilter(start=date(2026, 2, 10), end=date(2026, 11, 30), alliance_id=alliance, category=ProblemCategory.dispute),
    ]


def assert_summaries_equal_recount(world: dict) -> int:
    """Every figure for every filter combination; returns how many problems the ledger holds."""
    for filters in filter_combinations(world):
        assert summaries.covers(filters, None)
        counted = recount.problem_figures(filters, TODAY)
        assert summaries.problem_figures(filters, TODAY) == {**counted, "loans_wan": Decimal(counted["loans_wan"])}, filters
        assert summaries.monthly_trend(filters) == recount.monthly_trend(filters), filters
        assert summaries.by_department(filters, TODAY) == recount.by_department(filters, TODAY), filters
        assert summaries.by_category(filters) == recount.by_category(filters), filters
    assert set(differences(db.session.connection()).values()) == {0}
    return db.session.scalar(select(func.count(Problem.id)))


def test_random_history_keeps_the_summaries_equal_to_the_recount(app, world):
    rng = random.Random(15)
    for round_number in range(6):
        for _ in range(60):
            one_operation(rng, world)
        db.session.commit()
        held = assert_summaries_equal_recount(world)
        assert held > 5 * round_number  # the history is not empty
    # The figures are not all zero: the comparison above compared something.
    whole = recount.problem_figures(LedgerFilter(), TODAY)
    assert whole["resolved"] and whole["overdue"] and whole["loans_wan"] and whole["enterprises"] > 3


def test_a_rolled_back_change_leaves_the_summaries_as_they_were(app, world):
    factories.problem(world["enterprises"][0], raised_at=datetime(2026, 3, 9, tzinfo=UTC))
    db.session.commit()
    before = summaries.problem_figures(LedgerFilter(), TODAY)
    factories.problem(world["enterprises"][1], status="resolved", raised_at=datetime(2026, 3, 9, tzinfo=UTC))
    assert summaries.problem_figures(LedgerFilter(), TODAY)["collected"] == before["collected"] + 1
    db.session.rollback()
    assert summaries.problem_figures(LedgerFilter(), TODAY) == before


def test_rebuild_command_recomputes_from_scratch(app, world, runner):
    rng = random.Random(3)
    for _ in range(40):
        one_operation(rng, world)
    db.session.commit()
    filters = [LedgerFilter(), LedgerFilter(start=date(2026, 1, 1), end=date(2026, 12, 31))]
    wanted = [summaries.problem_figures(f, TODAY) for f in filters]
    db.session.execute(LedgerRollup.__table__.update().values(collected=LedgerRollup.collected + 7))
    db.session.commit()
    assert runner.invoke(args=["stats", "rebuild", "--check"]).exit_code == 1
    result = runner.invoke(args=["stats", "rebuild"])
    assert result.exit_code == 0 and "ledger_rollup:" in result.output
    db.session.expire_all()
    assert runner.invoke(args=["stats", "rebuild", "--check"]).exit_code == 0
    assert [summaries.problem_figures(f, TODAY) for f in filters] == wanted


def test_narrower_filters_and_contacts_are_counted_from_the_ledger(app, world):
    assert not summaries.covers(LedgerFilter(enterprise_id=world["enterprises"][0].id), None)
    assert not summaries.covers(LedgerFilter(q="退税"), None)
    assert not summaries.covers(LedgerFilter(), Problem.enterprise_id == world["enterprises"][0].id)


WRITERS = 8


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_concurrent_writers_leave_the_summaries_exact(app, world):
    # Plain ids: the world's objects belong to the test's session, not to the writers' own.
    shared, department = world["enterprises"][0].id, world["departments"][0].id
    others = [e.id for e in world["enterprises"]]
    raised = datetime(2026, 5, 6, 2, tzinfo=UTC)
    barrier = threading.Barrier(WRITERS, timeout=60)
    errors: list[BaseException] = []

    def writer(index: int) -> None:
        # Every writer lands on the same roll-up row, the same enterprise tallies and counters.
        with app.app_context():
            try:
                barrier.wait()
                problem = problem_services.record_problem(
                    enterprise_id=shared if index % 2 else others[index], category=ProblemCategory.tax,
                    description="并发", now=raised, recorder=None, department_id=department,
                )
                db.session.commit()
                barrier.wait()
                transitions.resolve(problem, None, resolution="办结", now=raised + timedelta(days=2), loan_amount_wan=Decimal(index))
                db.session.commit()
                barrier.wait()
                if index % 3 == 0:
                    db.session.delete(db.session.get(Problem, problem.id))
                else:
                    transitions.give_satisfaction(problem, None, satisfaction=Satisfaction.satisfied, comment=None, now=raised + timedelta(days=3))
                db.session.commit()
            except BaseException as error:  # reported below, in the test's thread
                errors.append(error)
                barrier.abort()  # the others stop waiting for this writer
                db.session.rollback()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    db.session.expire_all()
    figures = summaries.problem_figures(LedgerFilter(), TODAY)
    kept = len([n for n in range(WRITERS) if n % 3])
    assert (figures["collected"], figures["resolved"], figures["satisfied"]) == (kept, kept, kept)
    kept_writers = [n for n in range(WRITERS) if n % 3]
    assert figures["loans_wan"] == sum(Decimal(n) for n in kept_writers)
    with_loans = {shared if n % 2 else others[n] for n in kept_writers if n > 0}
    assert figures["loan_enterprises"] == len(with_loans) and figures["enterprises"] == len(with_loans)
    assert_summaries_equal_recount(world)
