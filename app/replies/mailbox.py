"""The reply mailbox over IMAP (imapclient): read new mails, process each once, move them away.

Each mail is its own unit of work: its row (by Message-ID) and the answer it applies are committed
together, and only then is the mail moved to IMAP_PROCESSED_FOLDER (created when missing). A mail
that breaks its processing is rolled back, recorded as not processable in a unit of work of its
own and moved too, so it neither stops the others nor comes back every pass; if even that fails
(the database is down) it stays in the folder for the next pass. A mail moved late — the process
died between the commit and the move — is found by its Message-ID and only moved.
"""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from imapclient import IMAPClient

from app.core.unit_of_work import unit_of_work
from app.replies import services
from app.replies.models import ReplyOutcome

log = logging.getLogger("linghang.replies")

BATCH = 50


@dataclass
class FetchReport:
    """What one reading of the mailbox did."""

    read: int = 0
    applied: int = 0
    counters: int = 0
    not_applied: int = 0
    already_read: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def figures(self) -> dict[str, int]:
        """The counts, for logs and the CLI."""
        return {
            "read": self.read, "applied": self.applied, "counters": self.counters,
            "not_applied": self.not_applied, "already_read": self.already_read, "failed": self.failed,
        }


def configured() -> bool:
    """True when a reply mailbox is set up (IMAP_HOST)."""
    return bool(current_app.config.get("IMAP_HOST"))


def connect() -> IMAPClient:
    """A logged-in IMAP client for the configured mailbox."""
    config = current_app.config
    context = ssl.create_default_context() if config["IMAP_SSL"] else None
    client = IMAPClient(config["IMAP_HOST"], port=config["IMAP_PORT"], ssl=config["IMAP_SSL"],
                        ssl_context=context, timeout=30)
    client.login(config["IMAP_USER"] or "", config["IMAP_PASSWORD"] or "")
    return client


def _move(client: IMAPClient, uid: int, folder: str) -> None:
    if client.has_capability("MOVE"):
        client.move([uid], folder)
        return
    client.copy([uid], folder)
    client.delete_messages([uid])
    if client.has_capability("UIDPLUS"):
        client.uid_expunge([uid])
    else:
        client.expunge()


def _count(report: FetchReport, outcome: ReplyOutcome | None) -> None:
    if outcome is None:
        report.already_read += 1
    elif outcome == ReplyOutcome.applied:
        report.applied += 1
    elif outcome == ReplyOutcome.counter:
        report.counters += 1
    else:
        report.not_applied += 1


def process_one(raw: bytes, now: datetime, report: FetchReport) -> bool:
    """Process one mail in its own unit of work; True when it may be moved to the processed folder."""
    report.read += 1
    try:
        with unit_of_work():
            row = services.process(raw, now)
            outcome = row.outcome if row is not None else None
        _count(report, outcome)
        return True
    except Exception as error:  # one broken mail must not stop the others
        log.exception("reply mail could not be processed")
        report.failed += 1
        report.errors.append(f"{error.__class__.__name__}: {error}"[:300])
        failure = error
    try:
        with unit_of_work():
            services.record_failure(raw, now, failure)
        return True
    except Exception:
        log.exception("could not record the failed reply mail; it stays for the next pass")
        return False


def fetch_replies(now: datetime, limit: int = 500) -> FetchReport:
    """Read up to `limit` mails from IMAP_FOLDER, process each once, move them to the processed folder."""
    config = current_app.config
    report = FetchReport()
    client = connect()
    try:
        processed = config["IMAP_PROCESSED_FOLDER"]
        if not client.folder_exists(processed):
            client.create_folder(processed)
        client.select_folder(config["IMAP_FOLDER"])
        uids = sorted(client.search(["NOT", "DELETED"]))[:limit]
        for start in range(0, len(uids), BATCH):
            batch = uids[start:start + BATCH]
            # BODY.PEEK: reading does not mark the mail as seen should it have to stay.
            fetched = client.fetch(batch, ["BODY.PEEK[]"])
            for uid in batch:
                raw = fetched.get(uid, {}).get(b"BODY[]")
                if raw is None:
                    continue
                if process_one(bytes(raw), now, report):
                    _move(client, uid, processed)
    finally:
        try:
            client.logout()
        except Exception:  # the connection may be gone already; nothing to keep
            log.debug("IMAP logout failed", exc_info=True)
    return report
