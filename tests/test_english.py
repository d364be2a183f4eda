"""Pages in English say everything in English: prints, outbox kinds and lists of names."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from app.audit.subjects import declared_types
from app.extensions import db
from app.mail.models import OutboxMessage, OutboxStatus
from app.mail.notices import notices
from app.orgs.models import OrgKind
from tests import factories

NOW = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\u3000-\u303f\uff00-\uffef]")


def in_english(client) -> None:
    with client.session_transaction() as session:
        session["lang"] = "en"


def test_the_year_plan_print_is_in_english(app, client, login_as):
    department = factories.organisation(OrgKind.department, name="县税务局")
    factories.theme(year=2026, month=3, title="减税退税政策宣讲", lead_departments=[department])
    factories.activity(title="减税沙龙", starts_at=NOW)
    login_as("organiser")
    in_english(client)
    page = client.get("/themes/plan/2026/print").get_data(as_text=True)
    assert 'lang="en"' in page and "Year plan 2026" in page and "Month 3" in page
    assert "减税沙龙 (Alliance salon, Published)" in page
    text = re.sub(r"<[^>]+>", " ", page)
    for data in ("县税务局", "减税退税政策宣讲", "减税沙龙"):
        text = text.replace(data, "")
    assert HAN.findall(text) == []


def test_the_outbox_names_every_kind(app, client, login_as):
    assert notices().unnamed_kinds() == []
    db.session.add(OutboxMessage(
        kind="invitation.update", recipient="a@example.com", subject="变更", raw=b"x", message_id="<m1@t>",
        status=OutboxStatus.sent, attempts=1, next_attempt_at=NOW, created_at=NOW,
    ))
    db.session.commit()
    login_as("organiser")
    in_english(client)
    page = client.get("/outbox").get_data(as_text=True)
    assert "Change notice" in page and "invitation.update" not in page
    with client.session_transaction() as session:
        session["lang"] = "zh_CN"
    assert "变更通知" in client.get("/outbox").get_data(as_text=True)


def test_lists_of_names_are_joined_by_the_language(app, client, login_as):
    cohosts = [factories.organisation(OrgKind.department, name=n) for n in ("县税务局", "县商务局", "县人社局")]
    activity = factories.activity(title="政策宣讲", cohosts=cohosts)
    db.session.commit()
    login_as("organiser")
    page = client.get(f"/activities/{activity.id}").get_data(as_text=True)
    names = "(?:县税务局|县商务局|县人社局)"
    assert re.search(f"{names}、{names}和{names}", page)
    in_english(client)
    page = client.get(f"/activities/{activity.id}").get_data(as_text=True)
    assert re.search(f"{names}, {names}, and {names}", page) and "、" not in page


def test_every_audited_kind_has_an_english_and_a_chinese_name(app, client, login_as):
    assert {"activity", "problem", "invitation", "user_account"} <= declared_types()
