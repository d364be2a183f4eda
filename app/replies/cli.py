"""`flask mail fetch`: read the reply mailbox once (the scheduler does this on every pass)."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from app.core.clock import utcnow
from app.replies.mailbox import configured, fetch_replies

mail_cli = AppGroup("mail", help="The reply mailbox: calendar answers that come back.")


@mail_cli.command("fetch")
@click.option("--limit", default=500, show_default=True, help="Most mails to read in this run.")
def fetch(limit: int) -> None:
    """Read new mails from the reply mailbox and apply the calendar answers in them."""
    if not configured():
        click.echo("IMAP_HOST is not set: no reply mailbox to read.", err=True)
        sys.exit(2)
    try:
        report = fetch_replies(utcnow(), limit=limit)
    except Exception as error:  # an unreachable server or a refused log-in: say so, no traceback
        click.echo(f"could not read the reply mailbox: {error.__class__.__name__}: {error}", err=True)
        sys.exit(1)
    click.echo(" ".join(f"{key} {value}" for key, value in report.figures().items()))
    for error in report.errors:
        click.echo(f"  {error}", err=True)
