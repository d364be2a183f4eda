"""Authorisation of the ledger, exports and dashboard; the activity record; loans and mediation."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.extensions import db
from app.orgs.models import OrgKind
from app.problems import records
from app.problems.models import (
    ActivityPhoto,
)
from tests import factories

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


@pytest.fixture
def two(app):
    a = factories.organisation(OrgKind.enterprise, name="甲企业")
    b = factories.organisation(OrgKind.enterprise, name="乙企业")
    pa = factories.problem(a, description="甲的问题")
    pb = factories.problem(b, description="乙的问题")
    db.session.commit()
    return a, b, pa, pb


def test_contact_sees_only_its_enterprise(app, client, login_as, two):
    a, b, pa, pb = two
    login_as("contact", org=a)
    assert client.get(f"/problems/{pa.id}").status_code == 200
    assert client.get(f"/problems/{pb.id}").status_code == 404
    ledger = client.get("/problems").get_data(as_text=True)
    assert "甲的问题" in ledger and "乙的问题" not in ledger
    assert client.get(f"/problems?enterprise={b.id}").status_code == 404
    # exports
    assert client.get(f"/problems/export.csv?enterprise={b.id}").status_code == 404
    assert client.get(f"/problems/export.xlsx?enterprise={b.id}").status_code == 404
    body = client.get("/problems/export.csv").get_data()
    assert body.startswith("\ufeff".encode()) and "甲的问题".encode() in body and "乙的问题".encode() not in body
    # dashboard filters
    assert client.get(f"/dashboard?enterprise={b.id}&all=1").status_code == 404
    assert client.get(f"/dashboard/export.xlsx?enterprise={b.id}").status_code == 404
    page = client.get("/dashboard?all=1").get_data(as_text=True)
    assert 'id="fig-collected">1<' in page
    # steps on another enterprise's problem
    assert client.post(f"/problems/{pb.id}/satisfaction", data={"satisfaction": "satisfied"}).status_code == 404


def test_liaison_sees_its_department_queue(app, client, login_as):
    department = factories.organisation(OrgKind.department)
    mine = factories.problem(department=department, status="assigned", description="本部门的")
    other = factories.problem(status="accepted", description="别处的")
    db.session.commit()
    login_as("liaison", org=department)
    body = client.get("/problems").get_data(as_text=True)
    assert "本部门的" in body and "别处的" not in body
    assert client.get(f"/problems/{other.id}").status_code == 404
    assert client.get(f"/problems/{mine.id}").status_code == 200


def test_exports_apply_filters_and_chinese_headers(app, client, login_as, two):
    a, _b, _pa, _pb = two
    factories.problem(a, category="financing", description="贷款难")
    db.session.commit()
    login_as("organiser")
    text = client.get("/problems/export.csv?category=financing").get_data().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:4] == ["编号", "提出时间", "企业", "类别"]
    assert len(rows) == 2 and rows[1][3] == "融资贷款" and rows[1][4] == "贷款难"
    response = client.get("/problems/export.xlsx")
    workbook = load_workbook(io.BytesIO(response.get_data()), read_only=True)
    sheet = workbook.worksheets[0]
    values = list(sheet.values)
    assert values[0][2] == "企业" and len(values) == 4
    response = client.get("/dashboard/export.xlsx?all=1")
    workbook = load_workbook(io.BytesIO(response.get_data()), read_only=True)
    figures = {row[0]: row[1] for row in workbook.worksheets[0].values}
    assert figures["收集问题"] == 3


# -- activity record -------------------------------------------------------------

def test_minutes_are_sanitised():
    assert records.sanitise_minutes('<p onclick="x()">会议<script>alert(1)</script><b>要点</b></p>') == "<p>会议alert(1)<b>要点</b></p>"
    assert records.sanitise_minutes("第一行\n<第二行>") == "第一行<br>&lt;第二行&gt;"


def test_record_and_photos(app, client, login_as, tmp_path):
    activity = factories.activity(status="completed")
    db.session.commit()
    login_as("organiser")
    response = client.post(f"/activities/{activity.id}/record", data={"minutes": "<p>纪要<script>x</script></p>", "decisions": "下月回访", "expected": 20, "present": 18})
    assert response.status_code == 302
    assert client.post(f"/activities/{activity.id}/record", data={"expected": 5, "present": 50}).status_code == 422
    ok = client.post(f"/activities/{activity.id}/photos", data={"photo": (io.BytesIO(PNG), "合影.png")}, content_type="multipart/form-data")
    assert ok.status_code == 302
    count = db.session.scalar(select(func.count()).select_from(ActivityPhoto))
    for data, name in [(b"GIF89a" + b"\x00" * 40, "a.gif"), (b"<svg/>", "x.png"), (JPEG + b"\x00" * records.PHOTO_LIMIT, "big.jpg")]:
        refused = client.post(f"/activities/{activity.id}/photos", data={"photo": (io.BytesIO(data), name)}, content_type="multipart/form-data", follow_redirects=True)
        text = refused.get_data(as_text=True)
        assert "只能上传" in text or "照片超过" in text
    assert db.session.scalar(select(func.count()).select_from(ActivityPhoto)) == count == 1
    photo = db.session.scalar(select(ActivityPhoto))
    served = client.get(f"/photos/{photo.id}")
    assert served.status_code == 200 and served.mimetype == "image/png" and served.get_data() == PNG
    printed = client.get(f"/activities/{activity.id}/record/print").get_data(as_text=True)
    assert "活动纪实" in printed and "纪要" in printed and "<script>" not in printed and "应到" in printed


def test_whole_request_limit(app, client, login_as):
    activity = factories.activity(status="completed")
    db.session.commit()
    login_as("organiser")
    app.config["MAX_CONTENT_LENGTH"] = 1024
    try:
        response = client.post(f"/activities/{activity.id}/photos", data={"photo": (io.BytesIO(PNG * 40), "a.png")}, content_type="multipart/form-data")
    finally:
        app.config["MAX_CONTENT_LENGTH"] = 10 * 1024 * 1024
    assert response.status_code == 413
    assert db.session.scalar(select(func.count()).select_from(ActivityPhoto)) == 0


def test_photo_of_a_hidden_activity_is_404(app, client, login_as):
    activity = factories.activity(kind="visit", status="completed", site=factories.organisation())
    db.session.commit()
    photo = ActivityPhoto(activity_id=activity.id, stored_name="abc.png", original_name="a.png", content_type="image/png", size=1)
    db.session.add(photo)
    db.session.commit()
    login_as("contact")
    assert client.get(f"/photos/{photo.id}").status_code == 404


def test_carry_forward_on_the_next_activity(app, client, login_as):
    alliance = factories.organisation(OrgKind.alliance)
    first = factories.activity(alliance=alliance, starts_at=datetime(2026, 3, 2, 6, 0, tzinfo=UTC), status="completed")
    second = factories.activity(alliance=alliance, starts_at=datetime(2026, 4, 2, 6, 0, tzinfo=UTC))
    factories.problem(activity=first, description="上次没解决的", status="in_progress")
    factories.problem(activity=first, description="上次已解决的", status="resolved")
    db.session.commit()
    login_as("organiser")
    body = client.get(f"/activities/{second.id}").get_data(as_text=True)
    assert "上次没解决的" in body and "上次已解决的" not in body


def test_loan_and_mediation_outcomes(app, client, login_as):
    from app.problems.models import Outcome

    login_as("organiser")
    assert client.get("/outcomes").status_code == 200
    bad = client.post("/outcomes", data={"kind": "loan", "recorded_on": "2026-04-20", "amount_wan": "500", "note": "银行报送"})
    assert bad.status_code == 422 and "请填写贷款金额和获贷企业数" in bad.get_data(as_text=True)
    future = client.post("/outcomes", data={"kind": "mediation", "recorded_on": "2999-01-01", "cases": 3, "note": "调解"})
    assert future.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(Outcome)) == 0
    ok = client.post("/outcomes", data={"kind": "loan", "recorded_on": "2026-04-20", "amount_wan": "500", "enterprise_count": 4, "note": "银行报送"})
    assert ok.status_code == 302
    outcome = db.session.scalar(select(Outcome))
    assert outcome.amount_wan == 500 and outcome.enterprise_count == 4


def test_outcomes_are_for_organisers(app, client, login_as):
    login_as("contact")
    assert client.get("/outcomes").status_code == 403


@pytest.mark.parametrize("role", ["contact", "liaison"])
def test_only_recorders_enter_problems_and_records(app, client, login_as, role):
    activity = factories.activity(status="completed")
    db.session.commit()
    login_as(role)
    assert client.get("/problems/new").status_code == 403
    assert client.post(f"/activities/{activity.id}/record", data={"decisions": "x"}).status_code == 403
    assert client.post(f"/activities/{activity.id}/photos", data={"photo": (io.BytesIO(PNG), "a.png")}, content_type="multipart/form-data").status_code == 403
    assert db.session.scalar(select(func.count()).select_from(ActivityPhoto)) == 0
