"""Linghang 领航: the application factory.

`create_app` is the one wiring place: each named register_* step binds one concern (extensions,
inputs, blueprints, features, the unit of work, security, templates, error pages, CLI), nothing
registers itself at import time, and the app refuses to start when a notice kind has no builder.
Packages form an acyclic graph with app/core at the bottom (tests/test_architecture.py).
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from app.config import Config, check_config


def create_app(config: Config | None = None) -> Flask:
    """Build the Flask application from a settings object (from the environment by default)."""
    root = Path(__file__).resolve().parent.parent
    config = config or Config()
    app = Flask(
        __name__,
        instance_path=config.INSTANCE_PATH,
        template_folder=str(root / "templates"),
        static_folder="static",
    )
    app.config.from_object(config)
    check_config(app.config)
    for step in (
        register_extensions,
        register_models,
        register_features,
        check_notices,
        register_inputs,
        register_blueprints,
        register_api,
        register_security,
        register_unit_of_work,
        register_template_helpers,
        register_errorhandlers,
        register_cli,
    ):
        step(app)
    return app


def register_extensions(app: Flask) -> None:
    """Bind db, migrate, csrf, babel and the login manager to the app."""
    from app.auth.access import configure_login
    from app.core.database import engine_options, init_database_timeouts
    from app.core.i18n import select_locale, select_timezone
    from app.extensions import babel, csrf, db, migrate

    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
        **engine_options(app.config),
        **app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}),
    }
    db.init_app(app)
    init_database_timeouts(app, db)
    migrate.init_app(
        app,
        db,
        directory=str(Path(app.root_path).parent / "migrations"),
        render_as_batch=True,
        compare_type=True,
    )
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    configure_login(app)


def register_models(app: Flask) -> None:
    """Import every model module so metadata (and Alembic) sees all tables."""
    from app import models  # noqa: F401


def register_features(app: Flask) -> None:
    """Wire the features together: signal receivers, notice builders and checks, conflict sources.

    The one place where features are connected; nothing registers itself at import time.
    """
    from app.invitations.wiring import register as register_invitations
    from app.mail.notices import init_notices
    from app.notify.wiring import register as register_notify
    from app.problems.notices import register as register_problem_notices
    from app.problems.reminders import register as register_problem_reminders
    from app.reminders.hooks import register as register_reminders
    from app.replies.wiring import register as register_replies
    from app.robots.wiring import register as register_robots
    from app.stats.rollup import register as register_ledger_summaries
    from app.webhooks.wiring import register as register_webhooks

    init_notices(app)
    register_notify(app)
    register_invitations(app)
    register_reminders(app)
    register_problem_reminders(app)
    register_problem_notices(app)
    register_replies(app)
    register_robots(app)
    register_ledger_summaries(app)
    register_webhooks(app)
    register_audited_models(app)


def register_audited_models(app: Flask) -> None:
    """Declare what the audit log records of each kind of record (app/audit/subjects.py)."""
    from app.api.audited import AUDITED as API_KEYS
    from app.audit.subjects import register_audited
    from app.auth.audited import AUDITED as ACCOUNTS
    from app.events.audited import AUDITED as ACTIVITIES
    from app.feeds.audited import AUDITED as FEEDS
    from app.invitations.audited import AUDITED as INVITATIONS
    from app.mail.audited import AUDITED as MAIL
    from app.orgs.audited import AUDITED as ORGS
    from app.problems.audited import AUDITED as PROBLEMS
    from app.robots.audited import AUDITED as ROBOTS
    from app.webhooks.audited import AUDITED as WEBHOOKS
    from app.workcal.audited import AUDITED as WORKCAL

    register_audited(
        app,
        [*API_KEYS, *ACCOUNTS, *ACTIVITIES, *FEEDS, *INVITATIONS, *MAIL, *ORGS, *PROBLEMS, *ROBOTS, *WEBHOOKS, *WORKCAL],
    )


def check_notices(app: Flask) -> None:
    """Refuse to start while a reminder kind or an outbox kind has nothing to build its mail."""
    from app.invitations.emails import OUTBOX_KINDS as INVITATION_OUTBOX_KINDS
    from app.mail.notices import notices_of
    from app.problems.notices import OUTBOX_KINDS as PROBLEM_OUTBOX_KINDS
    from app.reminders.models import OUTBOX_KIND as REMINDER_OUTBOX_KIND
    from app.reminders.models import ReminderKind

    notices_of(app).check_complete(
        [kind.value for kind in ReminderKind], [*INVITATION_OUTBOX_KINDS, REMINDER_OUTBOX_KIND, *PROBLEM_OUTBOX_KINDS]
    )


def register_inputs(app: Flask) -> None:
    """Bounded path converters (<id:…>, <int:…>, <year:…>) for every blueprint's rules."""
    from app.core.inputs import register_converters

    register_converters(app)


