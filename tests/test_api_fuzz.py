"""schemathesis fuzzes /api/v1/ on PostgreSQL from its own OpenAPI description.

The app is served over HTTP in a thread; schemathesis's command line runs every phase
(examples, coverage, fuzzing, stateful) with the checks it enables by default, a bounded number
of examples per operation, and a committee key holding every scope. It must find no server
error and no response that differs from the description. Business rules that JSON Schema cannot
say (the end after the start, a venue already taken …) answer 422, 409, 412 or 428, which
tests/schemathesis.toml adds to what `positive_data_acceptance` accepts for well-formed input.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from app.api.keys import create_key
from app.api.models import Scope
from app.core.clock import utcnow
from app.extensions import db
from app.orgs.models import OrgKind
from tests import factories as f
from tests.conftest import _free_port, build_app, empty_tables

pytestmark = pytest.mark.postgres_only

CONFIG = Path(__file__).with_name("schemathesis.toml")
MAX_EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "15"))


def seed() -> str:
    """A small county: organisations, people, a venue, a theme, activities, invitations; a committee key."""
    committee = f.organisation(OrgKind.committee, name="产业链综合党委")
    alliance = f.organisation(OrgKind.alliance, name="电子信息产业链党建联盟")
    department = f.organisation(OrgKind.department, name="县税务局")
    enterprise = f.organisation(OrgKind.enterprise, name="赣锋电子", address="工业园 1 号")
    f.member(alliance, enterprise)
    contact = f.person(enterprise, name="李经理")
    f.person(department, name="王科长")
    venue = f.venue("党群服务中心一楼")
    theme = f.theme(2026, 3)
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=20)
    draft = f.activity(host=committee, starts_at=start, status="draft", venue=venue, alliance_id=alliance.id)
    published = f.activity(host=committee, starts_at=start + timedelta(days=2), theme_id=theme.id)
    f.activity("visit", host=committee, starts_at=start + timedelta(days=3), site_id=enterprise.id,
               visit_kind="outreach")
    f.invitation(published, contact)
    f.invitation(draft, f.person(enterprise))
    _row, key = create_key(committee, "fuzz", [s.value for s in Scope], created_by=None, now=utcnow())
    db.session.commit()
    return key


@pytest.fixture
def served_api(postgres_url, tmp_path):
    """The app on the run's PostgreSQL database, seeded, served on a free port; emptied afterwards."""
    app = build_app(postgres_url, tmp_path / "instance", API_RATE_LIMIT="100000 per minute")
    port = _free_port()
    with app.app_context():
        empty_tables()
        key = seed()
        db.session.remove()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}", key
    finally:
        server.shutdown()
        thread.join(timeout=10)
        with app.app_context():
            db.session.remove()
            empty_tables()
            db.engine.dispose()


def test_schemathesis_finds_no_server_error_and_no_schema_mismatch(served_api, tmp_path):
    base, key = served_api
    command = shutil.which("schemathesis", path=str(Path(sys.executable).parent)) or "schemathesis"
    report = tmp_path / "report"
    result = subprocess.run(
        [
            command, "--config-file", str(CONFIG), "--no-color", "run", f"{base}/api/v1/openapi.json",
            "--header", f"Authorization: Bearer {key}",
            "--max-examples", str(MAX_EXAMPLES), "--workers", "2", "--seed", "1",
            "--report", "junit", "--report-dir", str(report),
        ],
        capture_output=True, text=True, timeout=600, env={**os.environ, "SCHEMATHESIS_HOOKS": "tests.api_fuzz_hooks", "PYTHONPATH": str(Path(__file__).parent.parent)},
        cwd=tmp_path,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-20000:]
    assert "No issues found" in output or "passed" in output, output[-5000:]
