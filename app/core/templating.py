"""Template filters and globals."""

from __future__ import annotations

from flask import Flask, request, url_for
from flask_babel import get_locale
from markupsafe import Markup, escape

from app.core.i18n import format_day, format_dt, format_range, join_list


def nl2br(value: str | None) -> Markup:
    """Keep the line breaks of plain text."""
    if not value:
        return Markup("")
    return Markup("<br>").join(escape(line) for line in value.splitlines())


def page_url(number: int) -> str:
    """This page's URL with another page number, keeping the filters."""
    values = {**(request.view_args or {}), **request.args.to_dict(), "page": number}
    return url_for(request.endpoint, **values)


def init_templating(app: Flask) -> None:
    """Register filters and globals used by every template."""
    app.jinja_env.filters.update(
        dt=format_dt, day=format_day, dtrange=format_range, nl2br=nl2br, names=join_list
    )
    app.jinja_env.globals.update(
        page_url=page_url,
        current_locale=lambda: str(get_locale() or "zh_CN"),
    )

    @app.context_processor
    def inject_request_path() -> dict[str, str]:
        return {"request_path": request.full_path.rstrip("?") if request else "/"}
