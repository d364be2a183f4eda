"""Admin pages for API keys: the list, a new key (shown once), revoking one by one."""

from __future__ import annotations

from flask import Blueprint, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.api.forms import KeyActionForm, NewKeyForm
from app.api.keys import create_key, keys_list, revoke_key
from app.api.models import SCOPE_LABELS, ApiKey, Scope
from app.auth.access import roles_required
from app.core.clock import utcnow
from app.core.errors import ValidationFailed
from app.core.forms import show_failure
from app.core.unit_of_work import doom, flash_after_commit
from app.extensions import db
from app.orgs.models import Organisation, OrgKind
from app.orgs.services import organisations_of_kind

bp = Blueprint("api_keys", __name__, url_prefix="/admin/api-keys")
admin_only = roles_required()  # admins always pass; nobody else


def _form() -> NewKeyForm:
    form = NewKeyForm()
    kinds = (OrgKind.committee, OrgKind.alliance, OrgKind.department, OrgKind.enterprise)
    form.organisation_id.choices = [
        (o.id, f"{o.name} · {o.kind_label}") for kind in kinds for o in organisations_of_kind(kind)
    ]
    form.scopes.choices = [(scope.value, f"{scope.value} — {SCOPE_LABELS[scope]}") for scope in Scope]
    return form


def _page(form: NewKeyForm, fresh: tuple[ApiKey, str] | None = None):
    response = make_response(render_template(
        "api/keys.html", form=form, keys=keys_list(), fresh=fresh, action_form=KeyActionForm(),
    ))
    response.headers["Cache-Control"] = "no-store"  # a new key is on it
    return response


@bp.get("")
@admin_only
def keys():
    """Every API key, with its organisation, scopes and last use."""
    return _page(_form())


@bp.post("")
@admin_only
def key_create():
    """Create a key and show it once."""
    form = _form()
    if form.validate_on_submit():
        organisation = db.session.get(Organisation, form.organisation_id.data)
        try:
            fresh = create_key(
                organisation, form.name.data, form.scopes.data, created_by=current_user, now=utcnow()
            )
        except ValidationFailed as failure:
            doom()
            show_failure(form, failure)
        else:
            return _page(_form(), fresh)
    return _page(form)


@bp.post("/<id:key_id>/revoke")
@admin_only
def key_revoke(key_id: int):
    """Revoke one key; requests with it get 401 from now on."""
    form = KeyActionForm()
    row = db.get_or_404(ApiKey, key_id)
    if form.validate_on_submit():
        revoke_key(row, now=utcnow())
        flash_after_commit(_("The API key “%(name)s” was revoked.", name=row.name), "success")
    return redirect(url_for("api_keys.keys"))
