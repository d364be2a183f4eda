"""The ledger (台账) with its filters, and its CSV/XLSX export."""

from __future__ import annotations

from flask import Response, abort, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import joinedload

from app.auth.access import any_role
from app.core.clock import local_today
from app.core.pagination import paginate
from app.problems import exports
from app.problems.filters import filter_choices, read_filters
from app.problems.models import Problem
from app.problems.queries import problem_visibility, visible_problems

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@any_role
def ledger():
    """The ledger (台账) this account may see, with filters."""
    filters = read_filters(current_user)
    statement = (
        visible_problems(current_user, filters)
        .options(joinedload(Problem.enterprise), joinedload(Problem.department))
        .order_by(Problem.raised_at.desc(), Problem.id.desc())
    )
    return render_template(
        "problems/ledger.html", page=paginate(statement), filters=filters, today=local_today(),
        args=request.args.to_dict(), **filter_choices(current_user),
    )


@any_role
def export(fmt: str):
    """The filtered ledger as CSV (UTF-8 with BOM) or XLSX, streamed."""
    if fmt not in ("csv", "xlsx"):
        abort(404)
    filters = read_filters(current_user)
    today = local_today()
    rows = exports.ledger_rows(filters, problem_visibility(current_user), today)
    if fmt == "csv":
        body = (chunk.encode("utf-8") for chunk in exports.csv_stream(rows, exports.headers()))
        content_type = "text/csv; charset=utf-8"
    else:
        body = exports.xlsx_stream([(_("Problem ledger"), exports.headers(), rows)])
        content_type = XLSX
    # content_type is sent as given (mimetype= would add a second "charset=utf-8").
    response = Response(body, content_type=content_type)
    response.headers["Content-Disposition"] = f"attachment; filename=ledger-{today:%Y%m%d}.{fmt}"
    return response
