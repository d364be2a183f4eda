"""The problem ledger's pages: one blueprint, its URLs listed here, the views in modules by seam.

- ledger.py    the ledger (台账) with its filters, and its CSV/XLSX export
- problem.py   on-site entry, a problem's page, its steps and follow-up visits
- activity.py  an activity's record (活动纪实) and photos; loans and mediation outcomes
- feedback.py  the attendee feedback page (by account or by the personal answer link)
- common.py    access checks, choices and template helpers the modules share
"""

from __future__ import annotations

from flask import Blueprint

from app.problems.views import activity, common, feedback, ledger, problem

bp = Blueprint("problems", __name__)

GET, POST, FORM = ["GET"], ["POST"], ["GET", "POST"]
ROUTES = [
    ("/problems", ledger.ledger, GET),
    ("/problems/export.<fmt>", ledger.export, GET),
    ("/problems/new", problem.problem_new, FORM),
    ("/problems/rate/<token>", feedback.rating_link, FORM),
    ("/problems/<int:problem_id>", problem.problem_detail, GET),
    ("/problems/<int:problem_id>/follow-up", problem.follow_up_new, POST),
    ("/problems/<int:problem_id>/<action>", problem.problem_step, POST),
    ("/follow-ups/<int:follow_up_id>/outcome", problem.follow_up_outcome, POST),
    ("/activities/<int:activity_id>/record", activity.activity_record, FORM),
    ("/activities/<int:activity_id>/record/print", activity.activity_record_print, GET),
    ("/activities/<int:activity_id>/photos", activity.photo_upload, POST),
    ("/photos/<int:photo_id>", activity.photo, GET),
    ("/outcomes", activity.outcomes, FORM),
    ("/activities/<int:activity_id>/feedback", feedback.activity_feedback, FORM),
    # The answer link's feedback page; invitations keeps a build-only rule of this URL for its links.
    ("/rsvp/<token>/feedback", feedback.link_feedback, FORM),
]
for rule, view, methods in ROUTES:
    bp.add_url_rule(rule, view_func=view, methods=methods)
bp.app_context_processor(common.inject_helpers)
