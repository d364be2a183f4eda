"""SMS texts: providers send only approved templates, so a text message is a template plus its
parameters. The templates below are what an administrator registers with the provider (README
"SMS"); an outbox row of the SMS channel keeps {"kind": …, "params": {…}} as its body.

A message of up to 70 characters (the sign 【…】 included) is one segment; longer ones cost two.
`fit` shortens the free-text parameters (title, place, organisation) until the text fits.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime

from flask import current_app

from app.core.clock import display_zone
from app.notify.models import NoticeKind

SEGMENT = 70
ELLIPSIS = "…"
# Parameters that may be shortened, in this order, and the characters each keeps at least: the
# sign already says who sends, the title matters most.
SHRINKABLE = {"org": 2, "place": 4, "enterprise": 4, "title": 6}
_VARIABLE = re.compile(r"\$\{(\w+)\}")


@dataclass(frozen=True)
class SmsTemplate:
    """One approved template: its text in Aliyun's ${name} syntax."""

    text: str

    @property
    def variables(self) -> list[str]:
        """The variables in order of appearance (Tencent's {1}, {2}, … follow this order)."""
        names: list[str] = []
        for name in _VARIABLE.findall(self.text):
            if name not in names:
                names.append(name)
        return names

    @property
    def tencent_text(self) -> str:
        """The same template in Tencent Cloud's numbered syntax."""
        order = {name: index + 1 for index, name in enumerate(self.variables)}
        return _VARIABLE.sub(lambda match: f"{{{order[match.group(1)]}}}", self.text)

    def render(self, params: dict[str, str]) -> str:
        """The text the recipient reads (without the sign)."""
        return _VARIABLE.sub(lambda match: params.get(match.group(1), ""), self.text)


TEMPLATES: dict[NoticeKind, SmsTemplate] = {
    NoticeKind.invitation: SmsTemplate("${org}：您受邀参加${title}，${time}在${place}，请点击 ${link} 回复。"),
    NoticeKind.update: SmsTemplate("${org}：${title}有变更，现为${time}在${place}，详见 ${link}"),
    NoticeKind.cancellation: SmsTemplate("${org}：原定${time}的${title}已取消，特此通知。"),
    NoticeKind.reminder: SmsTemplate("${org}提醒：${title}将于${time}在${place}举行，详见 ${link}"),
    NoticeKind.nudge: SmsTemplate("${org}：您尚未回复${title}（${time}）的邀请，请点击 ${link} 回复。"),
    NoticeKind.promotion: SmsTemplate("${org}：${title}（${time}）已为您留出席位，详见 ${link}"),
    NoticeKind.problem_assigned: SmsTemplate("${enterprise}反映的问题（${number}号）已交办贵单位，请按期办理，详见 ${link}"),
    NoticeKind.problem_resolved: SmsTemplate("您反映的问题（${number}号）已办结，请点击 ${link} 评价办理结果。"),
}
# Notice kinds that can go out by SMS (the others have no approved template).
SMS_KINDS = frozenset(TEMPLATES)


def short_time(moment: datetime) -> str:
    """A start time as a short Chinese text in the display zone: 3月5日14:30."""
    local = moment.astimezone(display_zone())
    return f"{local.month}月{local.day}日{local:%H:%M}"


def sign_length() -> int:
    """Characters the provider adds for the sign: 【sign】."""
    return len(current_app.config.get("SMS_SIGN_NAME") or "") + 2


def _shorten(value: str, by: int, minimum: int) -> str:
    keep = max(len(value) - by - len(ELLIPSIS), minimum)
    return value if keep >= len(value) else value[:keep] + ELLIPSIS


def fit(kind: NoticeKind, params: dict[str, str], limit: int = SEGMENT) -> dict[str, str]:
    """Shorten the free-text parameters so the message fits one segment where possible."""
    template = TEMPLATES[kind]
    fitted = dict(params)
    for name, minimum in SHRINKABLE.items():
        over = len(template.render(fitted)) + sign_length() - limit
        if over <= 0:
            break
        if name in fitted and name in template.variables:
            fitted[name] = _shorten(fitted[name], over, minimum)
    return fitted


def sms_body(kind: NoticeKind, params: dict[str, str]) -> bytes:
    """The outbox body of an SMS: the notice kind and its template parameters, fitted."""
    template = TEMPLATES[kind]
    missing = [name for name in template.variables if name not in params]
    if missing:
        raise ValueError(f"SMS {kind.value} lacks the parameters {missing}")
    fitted = fit(kind, {name: str(params[name]) for name in template.variables})
    return json.dumps({"kind": kind.value, "params": fitted}, ensure_ascii=False).encode()


def read_body(body: bytes) -> tuple[NoticeKind, dict[str, str]]:
    """The notice kind and parameters of an SMS body."""
    data = json.loads(body.decode())
    return NoticeKind(data["kind"]), {str(k): str(v) for k, v in data["params"].items()}
