"""`flask scheduler run` (the one unattended process) and `flask reminders sweep|plan` (by hand)."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from datetime import timedelta

import click
from flask import current_app
from flask.cli import AppGroup

from app.core.clock import utcnow
from app.core.unit_of_work import unit_of_work
from app.reminders import scheduler
from app.reminders.planning import plan_upcoming

reminders_cli = AppGroup("reminders", help="Reminders: plan and sweep by hand.")
scheduler_cli = AppGroup("scheduler", help="The scheduler process that sends reminders and mail.")


@reminders_cli.command("sweep")
def sweep_command() -> None:
    """Run one pass now: queue due reminders, then deliver due mail."""
    figures = scheduler.run_pass(current_app._get_current_object())  # type: ignore[attr-defined]
    click.echo(" ".join(f"{key} {value}" for key, value in figures.items()))


@reminders_cli.command("plan")
@click.option("--days", default=365, show_default=True, help="How far ahead to look.")
def plan_command(days: int) -> None:
    """Recompute the reminders of every published activity that has not started."""
    with unit_of_work():
        planned = plan_upcoming(utcnow(), timedelta(days=days))
    click.echo(f"planned {planned} activities")


@scheduler_cli.command("run")
@click.option("--interval", type=float, default=None, help="Seconds between passes (SCHEDULER_INTERVAL_SECONDS).")
def run_command(interval: float | None) -> None:
    """Run the scheduler until SIGTERM/SIGINT; on PostgreSQL extra copies wait as stand-bys."""
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        stream=sys.stderr,
        force=True,
    )
    stop = threading.Event()

    def request_stop(signum, _frame) -> None:
        scheduler.log.info("signal %s: stopping after the current pass", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    sys.exit(scheduler.run_until_stopped(app, stop, interval))
