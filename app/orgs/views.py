"""Administration of organisations, people and venues (organisers and administrators)."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import or_, select

from app.core.inputs import arg_choice, arg_id, normalise_mobile
from app.core.offsets import check_offsets
from app.core.pagination import paginate
from app.core.permissions import roles_required
from app.core.roles import Role
from app.core.unit_of_work import flash_after_commit
from app.core.views import form_page
from app.extensions import db
from app.orgs import services
from app.orgs.forms import OrganisationForm, PersonForm, SearchForm, VenueForm
from app.orgs.models import (
    ORG_KIND_LABELS,
    AllianceMembership,
    InstructorAssignment,
    Organisation,
    OrgKind,
    PartyBranch,
    Person,
    Venue,
)

bp = Blueprint("orgs", __name__)
staff = roles_required(Role.organiser)


def toggle_active(entity, active: bool, endpoint: str, **values):
    """Deactivate or reactivate a record and go back to its page."""
    services.set_active(entity, active)
    flash_after_commit(_("Reactivated.") if active else _("Deactivated: it is kept but no longer offered."), "info")
    return redirect(url_for(endpoint, **values))


def _like(query: str) -> str:
    return f"%{query}%"


# -- organisations ---------------------------------------------------------

@bp.get("/organisations")
@staff
def organisations():
    """List organisations with search, kind filter and inactive toggle."""
    search = SearchForm(request.args)
    kind = arg_choice("kind", OrgKind) or ""
    statement = select(Organisation).order_by(Organisation.kind, Organisation.name)
    if search.validate() and search.q.data:
        like = _like(search.q.data)
        statement = statement.where(
            or_(Organisation.name.ilike(like), Organisation.short_name.ilike(like), Organisation.address.ilike(like))
        )
    if kind in OrgKind.__members__:
        statement = statement.where(Organisation.kind == OrgKind(kind))
    if not request.args.get("inactive"):
        statement = statement.where(Organisation.active.is_(True))
    return render_template(
        "orgs/organisations.html", page=paginate(statement), search=search, kind=kind, kinds=ORG_KIND_LABELS
    )


def _organisation_form(organisation: Organisation | None) -> OrganisationForm:
    form = OrganisationForm(obj=organisation)
    choices = [(a.id, a.name) for a in services.alliances()]
    form.alliances.choices = choices
    form.chain_leader_of.choices = choices
    if request.method == "GET":
        if organisation is None:
            form.kind.data = arg_choice("kind", OrgKind) or OrgKind.enterprise.value
        else:
            form.kind.data = organisation.kind.value
            form.party_branch.data = organisation.party_branch.value
            form.alliances.data = [m.alliance_id for m in organisation.memberships]
            form.chain_leader_of.data = [m.alliance_id for m in organisation.memberships if m.is_chain_leader]
    return form


def _save_organisation(organisation: Organisation | None, form: OrganisationForm) -> Organisation:
    return services.save_organisation(
        organisation,
        name=form.name.data,
        kind=OrgKind(form.kind.data),
        party_branch=PartyBranch(form.party_branch.data),
        alliance_ids=form.alliances.data,
        chain_leader_ids=form.chain_leader_of.data,
        short_name=form.short_name.data,
        joint_branch_name=form.joint_branch_name.data,
        address=form.address.data,
        phone=form.phone.data,
        description=form.description.data,
        reminder_offsets=check_offsets(form.reminder_offsets.data),
    )


@bp.route("/organisations/new", methods=["GET", "POST"])
@staff
def organisation_new():
    """Create an organisation."""
    form = _organisation_form(None)
    return form_page(
        form,
        save=lambda: _save_organisation(None, form),
        done=lambda org: url_for("orgs.organisation_detail", org_id=org.id),
        message=_("The organisation was created."),
        template="orgs/organisation_form.html",
        organisation=None,
    )


@bp.route("/organisations/<id:org_id>/edit", methods=["GET", "POST"])
@staff
def organisation_edit(org_id: int):
    """Edit an organisation."""
    organisation = db.get_or_404(Organisation, org_id)
    form = _organisation_form(organisation)
    return form_page(
        form,
        save=lambda: _save_organisation(organisation, form),
        done=lambda org: url_for("orgs.organisation_detail", org_id=org.id),
        message=_("The organisation was saved."),
        template="orgs/organisation_form.html",
        organisation=organisation,
    )


@bp.get("/organisations/<id:org_id>")
@staff
def organisation_detail(org_id: int):
    """An organisation with its people, alliances or members, and instructors."""
    organisation = db.get_or_404(Organisation, org_id)
    people = db.session.scalars(
        select(Person).where(Person.organisation_id == org_id).order_by(Person.active.desc(), Person.name)
    ).all()
    members = db.session.scalars(
        select(AllianceMembership)
        .where(AllianceMembership.alliance_id == org_id)
        .join(AllianceMembership.enterprise)
        .order_by(AllianceMembership.is_chain_leader.desc(), Organisation.name)
    ).all()
    instructors = db.session.scalars(
        select(Person)
        .join(InstructorAssignment, InstructorAssignment.instructor_id == Person.id)
        .where(InstructorAssignment.enterprise_id == org_id)
    ).all()
    return render_template(
        "orgs/organisation_detail.html",
        organisation=organisation,
        people=people,
        members=members,
        instructors=instructors,
    )


@bp.post("/organisations/<id:org_id>/active")
@staff
def organisation_active(org_id: int):
    """Deactivate or reactivate an organisation."""
    organisation = db.get_or_404(Organisation, org_id)
    return toggle_active(organisation, request.form.get("active") == "1", "orgs.organisation_detail", org_id=org_id)


# -- people ----------------------------------------------------------------

@bp.get("/people")
@staff
def people():
    """List people with search by name, e-mail, phone or organisation."""
    search = SearchForm(request.args)
    statement = select(Person).join(Person.organisation).order_by(Organisation.name, Person.name)
    if search.validate() and search.q.data:
        like = _like(search.q.data)
        statement = statement.where(
            or_(Person.name.ilike(like), Person.email.ilike(like), Person.phone.ilike(like), Organisation.name.ilike(like))
        )
    if not request.args.get("inactive"):
        statement = statement.where(Person.active.is_(True))
    return render_template("orgs/people.html", page=paginate(statement), search=search)


def _person_form(person: Person | None) -> PersonForm:
    form = PersonForm(obj=person)
    form.organisation_id.choices = [
        (o.id, _("%(name)s (%(detail)s)", name=o.name, detail=o.kind_label)) for o in services.organisations_of_kind(*OrgKind)
    ]
    form.assigned_enterprises.choices = [
        (o.id, o.name) for o in services.organisations_of_kind(OrgKind.enterprise)
    ]
    if request.method == "GET":
        if person is None and arg_id("org"):
            form.organisation_id.data = arg_id("org")
        if person is not None:
            form.assigned_enterprises.data = services.assigned_enterprise_ids(person)
    return form


def _save_person(person: Person | None, form: PersonForm) -> Person:
    return services.save_person(
        person,
        name=form.name.data,
        organisation_id=form.organisation_id.data,
        email=form.email.data,
        phone=form.phone.data,
        mobile=normalise_mobile(form.mobile.data),
        title=form.title.data,
        is_contact=form.is_contact.data,
        assigned_enterprise_ids=form.assigned_enterprises.data,
    )


@bp.route("/people/new", methods=["GET", "POST"])
@staff
def person_new():
    """Add a person to an organisation."""
    form = _person_form(None)
    return form_page(
        form,
        save=lambda: _save_person(None, form),
        done=lambda person: url_for("orgs.person_detail", person_id=person.id),
        message=_("The person was added."),
        template="orgs/person_form.html",
        person=None,
    )


@bp.route("/people/<id:person_id>/edit", methods=["GET", "POST"])
@staff
def person_edit(person_id: int):
    """Edit a person."""
    person = db.get_or_404(Person, person_id)
    services.check_person_change(current_user, person)
    form = _person_form(person)
    return form_page(
        form,
        save=lambda: _save_person(person, form),
        done=lambda saved: url_for("orgs.person_detail", person_id=saved.id),
        message=_("The person was saved."),
        template="orgs/person_form.html",
        person=person,
    )


@bp.get("/people/<id:person_id>")
@staff
def person_detail(person_id: int):
    """A person, their account and the enterprises they look after."""
    person = db.get_or_404(Person, person_id)
    account = person.account  # backref from auth's accounts
    enterprises = db.session.scalars(
        select(Organisation)
        .join(InstructorAssignment, InstructorAssignment.enterprise_id == Organisation.id)
        .where(InstructorAssignment.instructor_id == person.id)
        .order_by(Organisation.name)
    ).all()
    return render_template(
        "orgs/person_detail.html", person=person, account=account, enterprises=enterprises,
        may_change=services.may_change_person(current_user, person),
    )


@bp.post("/people/<id:person_id>/active")
@staff
def person_active(person_id: int):
    """Deactivate or reactivate a person."""
    person = db.get_or_404(Person, person_id)
    services.check_person_change(current_user, person, active=request.form.get("active") == "1")
    return toggle_active(person, request.form.get("active") == "1", "orgs.person_detail", person_id=person_id)


# -- venues ----------------------------------------------------------------

@bp.get("/venues")
@staff
def venues():
    """List venues with search by name or address."""
    search = SearchForm(request.args)
    statement = select(Venue).order_by(Venue.name)
    if search.validate() and search.q.data:
        like = _like(search.q.data)
        statement = statement.where(or_(Venue.name.ilike(like), Venue.address.ilike(like)))
    if not request.args.get("inactive"):
        statement = statement.where(Venue.active.is_(True))
    return render_template("orgs/venues.html", page=paginate(statement), search=search)


def _venue_form(venue: Venue | None) -> VenueForm:
    form = VenueForm(obj=venue)
    if form.owner_id.data is None:
        form.owner_id.data = 0
    form.owner_id.choices = [(0, "—")] + [
        (o.id, o.name) for o in services.organisations_of_kind(*OrgKind)
    ]
    return form


def _save_venue(venue: Venue | None, form: VenueForm) -> Venue:
    return services.save_venue(
        venue,
        name=form.name.data,
        address=form.address.data,
        capacity=form.capacity.data,
        directions=form.directions.data,
        owner_id=form.owner_id.data or None,
    )


@bp.route("/venues/new", methods=["GET", "POST"])
@staff
def venue_new():
    """Add a venue."""
    form = _venue_form(None)
    return form_page(
        form,
        save=lambda: _save_venue(None, form),
        done=lambda _v: url_for("orgs.venues"),
        message=_("The venue was added."),
        template="orgs/venue_form.html",
        venue=None,
    )


@bp.route("/venues/<id:venue_id>/edit", methods=["GET", "POST"])
@staff
def venue_edit(venue_id: int):
    """Edit a venue, or deactivate it."""
    venue = db.get_or_404(Venue, venue_id)
    form = _venue_form(venue)
    return form_page(
        form,
        save=lambda: _save_venue(venue, form),
        done=lambda _v: url_for("orgs.venues"),
        message=_("The venue was saved."),
        template="orgs/venue_form.html",
        venue=venue,
    )


@bp.post("/venues/<id:venue_id>/active")
@staff
def venue_active(venue_id: int):
    """Deactivate or reactivate a venue."""
    venue = db.get_or_404(Venue, venue_id)
    return toggle_active(venue, request.form.get("active") == "1", "orgs.venue_edit", venue_id=venue_id)
