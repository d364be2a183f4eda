"""Notice preferences of a person or an organisation, the unsubscribe link, and who is reachable."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import exists, func, select

from app.core.inputs import arg_choice
from app.core.pagination import paginate
from app.core.permissions import any_role, public, roles_required
from app.core.roles import Role
from app.core.views import form_page
from app.extensions import csrf, db
from app.mail.models import CHANNEL_LABELS
from app.notify.forms import ConfirmForm, chosen, offered, preferences_form
from app.notify.models import MANDATORY, NOTICE_KIND_LABELS, NoticeKind, NoticePreference, OwnerType
from app.notify.preferences import (
    channels_for,
    organisation_channels,
    read_unsubscribe_token,
    set_channels,
    unsubscribe,
)
from app.orgs.models import Organisation, Person

bp = Blueprint("notify", __name__)

KINDS = list(NoticeKind)


def _may_edit_person(person: Person) -> bool:
    return current_user.is_staff or current_user.person_id == person.id


def _may_edit_organisation(organisation: Organisation) -> bool:
    return current_user.is_staff or current_user.person.organisation_id == organisation.id


def _save(form, owner_type: OwnerType, owner_id: int) -> int:
    for kind in KINDS:
        set_channels(owner_type, owner_id, kind, chosen(form, kind))
    return owner_id


def _page(form, *, owner_type: OwnerType, owner_id: int, title: str, back: str, done: str):
    return form_page(
        form,
        save=lambda: _save(form, owner_type, owner_id),
        done=lambda _saved: done,
        message=_("The notice preferences were saved."),
        template="notify/preferences.html",
        title=title,
        back=back,
        kinds=KINDS,
        offered=offered,
        kind_labels=NOTICE_KIND_LABELS,
        channel_labels=CHANNEL_LABELS,
        mandatory=MANDATORY,
    )


@bp.get("/notices/mine")
@any_role
def mine():
    """The signed-in person's own notice preferences."""
    return redirect(url_for("notify.person_preferences", person_id=current_user.person_id))


@bp.route("/people/<id:person_id>/notices", methods=["GET", "POST"])
@any_role
def person_preferences(person_id: int):
    """Which notices a person gets through which channel (staff, or the person)."""
    person = db.get_or_404(Person, person_id)
    if not _may_edit_person(person):
        abort(403)
    form = preferences_form({kind: channels_for(person, kind) for kind in KINDS}, KINDS)
    here = url_for("notify.person_preferences", person_id=person.id)
    return _page(
        form, owner_type=OwnerType.person, owner_id=person.id,
        title=_("Notices to %(name)s", name=person.name),
        back=url_for("orgs.person_detail", person_id=person.id) if current_user.is_staff else url_for("main.home"),
        done=here,
    )


@bp.route("/organisations/<id:org_id>/notices", methods=["GET", "POST"])
@any_role
def organisation_preferences(org_id: int):
    """An organisation's choices, which its people get unless they chose otherwise."""
    organisation = db.get_or_404(Organisation, org_id)
    if not _may_edit_organisation(organisation):
        abort(403)
    form = preferences_form({kind: organisation_channels(organisation.id, kind) for kind in KINDS}, KINDS)
    here = url_for("notify.organisation_preferences", org_id=organisation.id)
    return _page(
        form, owner_type=OwnerType.organisation, owner_id=organisation.id,
        title=_("Notices to the people of %(name)s", name=organisation.name),
        back=url_for("orgs.organisation_detail", org_id=organisation.id) if current_user.is_staff else url_for("main.home"),
        done=here,
    )


@bp.route("/notices/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt
@public
def unsubscribe_link(token: str):
    """Switch one optional notice off from the link in the message, without logging in.

    GET only asks: mail scanners open links, and must not unsubscribe anyone.
    """
    found = read_unsubscribe_token(token)
    if found is None:
        return render_template("notify/unsubscribe.html", invalid=True, form=None), 404
    person, kind, channel = found
    # The signed token is the authorisation; no session token, so RFC 8058's one-click POST works.
    form = ConfirmForm(meta={"csrf": False})
    done = False
    if form.validate_on_submit():
        unsubscribe(person, kind, channel)
        done = True
    return render_template(
        "notify/unsubscribe.html", invalid=False, form=form, done=done, person=person,
        kind_label=NOTICE_KIND_LABELS[kind], channel_label=CHANNEL_LABELS[channel],
    )


def _opted_out(owner_type: OwnerType, owner_id_column):
    return exists(
        select(NoticePreference.id).where(
            NoticePreference.owner_type == owner_type.value,
            NoticePreference.owner_id == owner_id_column,
            NoticePreference.enabled.is_(False),
        )
    )


def _contact_with(organisation_id_column, condition):
    return exists(
        select(Person.id).where(
            Person.organisation_id == organisation_id_column, Person.active.is_(True), Person.is_contact.is_(True), condition
        )
    )


PEOPLE_FILTERS = {
    "no_mobile": lambda: Person.mobile.is_(None),
    "no_email": lambda: Person.email.is_(None),
    "unreachable": lambda: Person.mobile.is_(None) & Person.email.is_(None),
    "opted_out": lambda: _opted_out(OwnerType.person, Person.id),
}
ORGANISATION_FILTERS = {
    "no_mobile": lambda: ~_contact_with(Organisation.id, Person.mobile.is_not(None)),
    "no_email": lambda: ~_contact_with(Organisation.id, Person.email.is_not(None)),
    "unreachable": lambda: ~_contact_with(Organisation.id, Person.mobile.is_not(None) | Person.email.is_not(None)),
    "opted_out": lambda: _opted_out(OwnerType.organisation, Organisation.id),
}


def _count(model, condition) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(model.active.is_(True), condition)) or 0


@bp.get("/notices/reachability")
@roles_required(Role.organiser)
def reachability():
    """Who can be reached by what: counts, and the people or organisations of one gap."""
    who = arg_choice("who", ["people", "organisations"]) or "people"
    show = arg_choice("show", list(PEOPLE_FILTERS)) or "no_mobile"
    people_counts = {name: _count(Person, make()) for name, make in PEOPLE_FILTERS.items()}
    people_counts["all"] = _count(Person, Person.id.is_not(None))
    organisation_counts = {name: _count(Organisation, make()) for name, make in ORGANISATION_FILTERS.items()}
    organisation_counts["all"] = _count(Organisation, Organisation.id.is_not(None))
    if who == "people":
        statement = (
            select(Person).where(Person.active.is_(True), PEOPLE_FILTERS[show]()).order_by(Person.organisation_id, Person.name)
        )
    else:
        statement = (
            select(Organisation)
            .where(Organisation.active.is_(True), ORGANISATION_FILTERS[show]())
            .order_by(Organisation.kind, Organisation.name)
        )
    return render_template(
        "notify/reachability.html",
        who=who,
        show=show,
        people_counts=people_counts,
        organisation_counts=organisation_counts,
        page=paginate(statement),
    )
