"""No one can lock the administrators out: ranks and the last active administrator."""

from __future__ import annotations

from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.auth.models import Role, User
from app.extensions import db
from app.orgs.models import Person
from tests import factories


def audit_count() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEntry))


def can_log_in(app, user: User) -> bool:
    response = app.test_client().post("/login", data={"email": user.email, "password": factories.PASSWORD})
    return response.status_code == 302


def test_an_organiser_cannot_deactivate_or_edit_the_admins_person(app, client, login_as):
    admin = factories.user("admin")
    db.session.commit()
    login_as("organiser")
    before = audit_count()
    assert client.post(f"/people/{admin.person_id}/active", data={"active": "0"}).status_code == 403
    response = client.post(
        f"/people/{admin.person_id}/edit",
        data={"name": "改名", "email": "taken-over@example.com", "organisation_id": admin.person.organisation_id},
    )
    assert response.status_code == 403
    assert client.get(f"/people/{admin.person_id}/edit").status_code == 403
    page = client.get(f"/people/{admin.person_id}").get_data(as_text=True)
    assert f"/people/{admin.person_id}/edit" not in page and f"/people/{admin.person_id}/active" not in page
    person = db.session.get(Person, admin.person_id)
    assert person.active and person.email != "taken-over@example.com" and person.name != "改名"
    assert audit_count() == before
    assert can_log_in(app, admin)


def test_an_organiser_still_manages_people_of_lower_rank(app, client, login_as):
    contact = factories.user("contact")
    peer = factories.user("organiser")
    db.session.commit()
    login_as("organiser")
    assert f"/people/{contact.person_id}/edit" in client.get(f"/people/{contact.person_id}").get_data(as_text=True)
    assert client.post(f"/people/{contact.person_id}/active", data={"active": "0"}).status_code == 302
    assert client.post(f"/people/{peer.person_id}/active", data={"active": "0"}).status_code == 302
    assert not db.session.get(Person, contact.person_id).active
    assert not db.session.get(Person, peer.person_id).active


def test_the_last_active_admin_cannot_be_deactivated(app, client, login_as):
    admin = login_as("admin")
    before = audit_count()
    response = client.post(f"/people/{admin.person_id}/active", data={"active": "0"})
    assert response.status_code == 400
    assert "最后一位在用的管理员" in response.get_data(as_text=True)
    assert db.session.get(Person, admin.person_id).active
    assert audit_count() == before
    # With a second active administrator the same change is allowed.
    other = factories.user("admin")
    db.session.commit()
    assert client.post(f"/people/{other.person_id}/active", data={"active": "0"}).status_code == 302
    assert not db.session.get(Person, other.person_id).active
    refused = client.post(f"/people/{admin.person_id}/active", data={"active": "0"})
    assert refused.status_code == 400  # the other one is inactive now: this is the last again


def test_an_admin_cannot_demote_or_deactivate_the_last_other_admin(app, client, login_as):
    """Even with another admin's account in reach, the accounts page keeps one active admin."""
    admin = login_as("admin")
    other = factories.user("admin")
    db.session.commit()
    # Demoting the other admin is fine while this one stays.
    response = client.post(f"/accounts/{other.id}/edit", data={"role": "organiser", "active": "y"})
    assert response.status_code == 302
    assert db.session.get(User, other.id).role == Role.organiser
    # This admin's own account: refused (never the last one standing without rights).
    own = client.post(f"/accounts/{admin.id}/edit", data={"role": "organiser", "active": "y"})
    assert own.status_code == 200
    assert db.session.get(User, admin.id).role == Role.admin
