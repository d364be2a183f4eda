"""Imports every feature's models, so that metadata and Alembic see all tables."""

from app.api.models import ApiKey
from app.audit.models import AuditEntry
from app.auth.models import User
from app.events.models import Activity, ActivitySeries, MonthlyTheme
from app.feeds.models import FeedChange, FeedToken
from app.invitations.models import Invitation, InvitationToken, SavedList, SavedListEntry
from app.mail.models import OutboxMessage
from app.notify.models import NoticePreference
from app.orgs.models import AllianceMembership, InstructorAssignment, Organisation, Person, Venue
from app.problems.models import (
    ActivityFeedback,
    ActivityPhoto,
    ActivityRecord,
    FollowUp,
    Outcome,
    Problem,
    ProblemStep,
)
from app.reminders.models import Reminder
from app.replies.models import CalendarReply
from app.robots.models import GroupRobot
from app.shortlinks.models import ShortLink
from app.stats.models import AllianceRollup, EnterpriseCount, EnterpriseTally, LedgerRollup
from app.webhooks.models import WebhookEndpoint
from app.workcal.models import ArrangedDay, HolidayArrangement

__all__ = [
    "ActivityFeedback",
    "ApiKey",
    "ActivityPhoto",
    "ActivityRecord",
    "FollowUp",
    "GroupRobot",
    "Outcome",
    "Problem",
    "ProblemStep",
    "Activity",
    "AllianceRollup",
    "EnterpriseCount",
    "EnterpriseTally",
    "LedgerRollup",
    "ActivitySeries",
    "AllianceMembership",
    "ArrangedDay",
    "AuditEntry",
    "CalendarReply",
    "FeedChange",
    "FeedToken",
    "HolidayArrangement",
    "InstructorAssignment",
    "Invitation",
    "InvitationToken",
    "MonthlyTheme",
    "NoticePreference",
    "Organisation",
    "OutboxMessage",
    "Person",
    "Reminder",
    "SavedList",
    "SavedListEntry",
    "ShortLink",
    "User",
    "Venue",
    "WebhookEndpoint",
]
