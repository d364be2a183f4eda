"""A short link's row: the code and its target are sealed, never stored in clear.

Targets such as `/rsvp/<token>` carry a secret whose clear text the project never stores (only
its sha256, app/invitations/tokens.py). So a row keeps
- `code_hash`: sha256 of the code, to find the row when `/r/<code>` is opened;
- `target_hash`: sha256 of the target, to reuse a live link for the same target;
- `target_sealed`: the target XOR a keystream derived from the code (and the row's nonce), so
  only whoever holds the code can read it;
- `code_sealed`: the code XOR a keystream derived from the target, so only the caller who holds
  the target again can get the code back (to reuse the link).
A copy of the table alone therefore reveals neither codes nor targets.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.clock import utcnow
from app.core.types import UTCDateTime
from app.extensions import db


class ShortLink(db.Model):
    """`/r/<code>`: redirects to a path inside the app until `expires_at`."""

    __tablename__ = "short_link"
    __table_args__ = (Index("ix_short_link_target_hash_expires_at", "target_hash", "expires_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    target_hash: Mapped[str] = mapped_column(String(64))
    nonce: Mapped[bytes] = mapped_column(LargeBinary(16))
    target_sealed: Mapped[bytes] = mapped_column(LargeBinary(2048))
    code_sealed: Mapped[bytes] = mapped_column(LargeBinary(16))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
