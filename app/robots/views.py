"""The group robots page (administrators) and the theme announcement (organisers)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from app.auth.access import roles_required
from app.auth.models import Role
from app.core.clock import utcnow
from app.core.unit_of_work import flash_after_commit
from app.core.views import save_or_show
from app.events.models import MonthlyTheme
from app.extensions import db
from app.robots import services
from app.robots.forms import RobotForm
from app.robots.models import GroupRobot, Provider
from app.robots.posts import announce_theme

bp = Blueprint("robots", __name__)
administrators = roles_required()


def _form() -> RobotForm:
    form = RobotForm()
    form.organisation_id.choices = [
        (o.id, _("%(name)s (%(detail)s)", name=o.name, detail=o.kind_label)) for o in services.owners()
    ]
    return form


@bp.route("/robots", methods=["GET", "POST"])
@administrators
def robots():
    """Every configured robot (webhook masked), and the form that adds or replaces one."""
    form = _form()
    if request.method == "GET":
        form.organisation_id.data = request.args.get("org", type=int)
        form.provider.data = request.args.get("provider") if request.args.get("provider") in Provider.__members__ else None
    elif form.validate_on_submit():
        response = save_or_show(
            form,
            save=lambda: services.save_robot(
                form.organisation_id.data, Provider(form.provider.data), form.webhook_url.data, form.secret.data,
                now=utcnow(),
            ),
            done=lambda _robot: url_for("robots.robots"),
            message=_("The group robot was saved. Send a test message to check it."),
        )
        if response is not None:
            return response
    configured = list(db.session.scalars(select(GroupRobot).order_by(GroupRobot.organisation_id, GroupRobot.provider)))
    return render_template(
        "robots/robots.html", form=form, robots=configured,
        recent={robot.id: services.recent_posts(robot) for robot in configured},
    )


@bp.post("/robots/<id:robot_id>/test")
@administrators
def test(robot_id: int):
    """Post a test message to the robot's group now and say how it went."""
    robot = db.get_or_404(GroupRobot, robot_id)
    error = services.send_test(robot, now=utcnow())
    if error:
        flash_after_commit(_("The test message was not delivered: %(error)s", error=error), "danger")
    else:
        flash_after_commit(_("The test message was posted to the group."), "success")
    return redirect(url_for("robots.robots"))


@bp.post("/robots/<id:robot_id>/delete")
@administrators
def delete(robot_id: int):
    """Remove a robot; nothing more is posted to its group."""
    robot = db.get_or_404(GroupRobot, robot_id)
    services.remove_robot(robot, now=utcnow())
    flash_after_commit(_("The group robot was removed."), "success")
    return redirect(url_for("robots.robots"))


@bp.post("/themes/<id:theme_id>/announce")
@roles_required(Role.organiser)
def announce(theme_id: int):
    """Post the monthly theme to every alliance's (and the committee's) group."""
    theme = db.get_or_404(MonthlyTheme, theme_id)
    queued = announce_theme(theme, utcnow())
    if queued:
        flash_after_commit(_("The theme will be posted to %(n)d groups.", n=queued), "success")
    else:
        flash(_("No group robot is waiting for this theme: none is configured, or this version was already posted."), "info")
    return redirect(url_for("events.themes", year=theme.year))
