"""Who an API key acts as: its organisation's people would, through the same permission checks.

The pages decide by the account's role and organisation (app/events/queries.py,
app/problems/queries.py …). A key is given the role its organisation's people hold: a
committee's or an alliance's key acts as an organiser, a department's as a liaison, an
enterprise's as its contact. The services and queries then see the principal exactly as they
see a logged-in account, so there is no second implementation of a rule.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.api.models import ApiKey
from app.core.roles import ROLE_LABELS, Role
from app.orgs.models import OrgKind

ROLE_OF_KIND = {
    OrgKind.committee: Role.organiser,
    OrgKind.alliance: Role.organiser,
    OrgKind.department: Role.liaison,
    OrgKind.enterprise: Role.contact,
}


@dataclass(frozen=True)
class ApiPrincipal:
    """A request authenticated by an API key; quacks like app.auth.models.User where services look."""

    api_key_id: int
    api_key_name: str
    organisation_id: int
    role: Role
    scopes: frozenset[str]
    # No account and no person stand behind a key: audit entries name the key instead.
    id: None = None
    person_id: None = None
    locale: None = None
    is_authenticated: bool = True
    is_active: bool = True
    is_anonymous: bool = False

    @classmethod
    def of(cls, key: ApiKey) -> ApiPrincipal:
        """The principal of a (not revoked) key."""
        return cls(
            api_key_id=key.id, api_key_name=key.name, organisation_id=key.organisation_id,
            role=ROLE_OF_KIND[key.organisation.kind], scopes=key.scope_set,
        )

    @property
    def name(self) -> str:
        """How pages name the actor."""
        return self.api_key_name

    @property
    def role_label(self) -> str:
        """The translated role."""
        return str(ROLE_LABELS[self.role])

    @property
    def is_staff(self) -> bool:
        """Organisers' keys run activities across the county."""
        return self.role in (Role.admin, Role.organiser)

    def has_role(self, *roles: Role) -> bool:
        """True when the key acts with one of the roles."""
        return self.role in roles

    def get_id(self) -> str:
        """Flask-Login's id; never stored in a session (the API has no sessions)."""
        return f"api-key:{self.api_key_id}"
