"""Account operations. They take plain arguments, flush, write the audit log and
return; the caller commits (and sends mail after the commit)."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, select

from portal.audit.recording import record
from portal.auth import passwords, sessions, tokens
from portal.auth.models import Role, User, UserSession, normalise_email
from portal.extensions import db
from portal.i18n import municipality_name
from portal.mail.outbox import queue_email
from portal.residents.models import Resident
from portal.residents.names import resident_name
from portal.residents.naming import user_name
from portal.services.models import Department
from portal.timeutil import utcnow


class AccountError(ValueError):
    """A request that cannot be carried out; ``str(error)`` is safe to show."""


def find_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def email_taken(email: str) -> bool:
    return db.session.scalar(
        select(func.count()).select_from(User).where(User.email == normalise_email(email))
    ) > 0


def unusable_password() -> str:
    """A value no password verifies against (for accounts that must set one first)."""
    return "!" + secrets.token_urlsafe(24)


def register_resident(*, email: str, display_name: str, password: str, locale: str) -> User:
    user = User(email=normalise_email(email), display_name=display_name.strip(),
                password_hash=passwords.hash_password(password), role=Role.RESIDENT,
                locale=locale, active=True)
    db.session.add(user)
    db.session.flush()
    _add_resident_record(user)
    record("account.register", actor=user, target=user, summary="Resident registered")
    return user


def _add_resident_record(user: User) -> None:
    """The resident's own record; staff may later link it to the municipal register.
    Outreach and profiling stay off until the resident consents in their profile."""
    db.session.add(Resident(user_id=user.id, given_name=resident_name(user.display_name),
                            email=user.email,
                            preferred_locale=user.locale or current_app.config["DEFAULT_LOCALE"],
                            consent_outreach=False, consent_profiling=False,
                            preferred_channels=["email"], self_supplied=["email", "given_name"]))


def authenticate(email: str, password: str) -> User | None:
    """The user if the e-mail and password match an active account, else None."""
    user = find_by_email(email)
    if user is None or user.password_hash.startswith("!"):
        passwords.burn_time(password)  # same time for unknown and not-yet-invited accounts
        return None
    if not passwords.verify_password(user.password_hash, password) or not user.active:
        return None
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    return user


def note_login(user: User) -> None:
    user.last_login_at = utcnow()
    record("auth.login", actor=user, target=user, summary="Signed in")


def note_failed_login(email: str) -> None:
    """Keep the address tried only when it is one (a password typed into the e-mail
    box must not end up in the audit log)."""
    known = find_by_email(email)
    tried = normalise_email(email)
    looks_like_address = "@" in tried and " " not in tried and len(tried) <= 254
    record("auth.login_failed", actor=None, target=known, summary="Failed sign-in",
           data={"email": tried if known or looks_like_address else "(not an e-mail address)"})


def note_logout(user: User) -> None:
    record("auth.logout", actor=user, target=user, summary="Signed out")


def set_password(user: User, password: str, *, actor: User, action: str,
                 keep: UserSession | None = None) -> None:
    """Set a new password and sign the account out everywhere (but the sign-in
    ``keep``, the one that changed it)."""
    user.password_hash = passwords.hash_password(password)
    sessions.forget_all(user, keep=keep)
    record(action, actor=actor, target=user, summary="Password set")


def update_settings(user: User, *, display_name: str, locale: str) -> None:
    changes = {}
    if user.display_name != display_name.strip():
        changes["display_name"] = True
        user.display_name = display_name.strip()
    if user.locale != locale:
        changes["locale"] = [user.locale, locale]
        user.locale = locale
    if changes:
        record("account.settings", actor=user, target=user, summary="Account settings changed",
               data=changes)


def set_locale(user: User, locale: str) -> None:
    if user.locale != locale:
        user.locale = locale


def _link_email(user: User, *, purpose: str, url_for_token: Callable[[str], str]) -> None:
    """Queue a mail with a single-use link, written in the user's language."""
    locale = user.locale or current_app.config["DEFAULT_LOCALE"]
    link = url_for_token(tokens.make_token(user, purpose))
    name = user_name(user, locale)  # a resident by the name form of the mail's language
    with force_locale(locale):
        city = municipality_name(locale)
        if purpose == tokens.INVITATION:
            subject = _("Your account on the %(city)s resident portal", city=city)
            body = _(
                "Hello %(name)s,\n\nAn account has been created for you on the %(city)s "
                "resident portal. Choose your password with this link within 7 days:\n\n"
                "%(link)s\n\nIf you did not expect this e-mail, please tell your "
                "administrator.\n", name=name, link=link, city=city)
        else:
            subject = _("Reset your password")
            body = _(
                "Hello %(name)s,\n\nSomeone asked to reset the password of your account. "
                "Choose a new password with this link within %(minutes)s minutes:\n\n"
                "%(link)s\n\nThe link works once. If you did not ask for this, you can "
                "ignore this e-mail; your password stays as it is.\n",
                name=name, link=link, minutes=tokens.max_age(purpose) // 60)
    queue_email(to=user.email, subject=subject, body=body, locale=locale,
                purpose=purpose.replace("-", "_"), user=user)


def request_password_reset(email: str, *, locale: str, url_for_token: Callable[[str], str],
                           register_url: str) -> bool:
    """Queue one e-mail to the address either way: a reset link when an active account
    has it, otherwise a note that no account uses it. Both cases do the same work
    (look-up, message, outbox, audit entry), so neither the page nor its timing tells
    a visitor which addresses have accounts. True when a link was sent."""
    user = find_by_email(email)
    if user is not None and user.active:
        _link_email(user, purpose=tokens.RESET, url_for_token=url_for_token)
        record("auth.password_reset_requested", actor=None, target=user,
               summary="Password reset link sent")
        return True
    address = normalise_email(email)
    with force_locale(locale):
        subject = _("Password reset requested")
        body = _(
            "Hello,\n\nSomeone asked to reset the password of an account on the resident "
            "success portal with this e-mail address. No active account uses this "
            "address, so nothing was changed.\n\nIf it was you, you may have signed up "
            "with another address. You can also create an account here:\n\n"
            "%(link)s\n\nIf it was not you, you can ignore this e-mail.\n",
            link=register_url)
    queue_email(to=address, subject=subject, body=body, locale=locale,
                purpose="password_reset_no_account")
    record("auth.password_reset_no_account", actor=None, target=user,
           summary="Password reset asked for an address without an active account",
           data={"email": address})
    return False


def request_registration(*, email: str, display_name: str, locale: str,
                         url_for_token: Callable[[str], str], sign_in_url: str,
                         reset_url: str) -> bool:
    """Queue one e-mail to the address either way: a link to finish registering, or,
    when the address already has an account, a note to its owner. The caller shows
    the same page in both cases. True when a registration link was sent."""
    address = normalise_email(email)
    owner = find_by_email(address)
    if owner is None:
        link = url_for_token(tokens.make_registration_token(tokens.Registration(
            email=address, display_name=display_name.strip(), locale=locale)))
        with force_locale(locale):
            subject = _("Finish creating your account")
            body = _(
                "Hello %(name)s,\n\nTo finish creating your account on the resident "
                "success portal, choose your password with this link within %(hours)s "
                "hours:\n\n%(link)s\n\nIf you did not ask for an account, you can ignore "
                "this e-mail; no account is created without the link.\n",
                name=display_name.strip(), link=link,
                hours=tokens.REGISTRATION_MAX_AGE // 3600)
        queue_email(to=address, subject=subject, body=body, locale=locale,
                    purpose="registration")
        record("account.registration_requested", actor=None, target=None,
               summary="Registration link sent", data={"email": address})
        return True
    owner_locale = owner.locale or current_app.config["DEFAULT_LOCALE"]
    with force_locale(owner_locale):
        subject = _("Someone tried to create an account with your address")
        body = _(
            "Hello %(name)s,\n\nSomeone tried to create an account on the resident success "
            "portal with this e-mail address. You already have an account, so nothing was "
            "changed.\n\nIf it was you, sign in here:\n\n%(sign_in)s\n\nIf you forgot "
            "your password, you can reset it here:\n\n%(reset)s\n\nIf it was not you, "
            "you can ignore this e-mail; your account stays as it is.\n",
            name=owner.display_name, sign_in=sign_in_url, reset=reset_url)
    queue_email(to=owner.email, subject=subject, body=body, locale=owner_locale,
                purpose="registration_existing", user=owner)
    record("account.registration_existing", actor=None, target=owner,
           summary="Registration tried with the address of an existing account",
           data={"email": address})
    return False


def complete_registration(registration: tokens.Registration, *, password: str) -> User:
    """Create the account a registration link stands for (the link proved the address)."""
    if email_taken(registration.email):
        raise AccountError(_("An account with this e-mail address has already been "
                             "created. Please sign in."))
    return register_resident(email=registration.email, display_name=registration.display_name,
                             password=password, locale=registration.locale)


def create_account(*, actor: User | None, email: str, display_name: str, role: str,
                   department: Department | None = None, password: str | None = None,
                   locale: str | None = None,
                   url_for_token: Callable[[str], str] | None = None) -> User:
    """Any account (console or command line). Without a password the new user gets
    an invitation e-mail with a link to choose one (``url_for_token`` builds it)."""
    if role not in {r.value for r in Role}:
        raise AccountError(_("Unknown role."))
    if role == Role.STAFF and department is None:
        raise AccountError(_("Staff accounts need a department."))
    if role in (Role.RESIDENT, Role.OFFICIAL) and department is not None:
        raise AccountError(_("Only staff and managers belong to a department."))
    if email_taken(email):
        raise AccountError(_("An account with this e-mail address already exists."))
    user = User(email=normalise_email(email), display_name=display_name.strip(), role=role,
                department_id=department.id if department else None, active=True,
                password_hash=passwords.hash_password(password) if password
                else unusable_password(), locale=locale)
    db.session.add(user)
    db.session.flush()
    if role == Role.RESIDENT:
        _add_resident_record(user)
    record("account.create", actor=actor, target=user,
           summary=f"Created {role} account" + ("" if actor else " (command line)"),
           data={"role": role, "department": department.code if department else None})
    if password is None:
        if url_for_token is None:
            raise AccountError(_("Give a password or send an invitation."))
        _link_email(user, purpose=tokens.INVITATION, url_for_token=url_for_token)
    return user


def create_console_account(*, actor: User, email: str, display_name: str, role: str,
                           department: Department | None, locale: str | None,
                           url_for_token: Callable[[str], str]) -> User:
    if role not in Role.console_roles():
        raise AccountError(_("Choose a staff role."))
    return create_account(actor=actor, email=email, display_name=display_name, role=role,
                          department=department, locale=locale, url_for_token=url_for_token)


def update_console_account(*, actor: User, user: User, role: str,
                           department: Department | None, active: bool) -> None:
    _check_role_department(role, department)
    if user.id == actor.id and (role != user.role or not active):
        raise AccountError(_("You cannot change your own role or deactivate yourself."))
    before = {"role": user.role, "department": user.department.code if user.department else None,
              "active": user.active}
    after = {"role": role, "department": department.code if department else None,
             "active": active}
    if before == after:
        return
    user.role = role
    user.department_id = department.id if department else None
    if user.active and not active:
        sessions.forget_all(user)  # signs the account out at once
    user.active = active
    if before["role"] != role or before["department"] != after["department"]:
        record("account.role_change", actor=actor, target=user,
               summary=f"Role {before['role']} -> {role}",
               data={"before": before, "after": after})
    if before["active"] != active:
        record("account.activate" if active else "account.deactivate", actor=actor,
               target=user, summary="Account activated" if active else "Account deactivated")


def _check_role_department(role: str, department: Department | None) -> None:
    if role not in Role.console_roles():
        raise AccountError(_("Choose a staff role."))
    if role == Role.STAFF and department is None:
        raise AccountError(_("Staff accounts need a department."))
