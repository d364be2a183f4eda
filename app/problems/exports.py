"""Ledger exports (CSV with BOM, XLSX in xlsxwriter's constant_memory mode), rows read in batches.

Rows carry real `date`/`datetime` values (local time, naive); the CSV writes them as text, the
XLSX as date cells with a number format, under a frozen header row with a filter, in columns
sized from the header and the first rows.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Iterator
from datetime import date, datetime
from itertools import chain, islice

import xlsxwriter
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from app.core.clock import display_zone
from app.core.spreadsheets import csv_row, write_xlsx_row
from app.events.models import Activity
from app.extensions import db
from app.orgs.models import Organisation
from app.problems.models import (
    CATEGORY_LABELS,
    OPEN_STATUSES,
    SATISFACTION_LABELS,
    STATUS_LABELS,
    Problem,
)
from app.problems.queries import LedgerFilter

BATCH = 1000


def headers() -> list[str]:
    """Chinese (translated) column headers."""
    return [
        _("No."), _("Raised at"), _("Enterprise"), _("Category"), _("Description"), _("Activity"),
        _("Department"), _("Status"), _("Resolved on site"), _("Deadline"), _("Resolved on"),
        _("Overdue"), _("How it was resolved"), _("Satisfaction"), _("Loan (10,000 yuan)"),
        _("Days before"), _("Days after"),
    ]


def ledger_rows(filters: LedgerFilter, scope, today: date) -> Iterator[list]:
    """The filtered ledger as plain rows, fetched from a server-side cursor in batches.

    Labels are translated now (in the request's language); rows are read when iterated.
    """
    enterprise = aliased(Organisation)
    department = aliased(Organisation)
    statement = (
        select(
            Problem.id, Problem.raised_at, enterprise.name, Problem.category, Problem.description,
            Activity.title, func.coalesce(department.short_name, department.name), Problem.status,
            Problem.resolved_on_site, Problem.deadline, Problem.resolved_on, Problem.resolution,
            Problem.satisfaction, Problem.loan_amount_wan, Problem.days_before, Problem.days_after,
        )
        .join(enterprise, enterprise.id == Problem.enterprise_id)
        .outerjoin(department, department.id == Problem.department_id)
        .outerjoin(Activity, Activity.id == Problem.activity_id)
        .where(*filters.problem_clauses())
        .order_by(Problem.id)
        .execution_options(yield_per=BATCH, stream_results=True)
    )
    if scope is not None:
        statement = statement.where(scope)
    yes, no = _("Yes"), _("No")
    categories = {k: str(v) for k, v in CATEGORY_LABELS.items()}
    statuses = {k: str(v) for k, v in STATUS_LABELS.items()}
    satisfaction = {k: str(v) for k, v in SATISFACTION_LABELS.items()}
    zone = display_zone()
    return _rows(db.engine, statement, zone, today, yes, no, categories, statuses, satisfaction)


def _rows(engine, statement, zone, today, yes, no, categories, statuses, satisfaction) -> Iterator[list]:
    """Its own session, so the rows can be sent after the request's context has gone."""
    with Session(engine) as session:
        yield from _format(session.execute(statement), zone, today, yes, no, categories, statuses, satisfaction)


def _format(result, zone, today, yes, no, categories, statuses, satisfaction) -> Iterator[list]:
    for row in result:
        (pid, raised_at, ent, category, description, activity, dept, status, on_site, deadline,
         resolved_on, resolution, sat, loan, before, after) = row
        overdue = status in OPEN_STATUSES and deadline is not None and deadline < today
        yield [
            pid, raised_at.astimezone(zone).replace(tzinfo=None, second=0, microsecond=0), ent, categories[category], description,
            activity or "", dept or "", statuses[status], yes if on_site else no,
            deadline or "", resolved_on or "",
            yes if overdue else no, resolution or "", satisfaction.get(sat, "") if sat else "",
            float(loan) if loan is not None else "", before if before is not None else "",
            after if after is not None else "",
        ]


def _as_text(value):
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return value


def csv_stream(rows: Iterator[list], head: list[str]) -> Iterator[str]:
    """UTF-8 CSV with a BOM (so Excel reads Chinese), yielded in chunks."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    yield "\ufeff"
    writer.writerow(csv_row(head))
    for count, row in enumerate(rows, 1):
        writer.writerow(csv_row([_as_text(value) for value in row]))
        if count % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
SAMPLE_ROWS = 50  # rows read ahead to size the columns
MAX_WIDTH = 60
# Never turn text into a formula, a number or a link (the cells are written as strings anyway).
WORKBOOK_OPTIONS = {
    "constant_memory": True, "strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False,
}


def _display_width(value) -> int:
    """Roughly how many character widths a value takes in a cell (CJK characters count two)."""
    text_value = str(_as_text(value))
    return sum(2 if ord(char) > 0x2E7F else 1 for char in text_value)


def _write_sheet(sheet, formats: dict, head: list[str], rows: Iterator[list]) -> None:
    sample = list(islice(rows, SAMPLE_ROWS))
    for index, title in enumerate(head):
        widest = max([_display_width(title)] + [_display_width(row[index]) for row in sample if len(row) > index])
        sheet.set_column(index, index, min(MAX_WIDTH, widest + 2))
    sheet.freeze_panes(1, 0)
    write_xlsx_row(sheet, 0, head, formats)
    written = 0
    for written, row in enumerate(chain(sample, rows), 1):
        write_xlsx_row(sheet, written, row, formats)
    if head:
        sheet.autofilter(0, 0, written, len(head) - 1)


def xlsx_stream(sheets: list[tuple[str, list[str], Iterator[list]]]) -> Iterator[bytes]:
    """An XLSX written row by row (xlsxwriter's constant_memory mode: one row in memory at a
    time) to a temporary file, then sent in chunks."""
    handle, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(handle)
    try:
        write_xlsx(path, sheets)
        with open(path, "rb") as stream:
            while chunk := stream.read(64 * 1024):
                yield chunk
    finally:
        os.unlink(path)


def write_xlsx(path: str, sheets: list[tuple[str, list[str], Iterator[list]]]) -> None:
    """Write the sheets to an XLSX file at path, one row in memory at a time."""
    workbook = xlsxwriter.Workbook(path, WORKBOOK_OPTIONS)
    formats = {"date": workbook.add_format({"num_format": DATE_FORMAT}), "datetime": workbook.add_format({"num_format": DATETIME_FORMAT})}
    try:
        for title, head, rows in sheets:
            _write_sheet(workbook.add_worksheet(title[:31]), formats, head, iter(rows))
    finally:
        workbook.close()
