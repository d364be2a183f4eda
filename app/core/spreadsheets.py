"""Spreadsheet cells that cannot carry a formula (CSV and XLSX exports of user text).

Text typed by anyone (a contact's problem description, a public answer) must reach Excel or
WPS as text, never as a formula such as =HYPERLINK(…). CSV has no cell types, so text that a
spreadsheet would read as a formula gets a leading apostrophe (OWASP's advice, as well-kept
exporters do); XLSX has them, so text is written as an explicit string cell (and the workbook is opened with
xlsxwriter's guessing of formulas, numbers and links switched off as well).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time

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


def write_xlsx_row(sheet, row: int, values: Iterable, formats: dict) -> None:
    """Write a row of an xlsxwriter sheet: text always as a string cell (never a formula or a
    number or a link guessed from it), dates and times as date cells in the given formats
    (`formats["date"]`, `formats["datetime"]`), numbers as numbers; None and "" leave the cell empty."""
    for column, value in enumerate(values):
        if value is None or value == "":
            continue
        if isinstance(value, str):
            sheet.write_string(row, column, value)
        elif isinstance(value, datetime):
            sheet.write_datetime(row, column, value, formats["datetime"])
        elif isinstance(value, date):
            sheet.write_datetime(row, column, datetime.combine(value, time.min), formats["date"])
        elif isinstance(value, bool):
            sheet.write_boolean(row, column, value)
        else:
            sheet.write_number(row, column, value)
