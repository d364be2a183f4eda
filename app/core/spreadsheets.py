"""Spreadsheet cells that cannot carry a formula (CSV and XLSX exports of user text).

Text typed by anyone (a contact's problem description, a public answer) must reach Excel or
WPS as text, never as a formula such as =HYPERLINK(…). CSV has no cell types, so text that a
spreadsheet would read as a formula gets a leading apostrophe (OWASP's advice, as well-kept
exporters do); XLSX has them, so text is written as an explicit string cell.
"""

from __future__ import annotations

from collections.abc import Iterable

from openpyxl.cell import WriteOnlyCell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

# What makes Excel, LibreOffice or WPS start a formula (or, for TAB and CR, hide one).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value):
    """A CSV value: text that would start a formula gets a leading apostrophe; other values as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_row(values: Iterable) -> list:
    """A row of CSV values, neutralised."""
    return [csv_cell(value) for value in values]


def xlsx_row(sheet: WriteOnlyWorksheet, values: Iterable) -> list:
    """A row for a write-only sheet: text as explicit string cells (never a formula)."""
    row = []
    for value in values:
        if isinstance(value, str):
            cell = WriteOnlyCell(sheet, value=value)
            # openpyxl types text beginning with "=" as a formula; the export's text is data.
            cell.data_type = "s"
            row.append(cell)
        else:
            row.append(value)
    return row
