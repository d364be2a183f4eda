"""Fixtures: the app on SQLite and PostgreSQL, a client, log-in as a role, a live server and a browser."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from app import create_app
from app.config import TestConfig, normalise_database_url
from app.extensions import db
from tests import factories

IN_CI = bool(os.environ.get("CI"))
PG_ADMIN_URL = os.environ.get("TEST_DATABASE_URL", "")


def unavailable(reason: str) -> None:
    """Skip locally; in CI a missing PostgreSQL or browser is a failure, not a skip."""
    if IN_CI:
        pytest.fail(f"required in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def pytest_terminal_summary(terminalreporter) -> None:
    """Say how many tests ran on PostgreSQL and in the browser, so CI logs show they were not skipped."""
    passed = terminalreporter.stats.get("passed", [])
    postgres = sum(1 for report in passed if "[postgresql" in report.nodeid)
    browser = sum(1 for report in passed if "browser" in report.keywords)
    terminalreporter.write_line(f"PostgreSQL tests passed: {postgres}; browser tests passed: {browser}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI any skipped test fails the run: skipped means not run."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if IN_CI and reporter is not None and reporter.stats.get("skipped"):
        reporter.write_line(f"CI: {len(reporter.stats['skipped'])} test(s) skipped; failing the run.", red=True)
        session.exitstatus = 1


# -- databases ---------------------------------------------------------------

def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test run (dropped at the end)."""
    if not PG_ADMIN_URL:
        unavailable("TEST_DATABASE_URL is not set (e.g. postgresql://postgres@127.0.0.1/test)")
    name = f"linghang_test_{_worker()}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(normalise_database_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as error:
        admin.dispose()
        unavailable(f"PostgreSQL not reachable at TEST_DATABASE_URL: {error}")
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.connect() as connection:
        connection.execute(
            sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n AND pid <> pg_backend_pid()"),
            {"n": name},
        )
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def build_app(database_url: str, instance: Path, **overrides) -> Flask:
    """Create an app on a database, migrated to head."""
    from flask_migrate import upgrade

    config = TestConfig(database_url, instance)
    for key, value in overrides.items():
        setattr(config, key, value)
    app = create_app(config)
    with app.app_context():
        upgrade()
    return app


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request) -> str:
    """The database backend of this test: every database test runs on both."""
    return request.param


@pytest.fixture(scope="session")
def _apps(tmp_path_factory) -> dict[str, Flask]:
    return {}


@pytest.fixture
def app(backend: str, _apps: dict[str, Flask], tmp_path_factory, request) -> Iterator[Flask]:
    """The application on the current backend, with empty tables after each test."""
    if backend not in _apps:
        if backend == "postgresql":
            url = request.getfixturevalue("postgres_url")
        else:
            folder = tmp_path_factory.mktemp("sqlite")
            url = f"sqlite:///{folder / 'test.sqlite'}"
        _apps[backend] = build_app(url, tmp_path_factory.mktemp("instance"))
    flask_app = _apps[backend]
    with flask_app.app_context():
        yield flask_app
        db.session.rollback()
        db.session.remove()
        empty_tables()


