"""What each provider's webhook looks like: the pasted URL, the URL a post goes to, its answers.

WeCom: `POST {WECOM_WEBHOOK_BASE}/cgi-bin/webhook/send?key=…`; DingTalk: `POST
{DINGTALK_WEBHOOK_BASE}/robot/send?access_token=…`, in signed mode (加签) with `timestamp` (ms)
and `sign` = urlencode(base64(HMAC-SHA256(secret, f"{timestamp}\\n{secret}"))). Both answer
HTTP 200 with {"errcode": 0, "errmsg": "ok"} or an error code. Neither has an official Python
SDK; the posts are plain HTTPS requests (`requests`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import parse_qs, quote_plus, urlencode, urlsplit

from flask import current_app
from flask_babel import lazy_gettext as _l

from app.mail.channels import Outcome
from app.robots.models import Provider

# The providers' own hosts; a pasted URL must name one (or the configured base, for tests).
OFFICIAL_BASES = {Provider.wecom: "https://qyapi.weixin.qq.com", Provider.dingtalk: "https://oapi.dingtalk.com"}
PATHS = {Provider.wecom: "/cgi-bin/webhook/send", Provider.dingtalk: "/robot/send"}
KEY_PARAMS = {Provider.wecom: "key", Provider.dingtalk: "access_token"}
BASE_SETTINGS = {Provider.wecom: "WECOM_WEBHOOK_BASE", Provider.dingtalk: "DINGTALK_WEBHOOK_BASE"}
# Keys are UUIDs (WeCom) or 64 hex digits (DingTalk); allow what a URL parameter can carry.
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{8,200}$")
SECRET_PATTERN = re.compile(r"^SEC[A-Za-z0-9]{8,200}$")
# Both providers: 20 posts a minute per robot.
PER_MINUTE = 20
PROVIDER_WAIT = timedelta(seconds=60)

# Provider answers that will not get better by trying again, with what the outbox page says.
WECOM_GIVE_UP = {
    93000: _l("The WeCom webhook key is invalid or the robot was removed from the group: paste its webhook again."),
    40008: _l("WeCom refused the message type."),
    40058: _l("WeCom refused the message as malformed."),
}
WECOM_TOO_FAST = {45009}
DINGTALK_GIVE_UP = {
    310000: _l(
        "DingTalk refused the post: the signature, the keyword or the IP address does not match the robot's "
        "security settings. Check the secret (signed mode) or add the keyword 领航 to the robot."
    ),
    300001: _l("The DingTalk access token is invalid or the robot was removed: paste its webhook again."),
    400013: _l("The DingTalk group was dissolved."),
}
DINGTALK_TOO_FAST = {130101, 410100}


class InvalidWebhook(ValueError):
    """A pasted webhook URL is not one of the provider's; the message says why (translated)."""


@dataclass(frozen=True)
class Webhook:
    """The parts of a pasted webhook worth keeping."""

    provider: Provider
    key: str


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def parse_webhook(provider: Provider, url: str) -> Webhook:
    """Check a pasted webhook URL (https, the provider's host and path, its key) and return its key."""
    url = (url or "").strip()
    if not url or any(c.isspace() for c in url) or len(url) > 1000:
        raise InvalidWebhook(_l("Paste the robot's whole webhook address."))
    parts = urlsplit(url)
    allowed = {OFFICIAL_BASES[provider], _origin(current_app.config[BASE_SETTINGS[provider]])}
    # The official bases are https, so an http:// copy of them is refused too.
    if _origin(url) not in allowed or parts.path.rstrip("/") != PATHS[provider]:
        raise InvalidWebhook(_l("This is not a webhook address of the chosen provider (%(host)s).",
                                host=urlsplit(OFFICIAL_BASES[provider]).hostname))
    keys = parse_qs(parts.query).get(KEY_PARAMS[provider], [])
    if len(keys) != 1 or not KEY_PATTERN.match(keys[0]):
        raise InvalidWebhook(_l("The address has no valid %(param)s.", param=KEY_PARAMS[provider]))
    return Webhook(provider, keys[0])


def check_secret(secret: str) -> str:
    """A DingTalk signing secret as shown by DingTalk (SEC…), or InvalidWebhook."""
    secret = (secret or "").strip()
    if not SECRET_PATTERN.match(secret):
        raise InvalidWebhook(_l("The signing secret starts with SEC; copy it from the robot's security settings."))
    return secret


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's signature of a timestamp: base64(HMAC-SHA256(secret, "timestamp\\nsecret")), URL-encoded."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode())


def post_url(provider: Provider, key: str, secret: str | None, now: datetime) -> str:
    """Where one post goes: the configured base, the provider's path, its key (and signature)."""
    base = current_app.config[BASE_SETTINGS[provider]]
    query = urlencode({KEY_PARAMS[provider]: key})
    if provider == Provider.dingtalk and secret:
        timestamp = int(now.timestamp() * 1000)
        # The signature is already URL-encoded, as DingTalk's own examples send it.
        query += f"&timestamp={timestamp}&sign={dingtalk_sign(secret, timestamp)}"
    return f"{base}{PATHS[provider]}?{query}"


def outcome_of(provider: Provider, answer: dict) -> Outcome:
    """Map the provider's answer to retry, give up or sent."""
    code = answer.get("errcode")
    message = str(answer.get("errmsg", ""))[:300]
    if code == 0:
        return Outcome.sent()
    detail = f"(errcode {code}: {message})"
    too_fast = WECOM_TOO_FAST if provider == Provider.wecom else DINGTALK_TOO_FAST
    give_up = WECOM_GIVE_UP if provider == Provider.wecom else DINGTALK_GIVE_UP
    if code in too_fast:
        reason = _l("The provider says the robot posts too fast; trying again in a minute.")
        return Outcome.retry(f"{reason} {detail}", PROVIDER_WAIT)
    if code in give_up:
        return Outcome.give_up(f"{give_up[code]} {detail}")
    reason = _l("The provider refused the post.")
    return Outcome.retry(f"{reason} {detail}")
