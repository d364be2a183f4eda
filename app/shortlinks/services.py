"""Make and follow short links; services flush, never commit."""

from __future__ import annotations

import hashlib
import re
import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, select

from app.extensions import db
from app.shortlinks.models import ShortLink

# Letters and digits only: 62**8 (about 2**47.6) codes, and nothing that an SMS app could cut off
# the end of a link (a trailing "-" or "_") or that needs escaping.
CODE_ALPHABET = string.ascii_letters + string.digits
CODE_LENGTH = 8
# What `/r/<code>` accepts at all; anything else is a 404 without a query.
CODE_PATTERN = re.compile(r"[0-9A-Za-z]{8}")
PATH_PREFIX = "/r/"
TARGET_MAX_LENGTH = 2048
# Expired links still say "expired" (not "unknown") this long, then `purge_expired` removes them.
KEEP_EXPIRED = timedelta(days=90)


@dataclass(frozen=True)
class Followed:
    """What `/r/<code>` found: the target path, or that the link has expired."""

    target: str
    expired: bool


def _digest(label: bytes, value: bytes) -> str:
    return hashlib.sha256(label + b"\0" + value).hexdigest()


def _keystream(label: bytes, nonce: bytes, key: bytes, length: int) -> bytes:
    return hashlib.shake_256(label + b"\0" + nonce + key).digest(length)


def _xor(data: bytes, stream: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(data, stream, strict=True))


def _seal_target(target: bytes, code: bytes, nonce: bytes) -> bytes:
    return _xor(target, _keystream(b"linghang-short-link-target", nonce, code, len(target)))


def _seal_code(code: bytes, target: bytes, nonce: bytes) -> bytes:
    return _xor(code, _keystream(b"linghang-short-link-code", nonce, target, len(code)))


def code_hash(code: str) -> str:
    """The stored form of a short-link code."""
    return _digest(b"linghang-short-link", code.encode())


def check_target(target_path: str) -> None:
    """A target must be a path inside this app: no scheme, no host, no `//`, no backslash."""
    if (
        not target_path.startswith("/")
        or target_path.startswith("//")
        or "\\" in target_path
        or len(target_path) > TARGET_MAX_LENGTH
        or any(ord(char) < 0x21 or ord(char) > 0x7E for char in target_path)
    ):
        raise ValueError(f"a short link's target must be a path inside the app, not {target_path[:80]!r}")


def _new_code() -> str:
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if db.session.scalar(select(ShortLink.id).where(ShortLink.code_hash == code_hash(code))) is None:
            return code


def short_url(target_path: str, *, expires_at: datetime, now: datetime) -> str:
    """The absolute short URL (BASE_URL/r/<code>) for a path inside the app, valid until expires_at.

    A live link for the same target is reused, its expiry moved to the one given (the target's
    own expiry may have moved with its activity).
    """
    check_target(target_path)
    if expires_at <= now:
        raise ValueError("a short link must expire after now")
    target = target_path.encode()
    target_hash = _digest(b"linghang-short-link-target", target)
    link = db.session.scalars(
        select(ShortLink)
        .where(ShortLink.target_hash == target_hash, ShortLink.expires_at > now)
        .order_by(ShortLink.expires_at.desc(), ShortLink.id.desc())
        .limit(1)
    ).first()
    if link is not None:
        code = _seal_code(link.code_sealed, target, link.nonce).decode()
        link.expires_at = expires_at
    else:
        code = _new_code()
        nonce = secrets.token_bytes(16)
        link = ShortLink(
            code_hash=code_hash(code),
            target_hash=target_hash,
            nonce=nonce,
            target_sealed=_seal_target(target, code.encode(), nonce),
            code_sealed=_seal_code(code.encode(), target, nonce),
            expires_at=expires_at,
            created_at=now,
        )
        db.session.add(link)
    db.session.flush()
    return current_app.config["BASE_URL"].rstrip("/") + PATH_PREFIX + code


def follow(code: str, now: datetime) -> Followed | None:
    """Where `/r/<code>` leads, whether it has expired, or None for a code that is not a link."""
    if not isinstance(code, str) or not CODE_PATTERN.fullmatch(code):
        return None
    link = db.session.scalar(select(ShortLink).where(ShortLink.code_hash == code_hash(code)))
    if link is None:
        return None
    target = _seal_target(link.target_sealed, code.encode(), link.nonce).decode("ascii", errors="replace")
    try:
        # Checked again on the way out, so not even a tampered row can send anyone off the site.
        check_target(target)
    except ValueError:
        return None
    return Followed(target=target, expired=link.expires_at <= now)


def purge_expired(now: datetime, keep: timedelta = KEEP_EXPIRED) -> int:
    """Delete links expired for longer than `keep`; returns how many went."""
    result = db.session.execute(delete(ShortLink).where(ShortLink.expires_at <= now - keep))
    db.session.flush()
    return result.rowcount or 0
