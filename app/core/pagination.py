"""Pagination of select() statements for list pages."""

from __future__ import annotations

from flask import current_app, request

from app.extensions import db


def paginate(statement):
    """Paginate a select() with the page number from the query string."""
    page = request.args.get("page", 1, type=int) or 1
    return db.paginate(
        statement,
        page=max(page, 1),
        per_page=current_app.config["PAGE_SIZE"],
        error_out=False,
    )