def empty_tables() -> None:
    """Remove every row, keeping the schema and Alembic's version."""
    tables = [t for t in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # DELETE of a few rows is far cheaper than TRUNCATE of ~50 tables (which rewrites every
            # table's files) and most tests leave most tables empty. Triggers and foreign keys are
            # off for this transaction (the feed change log must not be refilled by the deletes);
            # every sequence restarts at 1, as TRUNCATE … RESTART IDENTITY did.
            connection.execute(sa.text("SET LOCAL session_replication_role = replica"))
            for table in tables:
                connection.execute(table.delete())
            connection.execute(sa.text(
                "SELECT setval(c.oid, 1, false) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE c.relkind = 'S' AND n.nspname = current_schema()"
            ))
        else:
            for table in tables:
                connection.execute(table.delete())


class RequestContextClient(FlaskClient):
    """Each request gets its own app context (and so its own g and session), as in production."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        # The test's own session must not answer from what it cached before the request.
        db.session.expire_all()
        return response


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client of the app."""
    app.test_client_class = RequestContextClient
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    """A CLI runner of the app."""
    return app.test_cli_runner()


@pytest.fixture
def login_as(client: FlaskClient):
    """Create an account of a role (or use the given user) and log the client in as it."""

    def log_in(role_or_user, **kwargs):
        user = role_or_user if not isinstance(role_or_user, str) else factories.user(role_or_user, **kwargs)
        db.session.commit()
        response = client.post(
            "/login", data={"email": user.email, "password": factories.PASSWORD}, follow_redirects=False
        )
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return user

    return log_in


# -- mail --------------------------------------------------------------------

class SMTPSink:
    """A real SMTP server (aiosmtpd) on a free port that keeps what it receives."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.controller = None

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def parsed(self):
        """The received messages parsed with the standard library."""
        from email import message_from_bytes
        from email.policy import SMTP

        return [message_from_bytes(raw, policy=SMTP) for _from, _to, raw in self.messages]


@pytest.fixture
def smtp_server(app: Flask) -> Iterator[SMTPSink]:
    """A local SMTP server; the app's MAIL_SERVER/MAIL_PORT point at it for this test."""
    sink = SMTPSink()
    sink.start()
    saved = app.config["MAIL_SERVER"], app.config["MAIL_PORT"]
    app.config["MAIL_SERVER"], app.config["MAIL_PORT"] = "127.0.0.1", sink.port
    try:
        yield sink
    finally:
        sink.stop()
        app.config["MAIL_SERVER"], app.config["MAIL_PORT"] = saved


@pytest.fixture(scope="session")
def dovecot():
    """A throw-away Dovecot IMAP server (Debian's dovecot-imapd) holding the reply mailbox."""
    from tests.dovecot import Dovecot, available

    if not available():
        unavailable("dovecot-imapd is not installed (apt-get install dovecot-imapd; .ci/run does)")
    server = Dovecot()
    server.start()
    yield server
    server.stop()


# -- live server and browser -------------------------------------------------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[tuple[str, Flask]]:
    """The app served over HTTP on a free port, on its own SQLite database."""
    flask_app = build_app(f"sqlite:///{tmp_path / 'live.sqlite'}", tmp_path / "instance")
    port = _free_port()
    flask_app.config["BASE_URL"] = f"http://127.0.0.1:{port}"
    server = make_server("127.0.0.1", port, flask_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}", flask_app
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright (never a downloaded browser)."""
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        unavailable("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=executable,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--disable-sync",
                "--disable-quic",
            ],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, tmp_path: Path, request):
    """A fresh browser page; a screenshot of the last page is kept in the test's tmp folder."""
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
    # Generous: CI runs two test processes on two cores beside the browser.
    context.set_default_timeout(30000)
    # Every journey runs under the app's Content-Security-Policy: record what it blocks.
    context.add_init_script(CSP_VIOLATION_RECORDER)
    browser_page = context.new_page()
    console_violations: list[str] = []
    browser_page.on(
        "console",
        lambda message: console_violations.append(message.text) if "Content Security Policy" in message.text else None,
    )
    yield browser_page
    try:
        browser_page.screenshot(path=str(tmp_path / f"{request.node.name}.png"), full_page=True)
        violations = console_violations + csp_violations(browser_page)
    finally:
        context.close()
    assert violations == [], f"the Content-Security-Policy blocked: {violations}"


# Injected by the browser itself (not an inline script, so the CSP does not apply to it).
CSP_VIOLATION_RECORDER = """
document.addEventListener('securitypolicyviolation', function (event) {
  try {
    var seen = JSON.parse(sessionStorage.getItem('csp-violations') || '[]');
    seen.push(event.violatedDirective + ' ' + (event.blockedURI || 'inline') + ' ' + event.sourceFile + ':' + event.lineNumber);
    sessionStorage.setItem('csp-violations', JSON.stringify(seen));
  } catch (e) {}
});
"""


def csp_violations(browser_page) -> list[str]:
    """The CSP violations the current page's tab recorded (they survive navigation in sessionStorage)."""
    try:
        return browser_page.evaluate("JSON.parse(sessionStorage.getItem('csp-violations') || '[]')")
    except Exception:  # noqa: BLE001 - a page that is not HTML (a download) has no storage
        return []


# -- group robots --------------------------------------------------------------

@pytest.fixture
def robot_provider(app: Flask):
    """A local stand-in for the WeCom and DingTalk webhooks; the app posts to it for this test."""
    from tests.robot_provider import RobotProvider

    provider = RobotProvider().start()
    saved = app.config["WECOM_WEBHOOK_BASE"], app.config["DINGTALK_WEBHOOK_BASE"]
    app.config["WECOM_WEBHOOK_BASE"] = app.config["DINGTALK_WEBHOOK_BASE"] = provider.base
    try:
        yield provider
    finally:
        provider.stop()
        app.config["WECOM_WEBHOOK_BASE"], app.config["DINGTALK_WEBHOOK_BASE"] = saved
# -- SMS ---------------------------------------------------------------------

@pytest.fixture
def sms_stub(app: Flask):
    """Start a local stand-in for an SMS provider's endpoint and point the app's SDK at it."""
    from tests.sms_provider import ProviderStub

    started: list[ProviderStub] = []
    saved = {key: app.config.get(key) for key in (
        "SMS_PROVIDER", "SMS_ENDPOINT", "SMS_ACCESS_KEY_ID", "SMS_ACCESS_KEY_SECRET", "SMS_SIGN_NAME",
        "SMS_SDK_APP_ID", "SMS_TEMPLATES", "SMS_DAILY_CAP",
    )}

    def start(provider: str = "aliyun") -> ProviderStub:
        stub = ProviderStub(provider)
        stub.start()
        started.append(stub)
        app.config.update(
            SMS_PROVIDER=provider, SMS_ENDPOINT=stub.url, SMS_ACCESS_KEY_ID="LTAI5tTestKeyId",
            SMS_ACCESS_KEY_SECRET="test-secret", SMS_SIGN_NAME="领航", SMS_SDK_APP_ID="1400787878",
            SMS_TEMPLATES={kind: f"SMS_{index:04d}" for index, kind in enumerate(SMS_TEMPLATE_KINDS)},
        )
        return stub

    yield start
    for stub in started:
        stub.stop()
    app.config.update(saved)


SMS_TEMPLATE_KINDS = (
    "invitation", "update", "cancellation", "reminder", "nudge", "promotion", "problem_assigned", "problem_resolved",
)
