"""`flask outbox send`: deliver what is due (the scheduler does this unattended)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.core.clock import utcnow
from app.mail.dispatch import deliver_due

outbox_cli = AppGroup("outbox", help="The outgoing mail queue.")


@outbox_cli.command("send")
@click.option("--limit", default=500, show_default=True, help="Most messages to send in this pass.")
def send(limit: int) -> None:
    """Deliver every due message over SMTP once."""
    report = deliver_due(utcnow(), limit=limit)
    click.echo(
        f"claimed {report.claimed}, sent {report.sent}, retrying {report.retrying}, "
        f"given up {report.failed}, withdrawn {report.withdrawn}"
    )
    for error in report.errors:
        click.echo(f"  {error}", err=True)
