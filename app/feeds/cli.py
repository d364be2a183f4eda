"""`flask feeds url`: print a working feed address for an organisation, person, alliance…; `flask feeds prune`."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from app.core.clock import utcnow
from app.core.unit_of_work import unit_of_work
from app.extensions import db
from app.feeds import services, tracking
from app.orgs.models import Organisation, OrgKind, Person

feeds_cli = click.Group("feeds", help="Calendar feeds.")


@feeds_cli.command("url")
@click.option("--org", "org_name", help="An organisation's name (enterprise, committee…).")
@click.option("--person", "email", help="A person's e-mail.")
@click.option("--alliance", "alliance_name", help="An alliance's name.")
@click.option("--department", "department_name", help="A department's name.")
@click.option("--public", "public_feed", is_flag=True, help="The public feed of open activities.")
@with_appcontext
def url_command(org_name, email, alliance_name, department_name, public_feed):
    """Print the feed's URL (BASE_URL + path), creating a token named "CLI" when needed.

    The token is derived from SECRET_KEY (see services.cli_token), so repeated runs print the
    same URL until that token is revoked; then the next run creates and prints a new one.
    """
    given = [v for v in (org_name, email, alliance_name, department_name) if v] + ([True] if public_feed else [])
    if len(given) != 1:
        raise click.UsageError("Give exactly one of --org, --person, --alliance, --department, --public.")
    if public_feed:
        click.echo(services.feed_url(services.public_feed_path()))
        return
    with unit_of_work():
        token = _cli_token(org_name, email, alliance_name, department_name, utcnow())
    click.echo(current_app.config["BASE_URL"].rstrip("/") + services.feed_path(token))


def _cli_token(org_name, email, alliance_name, department_name, now) -> str:
    """The CLI feed token of the person or organisation named (flushes)."""
    if email:
        person = db.session.scalar(select(Person).where(Person.email == email.strip().lower()))
        if person is None:
            person = db.session.scalar(select(Person).where(Person.email == email.strip()))
        if person is None:
            raise click.ClickException(f"No person with e-mail {email}.")
        return services.cli_token(person=person, now=now)
    else:
        name = org_name or alliance_name or department_name
        statement = select(Organisation).where(Organisation.name == name)
        if alliance_name:
            statement = statement.where(Organisation.kind == OrgKind.alliance)
        if department_name:
            statement = statement.where(Organisation.kind == OrgKind.department)
        organisation = db.session.scalar(statement)
        if organisation is None:
            raise click.ClickException(f"No such organisation: {name}.")
        return services.cli_token(organisation=organisation, now=now)


@feeds_cli.command("prune")
@with_appcontext
def prune_command():
    """Delete feed change rows older than two days (run daily; no cached feed needs them)."""
    with unit_of_work():
        count = tracking.prune(utcnow())
    click.echo(f"{count} feed change rows deleted.")
