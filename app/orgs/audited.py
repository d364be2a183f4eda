"""What the audit log records of organisations, people and venues."""

from __future__ import annotations

from flask import url_for
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext

from app.audit.subjects import AuditedModel, choice, flag, items, reference, references, text
from app.orgs.models import ORG_KIND_LABELS, PARTY_BRANCH_LABELS, Organisation, Person, Venue

ORGANISATION = AuditedModel(
    Organisation, _l("Organisation"),
    {
        "name": text(_l("Name")),
        "short_name": text(_l("Short name")),
        "kind": choice(_l("Kind"), ORG_KIND_LABELS),
        "party_branch": choice(_l("Party branch"), PARTY_BRANCH_LABELS),
        "joint_branch_name": text(_l("Joint branch")),
        "address": text(_l("Address")),
        "phone": text(_l("Phone")),
        "description": text(_l("Description")),
        "reminder_offsets": items(_l("Reminders (minutes before)")),
        "alliances": references(_l("Alliances"), Organisation),
    },
    title=lambda organisation: organisation.display_name,
    url=lambda organisation: url_for("orgs.organisation_detail", org_id=organisation.id),
    actions={"memberships": _l("Alliance memberships changed")},
)

PERSON = AuditedModel(
    Person, lazy_pgettext("audit record", "Person"),
    {
        "name": text(_l("Name")),
        "email": text(_l("E-mail")),
        "phone": text(_l("Phone")),
        "mobile": text(_l("Mobile (SMS)")),
        "title": text(_l("Position")),
        "organisation_id": reference(_l("Organisation"), Organisation),
        "is_contact": flag(_l("Contact person")),
        "enterprises": references(_l("Enterprises looked after"), Organisation),
    },
    title=lambda person: person.name,
    url=lambda person: url_for("orgs.person_detail", person_id=person.id),
    actions={"assignments": _l("Enterprises looked after changed")},
)

VENUE = AuditedModel(
    Venue, _l("Venue"),
    {
        "name": text(_l("Name")),
        "address": text(_l("Address")),
        "capacity": text(_l("Capacity")),
        "directions": text(_l("Directions")),
        "owner_id": reference(_l("Owner"), Organisation),
    },
    title=lambda venue: venue.name,
    url=lambda venue: url_for("orgs.venue_edit", venue_id=venue.id),
)

AUDITED = [ORGANISATION, PERSON, VENUE]
