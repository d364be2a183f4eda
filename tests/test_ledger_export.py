"""The ledger's exports as a spreadsheet user expects them: real dates, sized columns, a frozen
header with a filter (read back with openpyxl), and a CSV with one charset in its Content-Type."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

from openpyxl import load_workbook

from app.extensions import db
from app.orgs.models import OrgKind
from tests import factories


def test_xlsx_has_date_cells_widths_frozen_header_and_filter(app, client, login_as):
    enterprise = factories.organisation(OrgKind.enterprise, name="江西瑞一韵承科技有限公司")
    department = factories.organisation(OrgKind.department, name="县商务局")
    factories.problem(
        enterprise, description="出口许可证办理慢", department=department, status="assigned",
        deadline=date(2026, 3, 16), raised_at=datetime(2026, 3, 9, 2, 30, tzinfo=UTC),
    )
    factories.problem(enterprise, description="第二个")
    db.session.commit()
    login_as("organiser")
    response = client.get("/problems/export.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.get_data())).worksheets[0]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:Q3"
    raised, deadline = sheet["B2"], sheet["J2"]
    # 10:30 in Beijing, as a date-time cell, not text.
    assert raised.value == datetime(2026, 3, 9, 10, 30) and raised.is_date and raised.number_format == "yyyy-mm-dd hh:mm"
    assert deadline.value == datetime(2026, 3, 16) and deadline.is_date and deadline.number_format == "yyyy-mm-dd"
    assert sheet["J3"].value is None  # no deadline: an empty cell
    widths = {letter: sheet.column_dimensions[letter].width for letter in "ABCE"}
    assert widths["C"] > widths["A"] and widths["C"] >= 2 * len("江西瑞一韵承科技有限公司")
    assert widths["B"] >= len("2026-03-09 10:30")


def test_csv_keeps_text_dates_and_says_its_charset_once(app, client, login_as):
    factories.problem(deadline=date(2026, 3, 16), raised_at=datetime(2026, 3, 9, 2, 30, tzinfo=UTC))
    db.session.commit()
    login_as("organiser")
    response = client.get("/problems/export.csv")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert rows[1][1] == "2026-03-09 10:30" and rows[1][9] == "2026-03-16"
