"""Pages opened from a message in a chat app: link previews carry title, time and place, and no secret but the page's own."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest

from app.extensions import db
from app.invitations.models import Answer
from app.orgs.models import OrgKind
from tests import factories

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


class Head(HTMLParser):
    """The <meta> tags and every URL-bearing attribute of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.meta: dict[str, str] = {}
        self.head_urls: list[str] = []
        self._in_head = True

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "body":
            self._in_head = False
        if tag == "meta" and ("property" in values or "name" in values):
            self.meta[values.get("property") or values["name"]] = values.get("content", "")
        if self._in_head:
            self.head_urls += [value for name, value in attrs if name in ("href", "src", "content") and value and "/" in value]


def head_of(html: str) -> Head:
    parser = Head()
    parser.feed(html)
    return parser


@pytest.fixture
def invitation(app):
    venue = factories.venue(name="县政务服务中心三楼会议室")
    activity = factories.activity(title="减税降费政策宣讲会", venue=venue, starts_at=datetime(2026, 3, 9, 6, 30, tzinfo=UTC))
    firm = factories.organisation(OrgKind.enterprise, name="华晨电子")
    invite, token = factories.invitation(activity, factories.person(firm, name="张经理"))
    db.session.commit()
    return invite, token


def at(monkeypatch, moment: datetime) -> None:
    for module in ("app.invitations.views", "app.problems.views.feedback", "app.shortlinks.views"):
        monkeypatch.setattr(f"{module}.utcnow", lambda: moment)


def test_answer_page_preview_has_title_time_and_place_and_only_its_own_url(client, invitation, monkeypatch):
    _, token = invitation
    at(monkeypatch, NOW)
    page = client.get(f"/rsvp/{token}").get_data(as_text=True)
    head = head_of(page)
    assert head.meta["og:title"] == "减税降费政策宣讲会"
    assert head.meta["og:type"] == "website"
    assert head.meta["og:site_name"] == "领航"
    # 06:30 UTC is 14:30 in the county.
    description = head.meta["og:description"]
    assert re.fullmatch(r"时间：2026年3月9日 周一 14:30\s*[–-]\s*16:30 · 地点：县政务服务中心三楼会议室（工业园区1号）", description), description
    assert head.meta["description"] == description
    assert head.meta["og:url"] == f"http://linghang.test/rsvp/{token}"
    assert head.meta["viewport"] == "width=device-width, initial-scale=1"
    # The invitee's name is on the page, never in what a chat shows of the link.
    assert "张经理" not in str(head.meta)
    # The token appears in the head only as the page's own address.
    assert [url for url in head.head_urls if token in url] == [f"http://linghang.test/rsvp/{token}"]
    assert 'class="touch-page"' in page


def test_cancelled_activity_says_so_in_the_preview(client, invitation, monkeypatch):
    invite, token = invitation
    invite.activity.status = "cancelled"
    db.session.commit()
    at(monkeypatch, NOW)
    head = head_of(client.get(f"/rsvp/{token}").get_data(as_text=True))
    assert head.meta["og:description"].startswith("【已取消】时间：2026年3月9日")


def test_answer_page_by_account_has_no_preview(client, login_as, invitation, monkeypatch):
    invite, _ = invitation
    user = factories.user("contact")
    invite.person = user.person
    db.session.commit()
    login_as(user)
    page = client.get(f"/my/invitations/{invite.id}").get_data(as_text=True)
    assert "og:url" not in page


def test_feedback_page_preview_and_touch_layout(client, invitation, monkeypatch):
    invite, token = invitation
    invite.answer = Answer.accepted
    invite.seats = 1
    db.session.commit()
    at(monkeypatch, invite.activity.ends_at + timedelta(days=1))
    response = client.get(f"/rsvp/{token}/feedback")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    head = head_of(page)
    assert head.meta["og:title"] == "活动评价 · 减税降费政策宣讲会"
    assert "地点：县政务服务中心三楼会议室" in head.meta["og:description"]
    assert head.meta["og:url"] == f"http://linghang.test/rsvp/{token}/feedback"
    assert [url for url in head.head_urls if token in url] == [head.meta["og:url"]]
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert 'class="touch-page"' in page
