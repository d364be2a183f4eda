"""One unit of work per request, CLI command or scheduler pass.

Services change models and flush; they never commit. The edge commits once:
- every view is wrapped by `transactional` (installed by `create_app`), which commits when the
  view returns a response below 400 and rolls back on an error status, an exception, or a view
  that called `doom()` (a refused form shown again with status 200);
- CLI commands and scheduler passes use `with unit_of_work():`.

Flash messages that announce a change are queued with `flash_after_commit` so that a commit that
fails never leaves "saved" in the session. Modelled on Indico's `RH.process`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any

from flask import Flask, current_app, flash, g

from app.extensions import db

# Endpoints that must not run inside the request transaction (none touch the database).
UNTRANSACTED_ENDPOINTS = frozenset({"static"})


def doom() -> None:
    """Make this request roll back whatever it wrote, whatever status it answers with."""
    g.unit_of_work_doomed = True


def flash_after_commit(message: str, category: str = "message") -> None:
    """Flash a message once this request's transaction has committed."""
    g.setdefault("unit_of_work_flashes", []).append((message, category))


def _finish(status_code: int) -> None:
    # A view that never used the session (a feed poll answered from the cache) has nothing to
    # end: creating a session only to commit nothing would cost more than the view itself.
    used = db.session.registry.has()
    if status_code >= 400 or g.get("unit_of_work_doomed"):
        if used:
            db.session.rollback()
        return
    if used:
        db.session.commit()
    for message, category in g.pop("unit_of_work_flashes", []):
        flash(message, category)


def transactional(view: Callable[..., Any]) -> Callable[..., Any]:
    """Run a view as one transaction: commit on success, roll back on any failure."""

    @wraps(view)
    def run_in_transaction(*args: Any, **kwargs: Any) -> Any:
        try:
            response = current_app.make_response(view(*args, **kwargs))
            _finish(response.status_code)
        except BaseException:
            db.session.rollback()
            raise
        return response

    run_in_transaction.unit_of_work = True  # type: ignore[attr-defined]
    return run_in_transaction


def wrap_views(app: Flask) -> None:
    """Wrap every registered view (but static files) in `transactional`."""
    for endpoint, view in list(app.view_functions.items()):
        if endpoint in UNTRANSACTED_ENDPOINTS or getattr(view, "unit_of_work", False):
            continue
        app.view_functions[endpoint] = transactional(view)


@contextmanager
def unit_of_work() -> Iterator[None]:
    """Commit what the block wrote when it ends normally; roll back if it raises."""
    try:
        yield
    except BaseException:
        db.session.rollback()
        raise
    db.session.commit()
