"""Conflicting steps on one problem, posted at once by two people: exactly one wins.

Each round two logged-in clients open the problem's page (the page carries the latest step it
showed), wait behind a barrier and post their steps from two threads. The step that runs second
finds the problem locked (PostgreSQL: SELECT … FOR UPDATE; SQLite: the database's write lock, with
its busy timeout), reads it again after the lock and is refused with the translated "someone else
handled it" message, writing nothing. Without the lock both steps succeed in most rounds.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from dataclasses import dataclass
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, select

from app.auth.models import User
from app.core.clock import utcnow
from app.core.errors import ConcurrentChange, ValidationFailed
from app.extensions import db
from app.orgs.models import Organisation, OrgKind
from app.problems import services, transitions
from app.problems.models import ExtensionState, Problem, ProblemCategory, ProblemStatus, ProblemStep
from tests import factories
from tests.conftest import RequestContextClient

ROUNDS = 20
HANDLED_ELSEWHERE = "该问题已被他人处理，请刷新后重试"
S = ProblemStatus


@dataclass
class Office:
    department: Organisation
    enterprise: Organisation
    liaison: User
    colleague: User
    contact: User


@pytest.fixture
def office(app) -> Office:
    department = factories.organisation(OrgKind.department, name="县税务局")
    enterprise = factories.organisation(OrgKind.enterprise, name="立伟轻工")
    office = Office(
        department, enterprise, factories.user("liaison", org=department),
        factories.user("liaison", org=department), factories.user("contact", org=enterprise),
    )
    db.session.commit()
    return office


def logged_in(app: Flask, user: User) -> FlaskClient:
    """A client of its own (its own cookie jar) logged in as the account."""
    app.test_client_class = RequestContextClient
    client = app.test_client()
    response = client.post("/login", data={"email": user.email, "password": factories.PASSWORD})
    assert response.status_code == 302
    return client


def problem_in_progress(office: Office) -> int:
    """A problem recorded, assigned on the spot and started, through the services."""
    now = utcnow()
    problem = services.record_problem(
        enterprise_id=office.enterprise.id, category=ProblemCategory.tax, description="留抵退税进度慢",
        now=now, recorder=None, department_id=office.department.id,
    )
    transitions.start(problem, office.liaison.person, note=None, now=now)
    db.session.commit()
    return problem.id


def seen_on_page(client: FlaskClient, problem_id: int) -> str:
    """The latest step the problem's page showed (the hidden field of its step forms)."""
    page = client.get(f"/problems/{problem_id}")
    assert page.status_code == 200
    return re.search(r'name="seen" value="(\d+)"', page.get_data(as_text=True)).group(1)


