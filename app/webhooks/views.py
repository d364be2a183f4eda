"""The administrator's webhook pages: endpoints, their secret (shown once) and delivery log with resend."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import select

from app.auth.access import roles_required
from app.core.clock import utcnow
from app.core.errors import ValidationFailed
from app.core.forms import show_failure
from app.core.pagination import paginate
from app.core.unit_of_work import doom, flash_after_commit
from app.extensions import db
from app.mail.models import OUTBOX_STATUS_LABELS
from app.mail.notices import notices
from app.webhooks import services
from app.webhooks.forms import ActionForm, EndpointForm, NewEndpointForm, SecretForm
from app.webhooks.models import WebhookEndpoint
from app.webhooks.sender import delivery_id

bp = Blueprint("webhooks", __name__)
administrators = roles_required()


def _show_secret_once(page):
    """The secret lives in this one response only: not cached, not in the session."""
    response = make_response(page)
    response.headers["Cache-Control"] = "no-store"
    return response


def _list_page(form: NewEndpointForm, fresh: WebhookEndpoint | None = None, secret: str | None = None):
    endpoints = db.session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.name, WebhookEndpoint.id))
    return render_template("webhooks/endpoints.html", form=form, endpoints=list(endpoints), fresh=fresh, secret=secret)


@bp.get("/webhooks")
@administrators
def endpoints():
    """Every endpoint with its events and state, and the form to register one."""
    return _list_page(NewEndpointForm(formdata=None))


@bp.post("/webhooks")
@administrators
def create():
    """Register an endpoint; its secret is shown once, on the answer to this request."""
    form = NewEndpointForm()
    if form.validate_on_submit():
        try:
            endpoint, secret = services.create_endpoint(
                name=form.name.data, url=form.url.data, events=form.events.data, secret=form.secret.data, now=utcnow()
            )
        except ValidationFailed as failure:
            doom()
            show_failure(form, failure)
        else:
            return _show_secret_once(_list_page(NewEndpointForm(formdata=None), endpoint, secret))
    return _list_page(form), 400


def _endpoint_or_404(endpoint_id: int) -> WebhookEndpoint:
    return db.get_or_404(WebhookEndpoint, endpoint_id)


def _endpoint_page(endpoint: WebhookEndpoint, form: EndpointForm | None = None, secret: str | None = None):
    if form is None:
        form = EndpointForm(formdata=None, obj=endpoint)
        form.events.data = [event.value for event in endpoint.event_types]
    return render_template(
        "webhooks/endpoint.html",
        endpoint=endpoint,
        form=form,
        secret_form=SecretForm(formdata=None),
        action_form=ActionForm(),
        page=paginate(services.deliveries_of(endpoint)),
        secret=secret,
        labels=OUTBOX_STATUS_LABELS,
        kind_label=notices().kind_label,
        delivery_id=delivery_id,
        resendable=services.RESENDABLE,
    )


@bp.get("/webhooks/<id:endpoint_id>")
@administrators
def endpoint(endpoint_id: int):
    """One endpoint: its settings and its delivery log, newest first."""
    return _endpoint_page(_endpoint_or_404(endpoint_id))


@bp.post("/webhooks/<id:endpoint_id>")
@administrators
def update(endpoint_id: int):
    """Change the name, address or events."""
    endpoint = _endpoint_or_404(endpoint_id)
    form = EndpointForm()
    if form.validate_on_submit():
        try:
            services.update_endpoint(endpoint, name=form.name.data, url=form.url.data, events=form.events.data, now=utcnow())
        except ValidationFailed as failure:
            doom()
            show_failure(form, failure)
        else:
            flash_after_commit(_("The endpoint was saved."), "success")
            return redirect(url_for("webhooks.endpoint", endpoint_id=endpoint.id))
    return _endpoint_page(endpoint, form), 400


@bp.post("/webhooks/<id:endpoint_id>/secret")
@administrators
def replace_secret(endpoint_id: int):
    """Give the endpoint a new secret (shown once); deliveries from now on are signed with it."""
    endpoint = _endpoint_or_404(endpoint_id)
    form = SecretForm()
    if form.validate_on_submit():
        try:
            secret = services.replace_secret(endpoint, form.secret.data, utcnow())
        except ValidationFailed as failure:
            doom()
            flash(failure.message, "danger")
        else:
            return _show_secret_once(_endpoint_page(endpoint, secret=secret))
    else:
        flash(" ".join(map(str, form.secret.errors)) or _("The secret was not replaced."), "danger")
    return redirect(url_for("webhooks.endpoint", endpoint_id=endpoint.id))


def _checked_action() -> None:
    if not ActionForm().validate_on_submit():
        abort(400)


@bp.post("/webhooks/<id:endpoint_id>/enable")
@administrators
def enable(endpoint_id: int):
    """Deliver to the endpoint again (e.g. after it answered 410 Gone)."""
    endpoint = _endpoint_or_404(endpoint_id)
    _checked_action()
    services.set_active(endpoint, True, utcnow())
    flash_after_commit(_("The endpoint receives events again."), "success")
    return redirect(url_for("webhooks.endpoint", endpoint_id=endpoint.id))


@bp.post("/webhooks/<id:endpoint_id>/disable")
@administrators
def disable(endpoint_id: int):
    """Stop delivering to the endpoint; waiting deliveries are given up when their turn comes."""
    endpoint = _endpoint_or_404(endpoint_id)
    _checked_action()
    services.set_active(endpoint, False, utcnow())
    flash_after_commit(_("The endpoint no longer receives events."), "info")
    return redirect(url_for("webhooks.endpoint", endpoint_id=endpoint.id))


@bp.post("/webhooks/<id:endpoint_id>/delete")
@administrators
def delete(endpoint_id: int):
    """Remove the endpoint; its deliveries still waiting are withdrawn."""
    endpoint = _endpoint_or_404(endpoint_id)
    _checked_action()
    services.delete_endpoint(endpoint, utcnow())
    flash_after_commit(_("The endpoint was deleted."), "info")
    return redirect(url_for("webhooks.endpoints"))


@bp.post("/webhooks/<id:endpoint_id>/deliveries/<id:delivery>/resend")
@administrators
def resend(endpoint_id: int, delivery: int):
    """Send one delivery again, with the same body and webhook-id."""
    endpoint = _endpoint_or_404(endpoint_id)
    row = services.delivery_of(endpoint, delivery)
    if row is None:
        abort(404)
    _checked_action()
    try:
        services.resend(endpoint, row, utcnow())
    except ValidationFailed as failure:
        doom()
        flash(failure.message, "warning")
    else:
        flash_after_commit(_("The delivery will be sent again shortly."), "success")
    return redirect(url_for("webhooks.endpoint", endpoint_id=endpoint.id, page=request.args.get("page") or None))
