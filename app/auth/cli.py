"""`flask users …`: account administration from the shell."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from app.auth.models import Role
from app.auth.services import create_account
from app.core.errors import ValidationFailed
from app.core.unit_of_work import unit_of_work
from app.extensions import db
from app.orgs.models import Organisation

users_cli = AppGroup("users", help="Manage user accounts.")


@users_cli.command("create")
@click.option("--email", required=True, help="Log-in e-mail.")
@click.option("--name", required=True, help="The person's name.")
@click.option("--organisation", "organisation_name", required=True, help="Organisation name.")
@click.option("--role", type=click.Choice([role.value for role in Role]), required=True)
@click.password_option("--password", help="Prompted for when not given.")
def create_user(email: str, name: str, organisation_name: str, role: str, password: str) -> None:
    """Create a user account (and the person, if new)."""
    organisation = db.session.scalar(
        select(Organisation).where(
            (Organisation.name == organisation_name) | (Organisation.short_name == organisation_name)
        )
    )
    if organisation is None:
        raise click.ClickException(f"No organisation named {organisation_name!r}.")
    try:
        with unit_of_work():
            user = create_account(
                email=email, name=name, organisation=organisation, role=Role(role), password=password
            )
    except ValidationFailed as error:  # rolled back by the unit of work; shown as a CLI error
        raise click.ClickException(error.message) from error
    click.echo(f"Created {user.role.value} account {user.email} (id {user.id}).")
