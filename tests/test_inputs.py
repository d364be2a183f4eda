"""The input layer: text cleaned, NUL refused, ids, dates, amounts and numbers bounded, never a 500."""

from __future__ import annotations

import importlib
import pkgutil
from datetime import date

import pytest
from flask_wtf import FlaskForm
from sqlalchemy import func, select

import app as app_package
from app.core.clock import local_day_bounds
from app.core.forms import Form
from app.core.inputs import clean_text, parse_date, parse_int
from app.extensions import db
from app.orgs.models import Organisation, OrgKind, Venue
from app.problems.models import Problem, ProblemStep
from app.problems.reminders import due_times
from tests import factories


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_clean_text_keeps_text_and_drops_controls():
    assert clean_text("江西\x0b测试\x1b[1m公司\x7f\x85末\u2028尾\x00") == "江西 测试[1m公司 末 尾"
    assert clean_text("一\r\n二\x0b三\t四\x0c五\x9b", multiline=True) == "一\n二\n三\t四\n五"
    assert clean_text("a\tb\rc") == "a b c"
    assert clean_text("中文、emoji 🎉 and (,;\\)") == "中文、emoji 🎉 and (,;\\)"


def test_parsers_bound_numbers_and_dates():
    assert parse_int("2147483647") == 2**31 - 1
    assert parse_int("2147483648") is None and parse_int("99999999999999999999") is None
    assert parse_int("-1", 1) is None and parse_int("١٢") is None and parse_int("1e3") is None
    assert parse_date("2026-03-10") == date(2026, 3, 10)
    assert parse_date("0001-01-01") is None and parse_date("9999-12-31") is None and parse_date("2026-02-30") is None


def test_day_arithmetic_does_not_overflow_at_the_ends_of_the_calendar(app):
    for day in (date.min, date.max):
        start, end = local_day_bounds(day)
        assert start < end
    before, overdue = due_times(date.max)
    assert before < overdue


def test_every_form_goes_through_the_input_layer():
    for module in pkgutil.walk_packages(app_package.__path__, "app."):
        if module.name.endswith(".forms"):
            importlib.import_module(module.name)
    forms = [cls for cls in _subclasses(FlaskForm) if cls.__module__.startswith("app.") and cls is not Form]
    assert len(forms) > 20
    assert [cls.__name__ for cls in forms if not issubclass(cls, Form)] == []


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


@pytest.fixture
def organiser(login_as):
    return login_as("organiser")


def test_control_characters_are_removed_from_text_fields(client, organiser):
    response = client.post(
        "/organisations/new",
        data={"name": "江西\x0b测试\x1b公司\u2028", "kind": "enterprise", "party_branch": "none",
              "description": "第一行\x0b第二行\r\n第三行\x07"},
    )
    assert response.status_code == 302
    org = db.session.scalar(select(Organisation).where(Organisation.kind == OrgKind.enterprise))
    assert org.name == "江西 测试公司"
    assert org.description == "第一行\n第二行\n第三行"


@pytest.mark.parametrize("field", ["name", "description", "address"])
def test_nul_is_refused_with_a_message_and_nothing_is_written(client, organiser, field):
    data = {"name": "某企业", "kind": "enterprise", "party_branch": "none", field: "某\x00企业"}
    before = count(Organisation)
    response = client.post("/organisations/new", data=data)
    assert response.status_code == 200
    assert "不允许包含空字符" in response.get_data(as_text=True)
    assert count(Organisation) == before


@pytest.mark.parametrize("capacity", ["2147483648", "99999999999999999999", "-2147483649"])
def test_integers_are_bounded_to_the_column(client, organiser, capacity):
    response = client.post("/venues/new", data={"name": "会议室", "address": "园区1号", "capacity": capacity})
    assert response.status_code == 200
    assert count(Venue) == 0


@pytest.mark.parametrize("amount", ["1e12", "Infinity", "NaN", "-Infinity", "1000000000000"])
def test_amounts_are_finite_and_fit_numeric_14_2(client, organiser, amount):
    department = factories.organisation(OrgKind.department)
    problem = factories.problem(status="in_progress", department=department)
    db.session.commit()
    before = count(ProblemStep)
    response = client.post(f"/problems/{problem.id}/resolve", data={"resolution": "已放款", "loan_amount_wan": amount})
    assert response.status_code == 422
    assert count(ProblemStep) == before
    assert db.session.get(Problem, problem.id).loan_amount_wan is None


@pytest.mark.parametrize("until", ["0001-01-01", "9999-12-31", "2101-01-01"])
def test_dates_are_within_1900_and_2100(client, organiser, until):
    department = factories.organisation(OrgKind.department)
    problem = factories.problem(status="assigned", department=department, deadline=date(2030, 3, 20))
    db.session.commit()
    before = count(ProblemStep)
    response = client.post(f"/problems/{problem.id}/request_extension", data={"until": until, "reason": "等批复"})
    assert response.status_code == 422
    assert "1900" in response.get_data(as_text=True)
    assert count(ProblemStep) == before


@pytest.mark.parametrize("deadline", ["0001-01-01T00:00", "9999-12-31T23:59"])
def test_an_answer_deadline_out_of_range_is_a_form_error(client, organiser, deadline):
    committee = factories.organisation(OrgKind.committee)
    db.session.commit()
    response = client.post(
        "/activities/new",
        data={"kind": "salon", "title": "沙龙", "starts_at": "2026-12-16T09:30", "ends_at": "2026-12-16T11:30",
              "host_id": str(committee.id), "answer_deadline": deadline, "action": "save"},
    )
    assert response.status_code in (200, 422)
    assert "1900" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/problems?enterprise=2147483648", 400),
        ("/problems?enterprise=abc", 400),
        ("/problems?start=0001-01-01", 400),
        ("/problems?end=9999-12-31", 400),
        ("/problems?start=2026-02-30", 400),
        ("/problems?category=nonsense", 400),
        ("/problems?page=99999999999999999999", 200),
        ("/problems?page=-1", 200),
        ("/problems?q=%00%ff%fe", 200),
        ("/problems?enterprise=&start=", 200),
        ("/calendar?year=99999", 400),
        ("/calendar?month=13", 400),
        ("/calendar/agenda?alliance=9223372036854775808", 400),
        ("/accounts?q=%00", 403),
        ("/audit?id=99999999999999999999", 400),
        ("/activities/new?starts_at=0001-01-01T00:00", 400),
        ("/activities/new?starts_at=2026-12-16T09:30&cohost_ids=2147483648", 400),
        ("/activities/new?starts_at=2026-12-16T09:30&title=%00%0b", 200),
        ("/problems/2147483648", 404),
        ("/organisations/0", 404),
        ("/themes/plan/99999/print", 404),
    ],
)
def test_hostile_query_arguments_and_paths(client, organiser, path, expected):
    response = client.get(path)
    assert response.status_code == expected, response.get_data(as_text=True)[:300]


def test_a_refused_argument_says_which_one(client, organiser):
    page = client.get("/problems?start=9999-12-31").get_data(as_text=True)
    assert "start" in page and "1900" in page


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("query", ["start=9999-12-31", "enterprise=2147483648", "end=0001-01-01"])
def test_an_export_with_a_bad_filter_is_refused_before_the_first_byte(client, organiser, fmt, query):
    factories.problem()
    db.session.commit()
    response = client.get(f"/problems/export.{fmt}?{query}")
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert "Content-Disposition" not in response.headers
