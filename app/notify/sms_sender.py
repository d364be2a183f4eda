"""The SMS channel's sender: daily cap per number, the provider call, and what its codes mean.

Registered with the dispatcher (`Notices.add_sender`); one instance per dispatcher pass. Every
outcome is the dispatcher's to act on: sent; retry (throttling, provider down, unknown codes);
give up with a reason shown on the outbox page (invalid number, no permission, template or sign
not approved); or defer to the next local day once the number had SMS_DAILY_CAP messages today.

The cap is counted from the outbox itself, so it holds across processes: on PostgreSQL the count
and the exchange run under a transaction-level advisory lock on the number, released when the
dispatcher commits the outcome, so two dispatchers never both send the last message of the day.
"""

from __future__ import annotations

import zlib
from datetime import datetime, time, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, text

from app.core.clock import display_zone
from app.core.inputs import normalise_mobile
from app.extensions import db
from app.mail.channels import Outcome
from app.mail.models import Channel, OutboxMessage, OutboxStatus
from app.notify.sms_providers import NOT_CONFIGURED, SmsProvider, make_provider
from app.notify.sms_texts import TEMPLATES, read_body

# Why an SMS was given up (or deferred), shown translated on the outbox page. The stored error
# starts with "[key]", then the provider's code and message.
REASONS = {
    "sms.invalid_number": _l("The mobile number is not a valid mainland number."),
    "sms.not_authorised": _l("The SMS account may not send (keys, permissions, app id or service suspended)."),
    "sms.template": _l("The SMS template is not approved or its parameters do not match it."),
    "sms.sign": _l("The SMS sign name is not approved."),
    "sms.blocked": _l("The number refuses messages (blacklist or unsubscribed at the operator)."),
    "sms.no_template": _l("No SMS template code is configured for this notice (SMS_TEMPLATES)."),
    "sms.no_provider": _l("No SMS provider is configured (SMS_PROVIDER)."),
    "sms.daily_cap": _l("Daily SMS limit for this number reached; sent tomorrow."),
    "sms.throttled": _l("The SMS provider asked to slow down; retried later."),
}

GIVE_UP_CODES = {
    # Aliyun
    "isv.MOBILE_NUMBER_ILLEGAL": "sms.invalid_number",
    "isv.MOBILE_COUNT_OVER_LIMIT": "sms.invalid_number",
    "isp.RAM_PERMISSION_DENY": "sms.not_authorised",
    "isv.ACCOUNT_NOT_EXISTS": "sms.not_authorised",
    "isv.ACCOUNT_ABNORMAL": "sms.not_authorised",
    "isv.OUT_OF_SERVICE": "sms.not_authorised",
    "isv.PRODUCT_UN_SUBSCRIPT": "sms.not_authorised",
    "isv.PRODUCT_UNSUBSCRIBE": "sms.not_authorised",
    "InvalidAccessKeyId.NotFound": "sms.not_authorised",
    "SignatureDoesNotMatch": "sms.not_authorised",
    "isv.SMS_TEMPLATE_ILLEGAL": "sms.template",
    "isv.TEMPLATE_MISSING_PARAMETERS": "sms.template",
    "isv.INVALID_JSON_PARAM": "sms.template",
    "isv.PARAM_LENGTH_LIMIT": "sms.template",
    "isv.PARAM_NOT_SUPPORT_URL": "sms.template",
    "isv.SMS_SIGNATURE_ILLEGAL": "sms.sign",
    "isv.BLACK_KEY_CONTROL_LIMIT": "sms.blocked",
    # Tencent Cloud
    "InvalidParameterValue.IncorrectPhoneNumber": "sms.invalid_number",
    "FailedOperation.PhoneNumberInBlacklist": "sms.blocked",
    "FailedOperation.SignatureIncorrectOrUnapproved": "sms.sign",
    "InvalidParameterValue.ProhibitedUseUrlInTemplateParameter": "sms.template",
    "InvalidParameterValue.TemplateParameterLengthLimit": "sms.template",
    "InvalidParameterValue.TemplateParameterFormatError": "sms.template",
    "FailedOperation.MissingSignatureList": "sms.sign",
    "FailedOperation.MissingTemplateList": "sms.template",
    "AuthFailure.SecretIdNotFound": "sms.not_authorised",
    "AuthFailure.SignatureFailure": "sms.not_authorised",
    "UnsupportedOperation.ChineseMainlandTemplateToGlobalPhone": "sms.invalid_number",
    NOT_CONFIGURED: "sms.no_provider",
}
# Whole families of codes (prefixes) that give up.
GIVE_UP_PREFIXES = {
    "UnauthorizedOperation.": "sms.not_authorised",
    "FailedOperation.Template": "sms.template",
}
# Throttling: retried later (the dispatcher's backoff), never given up for it.
THROTTLE_CODES = {"isv.BUSINESS_LIMIT_CONTROL", "Throttling.User", "Throttling", "Throttling.Api"}
THROTTLE_PREFIXES = ("LimitExceeded.", "RequestLimitExceeded")
DEFAULT_DAILY_CAP = 10


