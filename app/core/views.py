"""The form → service → commit → redirect cycle shared by the feature views."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import redirect, render_template
from flask_wtf import FlaskForm

from app.core.errors import ValidationFailed
from app.core.forms import show_failure
from app.core.unit_of_work import doom, flash_after_commit


def save_or_show(form: FlaskForm, save: Callable[[], Any], done: Callable[[Any], str], message: str | Callable[[Any], str]):
    """Run a service with the form's data and redirect, or keep the form with the refusal.

    The request's unit of work commits after the redirect is built; a refusal dooms it. The
    message may be a function of what was saved (e.g. to name its number).
    """
    try:
        saved = save()
    except ValidationFailed as failure:
        doom()
        show_failure(form, failure)
        return None
    flash_after_commit(message(saved) if callable(message) else message, "success")
    return redirect(done(saved))


def form_page(
    form: FlaskForm,
    *,
    save: Callable[[], Any],
    done: Callable[[Any], str],
    message: str | Callable[[Any], str],
    template: str,
    **context: Any,
):
    """Show a form; on a valid submit save and redirect; on a refusal show the form again."""
    if form.validate_on_submit():
        response = save_or_show(form, save, done, message)
        if response is not None:
            return response
    return render_template(template, form=form, **context)
