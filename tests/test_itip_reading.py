"""Reading calendar answers without a mailbox: each client's sample, the method wherever it is,
and one mail processed by two readers at once (scheduler and `flask mail fetch`) applied once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.audit.models import AuditEntry
from app.core.unit_of_work import unit_of_work
from app.extensions import db
from app.invitations.models import Answer, Invitation
from app.replies import services
from app.replies.models import CalendarReply, ReplyOutcome
from app.replies.parsing import read_mail
from tests.test_itip_replies import CLIENTS, _now, fill, invitation_values, world


def _values() -> dict:
    return {
        "uid": "activity-1@linghang.test", "sequence": 3, "organizer": "replies+i1-0123456789abcdef0123@x.cn",
        "attendee": "a@b.cn", "attendee_name": "王五", "partstat": "TENTATIVE", "message_id": "m@x",
        "dtstart": "20260309T143000", "dtend": "20260309T163000", "new_dtstart": "20260309T193000",
        "new_dtend": "20260309T213000", "dtstamp": "20260302T010000Z",
    }


@pytest.mark.parametrize("sample", [*CLIENTS, "outlook_counter"])
def test_every_sample_reads_as_its_client_meant(sample):
    mail = read_mail(fill(sample, _values()))
    assert mail.message_id == "<m@x>"
    answer = mail.answer
    assert answer is not None, mail.problem
    assert (answer.uid, answer.sequence) == ("activity-1@linghang.test", 3)
    assert answer.organizer.lower().endswith("replies+i1-0123456789abcdef0123@x.cn")
    assert answer.attendees == {"a@b.cn": "TENTATIVE"}
    if sample == "outlook_counter":
        assert answer.method == "COUNTER"
        assert answer.proposed_start == datetime(2026, 3, 9, 11, 30, tzinfo=UTC)
    else:
        assert answer.method == "REPLY" and answer.proposed_start is None


def test_the_method_is_read_from_the_header_or_the_body_alone():
    only_header = read_mail(fill("outlook", _values(), edit=lambda t: t.replace("METHOD:REPLY\n", "")))
    only_body = read_mail(fill("outlook", _values(), edit=lambda t: t.replace("; method=REPLY", "")))
    assert only_header.answer.method == only_body.answer.method == "REPLY"
    request = read_mail(fill("outlook", _values(), edit=lambda t: t.replace("REPLY", "REQUEST")))
    assert request.answer is None and "REQUEST" in request.problem


@pytest.fixture
def reply_mailbox(app):
    """Invitation mails name the reply mailbox (no IMAP server needed here)."""
    saved = app.config["MAIL_REPLY_TO"], app.config["MAIL_REPLY_TOKENS"]
    app.config["MAIL_REPLY_TO"], app.config["MAIL_REPLY_TOKENS"] = "replies@linghang.test", True
    yield
    app.config["MAIL_REPLY_TO"], app.config["MAIL_REPLY_TOKENS"] = saved


def test_one_mail_read_by_two_readers_at_once_is_applied_once(app, reply_mailbox):
    now = _now()
    _activity, rows = world(now, invitees=1)
    invitation, token = rows[0]
    raw = fill("gmail", invitation_values(invitation, token, now))
    invitation_id = invitation.id
    db.session.commit()
    db.session.remove()
    start = threading.Barrier(2)

    def read() -> object:
        with app.app_context():
            start.wait()
            try:
                with unit_of_work():
                    row = services.process(raw, now)
                    return row.outcome if row is not None else None
            except IntegrityError as error:  # the other reader claimed the Message-ID first
                return error
            finally:
                db.session.remove()

    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(lambda _n: read(), range(2)))
    applied = [o for o in outcomes if o == ReplyOutcome.applied]
    others = [o for o in outcomes if o != ReplyOutcome.applied]
    # The other reader saw the row (None) or lost the race on the unique Message-ID.
    assert len(applied) == 1 and (others[0] is None or isinstance(others[0], IntegrityError)), outcomes
    assert db.session.get(Invitation, invitation_id).answer == Answer.accepted
    assert db.session.scalar(select(func.count()).select_from(CalendarReply)) == 1
    assert db.session.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "answer_calendar")
    ) == 1
