"""Ledger exports (CSV with BOM, XLSX in write-only mode), streamed in batches of rows.

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

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.utils import get_column_letter
from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from app.core.clock import display_zone
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
    writer.writerow(head)
    for count, row in enumerate(rows, 1):
        writer.writerow([_as_text(value) for value in row])
        if count % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
SAMPLE_ROWS = 50  # rows read ahead to size the columns (write-only sheets take widths first)
MAX_WIDTH = 60


def _display_width(value) -> int:
    """Roughly how many character widths a value takes in a cell (CJK characters count two)."""
    text_value = str(_as_text(value))
    return sum(2 if ord(char) > 0x2E7F else 1 for char in text_value)


def _cell(sheet, value):
    """A date or time as a date cell with its number format; anything else as it is."""
    if isinstance(value, datetime):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = DATETIME_FORMAT
        return cell
    if isinstance(value, date):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = DATE_FORMAT
        return cell
    return value


def _write_sheet(sheet, head: list[str], rows: Iterator[list]) -> None:
    sample = list(islice(rows, SAMPLE_ROWS))
    for index, title in enumerate(head, 1):
        widest = max([_display_width(title)] + [_display_width(row[index - 1]) for row in sample if len(row) >= index])
        sheet.column_dimensions[get_column_letter(index)].width = min(MAX_WIDTH, widest + 2)
    sheet.freeze_panes = "A2"
    sheet.append(head)
    written = 0
    for row in chain(sample, rows):
        sheet.append([_cell(sheet, value) for value in row])
        written += 1
    if head:
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(head))}{written + 1}"


def xlsx_stream(sheets: list[tuple[str, list[str], Iterator[list]]]) -> Iterator[bytes]:
    """An XLSX written row by row (openpyxl write-only) to a temporary file, then sent in chunks."""
    workbook = Workbook(write_only=True)
    for title, head, rows in sheets:
        _write_sheet(workbook.create_sheet(title=title[:31]), head, iter(rows))
    handle, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(handle)
    try:
        workbook.save(path)
        with open(path, "rb") as stream:
            while chunk := stream.read(64 * 1024):
                yield chunk
    finally:
        os.unlink(path)
