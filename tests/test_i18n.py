"""Chinese first, English on request, dates in Chinese conventions."""

from __future__ import annotations

from datetime import UTC, datetime

from flask_babel import force_locale

from app.core.i18n import format_day, format_dt, format_range


def test_pages_are_chinese_by_default_and_english_on_request(client, app):
    page = client.get("/login").get_data(as_text=True)
    assert "登录" in page
    assert 'lang="zh-CN"' in page
    response = client.get("/lang/en?next=/login")
    assert response.headers["Location"] == "/login"
    page = client.get("/login").get_data(as_text=True)
    assert "Log in" in page
    assert 'lang="en"' in page


def test_unknown_language_is_ignored(client, app):
    client.get("/lang/xx")
    assert "登录" in client.get("/login").get_data(as_text=True)


def test_dates_follow_chinese_conventions_in_the_display_zone(app):
    moment = datetime(2026, 3, 5, 6, 30, tzinfo=UTC)  # 14:30 in Beijing
    with app.test_request_context():
        with force_locale("zh_CN"):
            assert format_dt(moment) == "2026年3月5日 周四 14:30"
            assert format_day(moment.date()) == "2026年3月5日 周四"
            assert format_range(moment, datetime(2026, 3, 5, 8, 30, tzinfo=UTC)) == "2026年3月5日 周四 14:30–16:30"
        with force_locale("en"):
            assert format_dt(moment) == "Thu 5 Mar 2026 14:30"


def test_late_utc_evening_is_next_day_in_beijing(app):
    with app.test_request_context(), force_locale("zh_CN"):
        assert format_dt(datetime(2026, 3, 4, 17, 0, tzinfo=UTC)) == "2026年3月5日 周四 01:00"


def test_catalogue_is_complete():
    """Every message of the Chinese catalogue is translated and none is fuzzy."""
    from pathlib import Path

    from babel.messages.pofile import read_po

    path = Path(__file__).resolve().parent.parent / "app/translations/zh/LC_MESSAGES/messages.po"
    with path.open("rb") as handle:
        catalog = read_po(handle)
    missing = [m.id for m in catalog if m.id and not (m.string if isinstance(m.string, str) else all(m.string))]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert missing == []
    assert fuzzy == []
