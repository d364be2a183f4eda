"""`flask demo …`: load the demo county and show its accounts."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.core.unit_of_work import unit_of_work
from app.demo import data, services

demo_cli = AppGroup("demo", help="The demo county modelled on the Yihuang report.")


@demo_cli.command("load")
@click.option("--if-empty", is_flag=True, help="Only load into an empty database.")
def load(if_empty: bool) -> None:
    """Load the demo county (running it again adds nothing)."""
    if if_empty and not services.is_empty():
        click.echo("The database already has data; demo not loaded.")
        return
    with unit_of_work():
        result = services.load()
    click.echo("Demo county loaded: " + ", ".join(f"{table} {n}" for table, n in result.items()))


@demo_cli.command("accounts")
def accounts() -> None:
    """Print the demo accounts and their password."""
    click.echo(f"Demo accounts (password for all: {data.DEMO_PASSWORD}):")
    for email, name, organisation, role in data.DEMO_ACCOUNTS:
        click.echo(f"  {role:<11} {email:<28} {name} · {organisation}")