def race(clients: list[FlaskClient], posts: list[tuple[str, dict]]) -> list:
    """Post each client's step at the same moment; the responses in the same order."""
    barrier = threading.Barrier(len(clients))
    responses: list = [None] * len(clients)

    def post(index: int) -> None:
        url, data = posts[index]
        barrier.wait(timeout=30)
        try:
            with clients[index].application.app_context():  # the client's own request context per request
                responses[index] = clients[index].post(url, data=data)
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            responses[index] = error

    threads = [threading.Thread(target=post, args=(index,)) for index in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return responses


def impossible(problem: Problem) -> list[str]:
    """What is wrong with a problem's state (empty when it is consistent)."""
    wrong = []
    if problem.status in (S.resolved, S.closed) and (problem.resolution is None or problem.resolved_on is None):
        wrong.append("resolved without a resolution")
    if problem.status not in (S.resolved, S.closed) and (problem.resolution is not None or problem.resolved_on is not None):
        wrong.append(f"{problem.status} yet carrying a resolution")
    if problem.extension_state == ExtensionState.pending and problem.status not in (S.assigned, S.in_progress):
        wrong.append(f"{problem.status} with an extension pending")
    return wrong


# scenario → the two clients' accounts and steps (action, form data; the deadline for extensions)
SCENARIOS = {
    "resolve-vs-return": [
        ("liaison", "resolve", {"resolution": "已办理退税"}),
        ("colleague", "return", {"reason": "非本部门职责"}),
    ],
    "withdraw-vs-resolve": [
        ("contact", "withdraw", {"reason": "企业已自行解决"}),
        ("liaison", "resolve", {"resolution": "已办理退税"}),
    ],
    "two-extensions": [
        ("liaison", "request_extension", {"until": "+30", "reason": "需要省厅批复"}),
        ("colleague", "request_extension", {"until": "+40", "reason": "等待材料"}),
    ],
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_conflicting_steps_one_wins_and_history_agrees(app, office, scenario):
    sides = SCENARIOS[scenario]
    clients = [logged_in(app, getattr(office, account)) for account, _action, _data in sides]
    outcomes = {"winners": [], "refused_cleanly": 0, "impossible": []}
    for _round in range(ROUNDS):
        problem_id = problem_in_progress(office)
        deadline = db.session.get(Problem, problem_id).deadline
        steps_before = db.session.scalar(select(func.count()).select_from(ProblemStep).where(ProblemStep.problem_id == problem_id))
        posts = []
        for client, (_account, action, data) in zip(clients, sides, strict=True):
            data = {**data, "seen": seen_on_page(client, problem_id)}
            if "until" in data:
                data["until"] = (deadline + timedelta(days=int(data["until"]))).isoformat()
            posts.append((f"/problems/{problem_id}/{action}", data))
        responses = race(clients, posts)
        assert not [r for r in responses if isinstance(r, BaseException)], responses
        won = [index for index, r in enumerate(responses) if r.status_code == 302]
        outcomes["winners"].append(len(won))
        lost = [r for r in responses if r.status_code != 302]
        if len(lost) == 1 and lost[0].status_code == 422 and HANDLED_ELSEWHERE in lost[0].get_data(as_text=True):
            outcomes["refused_cleanly"] += 1

        db.session.expire_all()
        problem = db.session.get(Problem, problem_id)
        history = list(db.session.scalars(select(ProblemStep).where(ProblemStep.problem_id == problem_id).order_by(ProblemStep.id)))
        outcomes["impossible"] += impossible(problem)
        if len(won) == 1:
            winner_action = sides[won[0]][1]
            # One step more, the winner's, and the history ends where the problem is.
            assert len(history) == steps_before + 1
            assert history[-1].action == winner_action and history[-1].to_status == problem.status
    assert outcomes == {"winners": [1] * ROUNDS, "refused_cleanly": ROUNDS, "impossible": []}


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_step_that_cannot_get_sqlite_s_write_lock_gets_the_same_clean_message(app, office, backend):
    # Another writer keeps SQLite's write lock past the busy timeout (shortened here): the step
    # is refused with the same message as a lost race, not a 500 "database is locked".
    problem_id = problem_in_progress(office)
    steps_before = db.session.scalar(select(func.count()).select_from(ProblemStep))
    client = logged_in(app, office.liaison)
    seen = seen_on_page(client, problem_id)

    def short_busy_timeout(dbapi_connection, _record, _proxy) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout = 50")

    event.listen(db.engine.pool, "checkout", short_busy_timeout)
    other_writer = sqlite3.connect(db.engine.url.database, isolation_level=None)
    try:
        other_writer.execute("BEGIN IMMEDIATE")
        response = client.post(f"/problems/{problem_id}/resolve", data={"resolution": "已办理退税", "seen": seen})
    finally:
        other_writer.execute("ROLLBACK")
        other_writer.close()
        event.remove(db.engine.pool, "checkout", short_busy_timeout)
        db.engine.dispose()  # later connections get the configured busy timeout again
    assert response.status_code == 422 and HANDLED_ELSEWHERE in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Problem, problem_id).status == S.in_progress
    assert db.session.scalar(select(func.count()).select_from(ProblemStep)) == steps_before


def test_a_step_made_obsolete_since_the_page_is_a_concurrent_change_otherwise_a_plain_refusal(app, office):
    problem_id = problem_in_progress(office)
    problem = db.session.get(Problem, problem_id)
    shown = transitions.latest_step_id(problem_id)
    transitions.resolve(problem, office.liaison.person, resolution="已办理退税", now=utcnow(), seen=shown)
    db.session.commit()
    with pytest.raises(ConcurrentChange, match="该问题已被他人处理"):
        transitions.return_problem(problem, office.colleague.person, reason="非本部门职责", now=utcnow(), seen=shown)
    db.session.rollback()
    # Asked again from a page that showed the resolution: the state's own refusal.
    with pytest.raises(ValidationFailed, match="不能进行此操作") as refusal:
        transitions.return_problem(problem, office.colleague.person, reason="非本部门职责", now=utcnow(), seen=transitions.latest_step_id(problem_id))
    assert not isinstance(refusal.value, ConcurrentChange)
