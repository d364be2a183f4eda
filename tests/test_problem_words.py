"""The ledger's first state reads 受理 (not the invitation answer 接受) wherever it is shown."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from app.extensions import db
from app.orgs.models import OrgKind
from tests import factories


def test_the_first_state_reads_shouli_in_page_message_and_exports(app, client, login_as):
    enterprise = factories.organisation(OrgKind.enterprise, name="立伟轻工")
    problem = factories.problem(enterprise, description="出口许可办理慢")
    db.session.commit()
    login_as("organiser")
    ledger = client.get("/problems").get_data(as_text=True)
    assert "受理" in ledger and "接受" not in ledger
    detail = client.get(f"/problems/{problem.id}").get_data(as_text=True)
    assert "受理" in detail
    # A step the state does not allow: the refusal names the state.
    refused = client.post(f"/problems/{problem.id}/close", data={}, follow_redirects=True).get_data(as_text=True)
    assert "“受理”" in refused and "接受" not in refused
    rows = list(csv.reader(io.StringIO(client.get("/problems/export.csv").get_data().decode("utf-8-sig"))))
    status = rows[0].index("状态")
    assert rows[1][status] == "受理"
    sheet = load_workbook(io.BytesIO(client.get("/problems/export.xlsx").get_data()), read_only=True).worksheets[0]
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    assert cells[1][cells[0].index("状态")] == "受理"


def test_the_invitation_answer_still_reads_jieshou(app, client, login_as):
    activity = factories.activity(status="published")
    factories.answered_invitation(activity, answer="accepted")
    db.session.commit()
    login_as("organiser")
    page = client.get(f"/activities/{activity.id}/invitations").get_data(as_text=True)
    assert "接受 1" in page and "受理" not in page
