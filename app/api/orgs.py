"""Organisations, people and venues (scope orgs:read).

What a key sees follows the pages: organisers' keys (committee, alliance) see everything the
staff pages show. Other keys see the active organisations and venues by name (what activity
pages show them), and only the people of their own organisation; any other person is a 404.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask_login import current_user
from sqlalchemy import Select, select

from app.api.auth import requires
from app.api.errors import ApiError
from app.api.framework import LinghangBlueprint, Strict, documented
from app.api.models import Scope
from app.api.pagination import Keyset, PageArgs, page, page_of
from app.api.schemas import QueryId
from app.extensions import db
from app.orgs.models import Organisation, OrgKind, PartyBranch, Person, Venue

bp = LinghangBlueprint(
    "api_organisations", __name__, url_prefix="/api/v1",
    description="Organisations, people and venues (scope orgs:read).",
)


class OrganisationSchema(Strict):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    short_name = ma.fields.String(required=True, allow_none=True)
    kind = ma.fields.Enum(OrgKind, by_value=True, required=True)
    alliance_ids = ma.fields.List(ma.fields.Integer(), required=True,
                                  metadata={"description": "Alliances an enterprise belongs to"})
    active = ma.fields.Boolean(required=True)
    # Staff keys only:
    party_branch = ma.fields.Enum(PartyBranch, by_value=True)
    address = ma.fields.String(allow_none=True)
    phone = ma.fields.String(allow_none=True)
    description = ma.fields.String(allow_none=True)


class OrganisationArgs(PageArgs):
    kind = ma.fields.Enum(OrgKind, by_value=True, load_default=None)


class PersonSchema(Strict):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    organisation_id = ma.fields.Integer(required=True)
    title = ma.fields.String(required=True, allow_none=True)
    email = ma.fields.String(required=True, allow_none=True)
    phone = ma.fields.String(required=True, allow_none=True)
    is_contact = ma.fields.Boolean(required=True)
    active = ma.fields.Boolean(required=True)


class PersonArgs(PageArgs):
    organisation = QueryId(load_default=None)


class VenueSchema(Strict):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    address = ma.fields.String(required=True)
    capacity = ma.fields.Integer(required=True)
    directions = ma.fields.String(required=True, allow_none=True)
    active = ma.fields.Boolean(required=True)


BY_NAME = Keyset("organisations", Organisation.name, Organisation.id)
PEOPLE = Keyset("people", Person.name, Person.id)
VENUES = Keyset("venues", Venue.name, Venue.id)
STAFF_ONLY = ("party_branch", "address", "phone", "description")


def _organisation(organisation: Organisation) -> dict[str, Any]:
    shown = {
        "id": organisation.id, "name": organisation.name, "short_name": organisation.short_name,
        "kind": organisation.kind, "active": organisation.active,
        "alliance_ids": sorted(m.alliance_id for m in organisation.memberships),
    }
    if current_user.is_staff:
        shown.update({name: getattr(organisation, name) for name in STAFF_ONLY})
    return shown


def _visible_organisations() -> Select:
    statement = select(Organisation)
    return statement if current_user.is_staff else statement.where(Organisation.active.is_(True))


@bp.get("/organisations")
@requires(Scope.orgs_read)
@bp.etag
@bp.arguments(OrganisationArgs, location="query")
@bp.response(200, page_of(OrganisationSchema))
def organisations(args: dict[str, Any]):
    """Organisations by name; `kind` filters."""
    statement = _visible_organisations()
    if args["kind"]:
        statement = statement.where(Organisation.kind == args["kind"])
    body, headers = page(statement, BY_NAME, args)
    body["items"] = [_organisation(o) for o in body["items"]]
    return body, 200, headers


@bp.get("/organisations/<id:org_id>")
@requires(Scope.orgs_read)
@bp.etag
@bp.response(200, OrganisationSchema)
@documented(404)
def organisation(org_id: int):
    """One organisation."""
    found = db.session.scalar(_visible_organisations().where(Organisation.id == org_id))
    if found is None:
        raise ApiError("not_found")
    return _organisation(found)


def _visible_people() -> Select:
    statement = select(Person)
    if current_user.is_staff:
        return statement
    return statement.where(Person.organisation_id == current_user.organisation_id, Person.active.is_(True))


@bp.get("/people")
@requires(Scope.orgs_read)
@bp.etag
@bp.arguments(PersonArgs, location="query")
@bp.response(200, page_of(PersonSchema))
def people(args: dict[str, Any]):
    """People by name: every person for organisers' keys, one's own organisation's for the others."""
    statement = _visible_people()
    if args["organisation"]:
        statement = statement.where(Person.organisation_id == args["organisation"])
    body, headers = page(statement, PEOPLE, args)
    return body, 200, headers


@bp.get("/people/<id:person_id>")
@requires(Scope.orgs_read)
@bp.etag
@bp.response(200, PersonSchema)
@documented(404)
def person(person_id: int):
    """One person the key may see."""
    found = db.session.scalar(_visible_people().where(Person.id == person_id))
    if found is None:
        raise ApiError("not_found")
    return found


def _visible_venues() -> Select:
    statement = select(Venue)
    return statement if current_user.is_staff else statement.where(Venue.active.is_(True))


@bp.get("/venues")
@requires(Scope.orgs_read)
@bp.etag
@bp.arguments(PageArgs, location="query")
@bp.response(200, page_of(VenueSchema))
def venues(args: dict[str, Any]):
    """Venues by name."""
    body, headers = page(_visible_venues(), VENUES, args)
    return body, 200, headers


@bp.get("/venues/<id:venue_id>")
@requires(Scope.orgs_read)
@bp.etag
@bp.response(200, VenueSchema)
@documented(404)
def venue(venue_id: int):
    """One venue."""
    found = db.session.scalar(_visible_venues().where(Venue.id == venue_id))
    if found is None:
        raise ApiError("not_found")
    return found


__all__ = ["bp"]
