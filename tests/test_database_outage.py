"""A hung database: /healthz answers 503 quickly, pages answer the static page, and all recovers.

The test starts a throw-away PostgreSQL cluster of its own (initdb + pg_ctl on a free port),
pauses the postmaster and its backends with SIGSTOP, and resumes them with SIGCONT.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from app import create_app
from app.config import TestConfig
from app.extensions import db
from tests import factories
from tests.conftest import _free_port, build_app, unavailable

pytestmark = pytest.mark.postgres_only


def _postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _as_cluster_owner(command: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root: run it as the postgres user then.
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


class Cluster:
    """A PostgreSQL cluster in a temporary folder, on its own port."""

    def __init__(self, folder: Path, binaries: Path) -> None:
        self.folder, self.binaries = folder, binaries
        self.data = folder / "data"
        self.port = _free_port()

    def run(self, tool: str, *args: str) -> None:
        done = subprocess.run(_as_cluster_owner([str(self.binaries / tool), *args]), capture_output=True, text=True, timeout=120)
        if done.returncode:
            raise RuntimeError(f"{tool} failed: {done.stderr or done.stdout}")

    def start(self) -> None:
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.folder, owner.pw_uid, owner.pw_gid)
        self.run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=20"
        self.run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.folder / "log"), "-w", "-t", "60", "start")

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def processes(self) -> list[int]:
        """The postmaster and every process it started (its backends and helpers)."""
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        children = []
        for stat in glob.glob("/proc/[0-9]*/stat"):
            try:
                fields = Path(stat).read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == postmaster:
                children.append(int(Path(stat).parent.name))
        return [postmaster, *children]

    def signal_all(self, signum: int) -> None:
        for pid in self.processes():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    def stop(self) -> None:
        try:
            self.signal_all(signal.SIGCONT)
            self.run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        except (OSError, RuntimeError, subprocess.SubprocessError):
            pass


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    binaries = _postgres_bin()
    if binaries is None or (os.geteuid() == 0 and shutil.which("runuser") is None):
        unavailable("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    # Not under pytest's tmp folder: as root that one is closed to the postgres user.
    folder = Path(tempfile.mkdtemp(prefix="linghang-pg-outage-"))
    own = Cluster(folder, binaries)
    try:
        own.start()
        yield own
    finally:
        own.stop()
        shutil.rmtree(folder, ignore_errors=True)


def short_timeout_app(url: str, instance: Path) -> Flask:
    """The app as production runs it, with short timeouts so the test stays quick."""
    build_app(url, instance)  # migrate with the default timeouts
    config = TestConfig(url, instance)
    config.DATABASE_CONNECT_TIMEOUT = 2
    config.DATABASE_STATEMENT_TIMEOUT = 2000
    config.HEALTHZ_TIMEOUT = 1000
    return create_app(config)


def timed(call):
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def test_a_paused_database_gives_503_quickly_and_recovers_without_restart(cluster, tmp_path):
    app = short_timeout_app(cluster.url, tmp_path / "instance")
    with app.app_context():
        user = factories.user("organiser")
        db.session.commit()
        email = user.email
        db.session.remove()
    client = app.test_client()
    assert client.post("/login", data={"email": email, "password": factories.PASSWORD}).status_code == 302
    assert client.get("/").status_code == 200
    assert client.get("/healthz").status_code == 200

    cluster.signal_all(signal.SIGSTOP)
    try:
        health, health_seconds = timed(lambda: client.get("/healthz"))
        assert health.status_code == 503
        assert health.get_json()["database"] == "unreachable"
        assert health_seconds < 5

        page, page_seconds = timed(lambda: client.get("/"))
        assert page.status_code == 503
        text = page.get_data(as_text=True)
        assert "系统暂时无法访问" in text and "Temporarily unavailable" in text
        assert "Internal Server Error" not in text
        assert page.headers["Content-Security-Policy"]
        assert page_seconds < 15
    finally:
        cluster.signal_all(signal.SIGCONT)

    # The same app, not restarted: the pool drops the cut connections and opens new ones.
    assert client.get("/healthz").status_code == 200
    recovered = client.get("/")
    assert recovered.status_code == 200
    assert "系统暂时无法访问" not in recovered.get_data(as_text=True)
    with app.app_context():
        db.engine.dispose()
