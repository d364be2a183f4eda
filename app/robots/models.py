"""A group robot's row: whose group it posts to, which provider, and its sealed webhook."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.clock import utcnow
from app.core.types import UTCDateTime, enum_column
from app.extensions import db
from app.orgs.models import Organisation


class Provider(enum.StrEnum):
    """The robot's provider; the value is also the outbox channel of its posts."""

    wecom = "wecom"
    dingtalk = "dingtalk"


PROVIDER_LABELS = {
    Provider.wecom: _l("WeCom group robot"),
    Provider.dingtalk: _l("DingTalk group robot"),
}


class GroupRobot(db.Model):
    """The webhook of one group, per organisation and provider; the key is never stored in clear.

    `key_sealed` is the WeCom `key` or the DingTalk `access_token` (app/core/sealing.py),
    `secret_sealed` the DingTalk signing secret (signed mode), `key_hint` the key's last four
    characters — all that is ever shown again.
    """

    __tablename__ = "group_robot"
    __table_args__ = (UniqueConstraint("organisation_id", "provider"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    provider: Mapped[Provider] = mapped_column(enum_column(Provider))
    key_sealed: Mapped[bytes] = mapped_column(LargeBinary(1024))
    secret_sealed: Mapped[bytes | None] = mapped_column(LargeBinary(1024))
    key_hint: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    organisation: Mapped[Organisation] = relationship()

    @property
    def recipient(self) -> str:
        """The outbox recipient of its posts (stable when the webhook is replaced)."""
        return f"robot:{self.id}"

    @property
    def provider_label(self) -> str:
        """The translated provider."""
        return str(PROVIDER_LABELS[self.provider])

    @property
    def signed(self) -> bool:
        """DingTalk signed mode (加签) is on."""
        return self.secret_sealed is not None

    def __repr__(self) -> str:
        return f"<GroupRobot {self.id} {self.provider} org={self.organisation_id}>"
