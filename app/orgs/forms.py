"""Forms for organisations, people and venues."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from app.core.forms import Form, MultiCheckboxField, strip_filter
from app.core.inputs import normalise_mobile
from app.orgs.models import ORG_KIND_LABELS, PARTY_BRANCH_LABELS, OrgKind, PartyBranch

TEXT = [strip_filter]


def mainland_mobile(_form, field) -> None:
    """A mainland China mobile number (1[3-9] and 9 digits; +86 / 86 in front is dropped)."""
    if field.data and normalise_mobile(field.data) is None:
        raise ValidationError(_l("Enter a mainland mobile number of 11 digits, e.g. 13800138000."))


class OrganisationForm(Form):
    """An organisation and, for an enterprise, its alliances."""

    name = StringField(_l("Name"), filters=TEXT, validators=[DataRequired(), Length(max=120)])
    short_name = StringField(_l("Short name"), filters=TEXT, validators=[Optional(), Length(max=40)])
    kind = SelectField(
        _l("Kind"),
        choices=lambda: [(k.value, str(label)) for k, label in ORG_KIND_LABELS.items()],
        validators=[DataRequired()],
    )
    party_branch = SelectField(
        _l("Party branch"),
        choices=lambda: [(k.value, str(label)) for k, label in PARTY_BRANCH_LABELS.items()],
        default=PartyBranch.none.value,
    )
    joint_branch_name = StringField(
        _l("Joint branch name"), filters=TEXT, validators=[Optional(), Length(max=120)]
    )
    address = StringField(_l("Address"), filters=TEXT, validators=[Optional(), Length(max=200)])
    phone = StringField(_l("Phone"), filters=TEXT, validators=[Optional(), Length(max=40)])
    description = TextAreaField(
        _l("Description"), filters=TEXT, validators=[Optional(), Length(max=5000)]
    )
    reminder_offsets = StringField(
        _l("Reminders before its activities (minutes)"), filters=TEXT, validators=[Optional(), Length(max=200)]
    )
    alliances = MultiCheckboxField(_l("Member of alliances"), coerce=int)
    chain_leader_of = MultiCheckboxField(_l("Chain leader in"), coerce=int)

    def validate(self, extra_validators=None) -> bool:
        """Cross-field rules: a joint branch needs its name; alliances only for enterprises."""
        ok = super().validate(extra_validators)
        if self.party_branch.data == PartyBranch.joint.value and not self.joint_branch_name.data:
            self.joint_branch_name.errors.append(_l("Name the joint branch."))
            ok = False
        if self.kind.data != OrgKind.enterprise.value and (self.alliances.data or self.chain_leader_of.data):
            self.alliances.errors.append(_l("Only enterprises are members of alliances."))
            ok = False
        return ok


class PersonForm(Form):
    """A person of an organisation; instructors also get their enterprises."""

    name = StringField(_l("Name"), filters=TEXT, validators=[DataRequired(), Length(max=60)])
    email = EmailField(
        _l("E-mail"), filters=TEXT, validators=[Optional(), Email(), Length(max=254)]
    )
    phone = StringField(_l("Phone"), filters=TEXT, validators=[Optional(), Length(max=40)])
    mobile = StringField(_l("Mobile (SMS)"), filters=TEXT, validators=[Optional(), Length(max=20), mainland_mobile])
    title = StringField(_l("Position"), filters=TEXT, validators=[Optional(), Length(max=60)])
    organisation_id = SelectField(_l("Organisation"), coerce=int, validators=[DataRequired()])
    is_contact = BooleanField(_l("Receives the organisation's invitations"), default=True)
    assigned_enterprises = MultiCheckboxField(_l("Enterprises looked after (instructors)"), coerce=int)


class VenueForm(Form):
    """A venue with its capacity."""

    name = StringField(_l("Name"), filters=TEXT, validators=[DataRequired(), Length(max=120)])
    address = StringField(_l("Address"), filters=TEXT, validators=[DataRequired(), Length(max=200)])
    capacity = IntegerField(
        _l("Capacity"), validators=[InputRequired(), NumberRange(min=1, max=10000)]
    )
    directions = TextAreaField(
        _l("How to get there"), filters=TEXT, validators=[Optional(), Length(max=2000)]
    )
    owner_id = SelectField(_l("Owner"), coerce=int, default=0)


class SearchForm(Form):
    """The search box of a list page (GET, no CSRF)."""

    class Meta:
        csrf = False

    q = StringField(_l("Search"), filters=TEXT, validators=[Optional(), Length(max=100)])
