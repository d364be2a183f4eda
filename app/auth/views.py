"""Log-in, log-out and account administration."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from app.audit.services import diff, record
from app.auth.access import any_role, public, roles_required
from app.auth.forms import AccountEditForm, AccountForm, LoginForm, PasswordChangeForm
from app.auth.models import Role, User
from app.auth.services import authenticate, check_admin_remains, check_role_fits, create_account
from app.auth.sessions import end_sessions
from app.auth.throttle import LoginThrottled, admit_login_attempt, forget_failures
from app.core.pagination import paginate
from app.core.redirects import safe_next
from app.core.unit_of_work import flash_after_commit
from app.core.views import save_or_show
from app.extensions import db
from app.orgs.models import Organisation, Person

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    """Show the log-in form and log the person in."""
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            admit_login_attempt(form.email.data, request.remote_addr)
        except LoginThrottled as refusal:
            flash(refusal.message, "danger")
            return render_template("auth/login.html", form=form), 429
        user = authenticate(form.email.data, form.password.data)
        if user is None:
            flash(_("Wrong e-mail or password."), "danger")
        else:
            forget_failures(form.email.data)
            login_user(user, remember=form.remember.data)
            flash_after_commit(_("Welcome, %(name)s.", name=user.name), "success")
            return redirect(safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@public
def logout():
    """Log out, ending every session of the account, and go back to the log-in page."""
    if current_user.is_authenticated:
        # A copy of the session cookie kept elsewhere must not outlive the log-out.
        end_sessions(current_user._get_current_object())
    logout_user()
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.get("/accounts")
@roles_required()
def accounts():
    """List the accounts (administrators only)."""
    query = request.args.get("q", "").strip()
    statement = select(User).join(User.person).join(Person.organisation).order_by(Person.name)
    if query:
        like = f"%{query}%"
        statement = statement.where(
            Person.name.ilike(like) | Person.email.ilike(like) | Organisation.name.ilike(like)
        )
    return render_template("auth/accounts.html", page=paginate(statement), query=query)


@bp.route("/people/<int:person_id>/account", methods=["GET", "POST"])
@roles_required()
def account_create(person_id: int):
    """Give a person an account."""
    person = db.get_or_404(Person, person_id)
    if db.session.scalar(select(User).where(User.person_id == person.id)):
        flash(_("This person already has an account."), "warning")
        return redirect(url_for("orgs.person_detail", person_id=person.id))
    form = AccountForm()
    if form.validate_on_submit():
        if not person.email:
            flash(_("Add an e-mail address first: it is the log-in name."), "danger")
        else:

            def save() -> User:
                user = create_account(
                    email=person.email,
                    name=person.name,
                    organisation=person.organisation,
                    role=Role(form.role.data),
                    password=form.password.data,
                )
                record(user, "create", {"role": user.role})
                return user

            saved = save_or_show(
                form, save, lambda _user: url_for("orgs.person_detail", person_id=person.id),
                _("The account was created."),
            )
            if saved is not None:
                return saved
    return render_template("auth/account_form.html", form=form, person=person, user=None)


@bp.route("/accounts/<int:user_id>/edit", methods=["GET", "POST"])
@roles_required()
def account_edit(user_id: int):
    """Change an account's role, status or password."""
    user = db.get_or_404(User, user_id)
    form = AccountEditForm(obj=user)
    if request.method == "GET":
        form.role.data = user.role.value
    if form.validate_on_submit():
        role = Role(form.role.data)
        if user.id == current_user.id and (role != Role.admin or not form.active.data):
            flash(_("You cannot remove your own administrator rights."), "danger")
            return render_template("auth/account_form.html", form=form, person=user.person, user=user)

        def save() -> None:
            check_role_fits(role, user.person.organisation)
            check_admin_remains(user.person, role=role, active=form.active.data)
            changes = diff(user, {"role": role, "active": form.active.data})
            if form.password.data:
                user.set_password(form.password.data)
                changes["password"] = ["***", "***"]
            if form.password.data or "active" in changes:
                if user.id == current_user.id:
                    _end_other_sessions()
                else:
                    end_sessions(user)
            if changes:
                record(user, "update", changes)

        saved = save_or_show(form, save, lambda _none: url_for("auth.accounts"), _("The account was saved."))
        return saved or render_template("auth/account_form.html", form=form, person=user.person, user=user)
    if request.method == "POST" and not form.errors:
        abort(400)
    return render_template("auth/account_form.html", form=form, person=user.person, user=user)


@bp.route("/account/password", methods=["GET", "POST"])
@any_role
def change_password():
    """Let the logged-in person change their own password."""
    form = PasswordChangeForm()
    if form.validate_on_submit():
        if not current_user.check_password(form.current.data):
            form.current.errors.append(_("Wrong password."))
        else:
            current_user.set_password(form.new.data)
            record(current_user, "password")
            _end_other_sessions()
            flash_after_commit(_("Your password was changed."), "success")
            return redirect(url_for("main.home"))
    return render_template("auth/password.html", form=form)


def _end_other_sessions() -> None:
    """End every session of the account but keep this one (with a fresh remember-me cookie if it had one)."""
    user = current_user._get_current_object()
    end_sessions(user)
    remembered = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies
    login_user(user, remember=remembered)


@bp.post("/account/sessions/end")
@any_role
def end_all_sessions():
    """Log out everywhere: every browser and remember-me cookie of this account, this one included."""
    end_sessions(current_user._get_current_object())
    logout_user()
    flash(_("You are logged out on every device."), "info")
    return redirect(url_for("auth.login"))
