"""The form an administrator fills to add or replace a group robot."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import InputRequired, Length, Optional

from app.core.forms import Form, strip_filter
from app.robots.models import PROVIDER_LABELS, Provider


class RobotForm(Form):
    """Whose group, which provider, the pasted webhook and (DingTalk signed mode) the secret."""

    organisation_id = SelectField(_l("Group of"), coerce=int, validators=[InputRequired()])
    provider = SelectField(
        _l("Provider"), choices=[(p.value, PROVIDER_LABELS[p]) for p in Provider], validators=[InputRequired()]
    )
    webhook_url = StringField(
        _l("Webhook address"), filters=[strip_filter], validators=[InputRequired(), Length(max=1000)],
        description=_l("Copy it from the robot's settings in the group, e.g. https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…"),
    )
    secret = PasswordField(
        _l("Signing secret (DingTalk signed mode)"), filters=[strip_filter], validators=[Optional(), Length(max=300)],
        description=_l("Only for DingTalk robots whose security setting is 加签: the secret starting with SEC."),
    )
