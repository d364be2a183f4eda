"""Pagination of select() statements for list pages."""

from __future__ import annotations

from flask import current_app

from app.core.inputs import arg_page
from app.extensions import db


def paginate(statement):
    """Paginate a select() with the page number from the query string."""
    page = arg_page()
    return db.paginate(
        statement,
        page=page,
        per_page=current_app.config["PAGE_SIZE"],
        error_out=False,
    )