def classify(code: str) -> tuple[str, str | None]:
    """("give_up", reason) / ("retry", reason or None) for a provider code that is not success."""
    reason = GIVE_UP_CODES.get(code)
    if reason is None:
        reason = next((key for prefix, key in GIVE_UP_PREFIXES.items() if code.startswith(prefix)), None)
    if reason is not None:
        return "give_up", reason
    if code in THROTTLE_CODES or code.startswith(THROTTLE_PREFIXES):
        return "retry", "sms.throttled"
    # Provider down, network errors, codes we do not know: not the recipient's fault, retried.
    return "retry", None


def error_text(reason: str | None, code: str, message: str) -> str:
    """The stored error: "[reason] code: provider's message" (the reason is translated on display)."""
    prefix = f"[{reason}] " if reason else ""
    return f"{prefix}{code}: {message}".strip()


def next_local_midnight(now: datetime) -> datetime:
    """The start of the next day in the display zone, as an aware time."""
    zone = display_zone()
    local = now.astimezone(zone)
    return datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=zone)


def sent_today(mobile: str, now: datetime) -> int:
    """SMS delivered to `mobile` since the local midnight before `now` (from the outbox)."""
    start = next_local_midnight(now) - timedelta(days=1)
    return db.session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(
            OutboxMessage.channel == Channel.sms.value,
            OutboxMessage.recipient == mobile,
            OutboxMessage.status == OutboxStatus.sent,
            OutboxMessage.sent_at >= start,
        )
    ) or 0


def _lock_number(mobile: str) -> None:
    """PostgreSQL: serialise the cap check and the send of one number until the outcome commits."""
    if db.engine.dialect.name == "postgresql":
        key = zlib.crc32(f"linghang-sms:{mobile}".encode())
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


class SmsSender:
    """Delivers SMS rows during one dispatcher pass through the configured provider."""

    def __init__(self, provider: SmsProvider | None = None) -> None:
        config = current_app.config
        self.broken: str | None = None
        try:
            self.provider = provider or make_provider(config)
        except Exception as error:  # e.g. the SDK refuses empty keys: every row says why, none is lost
            self.broken = error_text("sms.not_authorised", type(error).__name__, str(error)[:300])
        self.templates: dict[str, str] = dict(config.get("SMS_TEMPLATES") or {})
        self.cap = int(config.get("SMS_DAILY_CAP", DEFAULT_DAILY_CAP))

    def send(self, row, now: datetime) -> Outcome:
        """Send one SMS row; never raises."""
        if self.broken is not None:
            return Outcome.retry(self.broken)
        mobile = normalise_mobile(row.recipient)
        if mobile is None:
            return Outcome.give_up(error_text("sms.invalid_number", "Linghang.InvalidNumber", row.recipient))
        kind, params = read_body(row.raw)
        if not row.subject:
            # What the recipient reads, for the outbox page (the link left out: it is a key).
            text = TEMPLATES[kind].render({**params, "link": "/r/…"})
            row.subject = f"【{current_app.config.get('SMS_SIGN_NAME') or ''}】{text}"[:300]
        code = self.templates.get(kind.value)
        if not code:
            return Outcome.give_up(error_text("sms.no_template", "Linghang.NoTemplate", kind.value))
        _lock_number(mobile)
        if self.cap and sent_today(mobile, now) >= self.cap:
            wait = next_local_midnight(now) - now
            return Outcome.defer(wait, error_text("sms.daily_cap", "Linghang.DailyCap", str(self.cap)))
        answer = self.provider.send(mobile, code, TEMPLATES[kind].variables, params)
        if answer.accepted:
            return Outcome.sent()
        verdict, reason = classify(answer.code)
        error = error_text(reason, answer.code, answer.message[:300])
        return Outcome.give_up(error) if verdict == "give_up" else Outcome.retry(error)

    def close(self) -> None:
        """Nothing to close: each SendSms is one HTTP request."""