def register_blueprints(app: Flask) -> None:
    """Mount each feature's blueprint."""
    from app.audit.views import bp as audit_bp
    from app.auth.views import bp as auth_bp
    from app.events.views import bp as events_bp
    from app.feeds.views import bp as calendar_bp
    from app.invitations.routes import bp as invitations_bp
    from app.mail.views import bp as mail_bp
    from app.main.views import bp as main_bp
    from app.notify.views import bp as notify_bp
    from app.orgs.views import bp as orgs_bp
    from app.problems.views import bp as problems_bp
    from app.robots.views import bp as robots_bp
    from app.shortlinks.views import bp as shortlinks_bp
    from app.stats.views import bp as stats_bp
    from app.webhooks.views import bp as webhooks_bp
    from app.workcal.views import bp as workcal_bp

    for blueprint in (
        main_bp,
        auth_bp,
        orgs_bp,
        events_bp,
        audit_bp,
        invitations_bp,
        mail_bp,
        notify_bp,
        calendar_bp,
        problems_bp,
        shortlinks_bp,
        robots_bp,
        stats_bp,
        webhooks_bp,
        workcal_bp,
    ):
        app.register_blueprint(blueprint)


def register_api(app: Flask) -> None:
    """Mount the JSON API at /api/v1/ (before the unit of work wraps every view)."""
    from app.api import register

    register(app)


def register_security(app: Flask) -> None:
    """Security headers on every response, log-in throttling, the client address behind proxies."""
    from werkzeug.middleware.proxy_fix import ProxyFix

    from app.auth.throttle import init_throttle
    from app.core.security_headers import init_security_headers

    init_security_headers(app)
    init_throttle(app)
    if app.config["PROXY_COUNT"]:
        # Behind nginx & co. the address to throttle is the client's, not the proxy's.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["PROXY_COUNT"], x_proto=app.config["PROXY_COUNT"])


def register_unit_of_work(app: Flask) -> None:
    """Run every view as one transaction, committed or rolled back at the edge."""
    from app.core.unit_of_work import wrap_views

    wrap_views(app)


def register_template_helpers(app: Flask) -> None:
    """Filters and globals for templates: dates in Chinese conventions, labels, navigation."""
    from app.core.templating import init_templating
    from app.events.templating import init_templating as init_activity_templating

    init_templating(app)
    init_activity_templating(app)


def register_errorhandlers(app: Flask) -> None:
    """HTML error pages in both languages; JSON errors under /api/."""
    from app.main.errors import init_error_handlers

    init_error_handlers(app)


def register_cli(app: Flask) -> None:
    """Add the flask sub-commands (users, demo)."""
    from app.auth.cli import users_cli
    from app.demo.cli import demo_cli
    from app.feeds.cli import feeds_cli
    from app.mail.cli import outbox_cli
    from app.reminders.cli import reminders_cli, scheduler_cli
    from app.replies.cli import mail_cli
    from app.stats.rebuild import stats_cli

    app.cli.add_command(users_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(outbox_cli)
    app.cli.add_command(reminders_cli)
    app.cli.add_command(scheduler_cli)
    app.cli.add_command(feeds_cli)
    app.cli.add_command(mail_cli)
    app.cli.add_command(stats_cli)
