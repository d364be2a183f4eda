"""The roles an account can hold, shared by every feature's access checks."""

from __future__ import annotations

import enum

from flask_babel import lazy_gettext as _l


class Role(enum.StrEnum):
    admin = "admin"
    organiser = "organiser"
    liaison = "liaison"
    contact = "contact"
    instructor = "instructor"


ROLE_LABELS = {
    Role.admin: _l("Administrator"),
    Role.organiser: _l("Organiser"),
    Role.liaison: _l("Department liaison"),
    Role.contact: _l("Enterprise contact"),
    Role.instructor: _l("Party-building instructor"),
}
