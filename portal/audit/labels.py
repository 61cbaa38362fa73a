"""What each audit action is called in the reader's language.

Entries store the action as an untranslated code (``resident.view``); pages show
its label. Every action the code records must be listed here:
``tests/test_labels.py`` finds each ``record(...)`` / ``record_many(...)`` call and
fails for an action without a label.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

ACTION_LABELS = {
    # accounts and signing in
    "account.register": _l("Registered an account"),
    "account.create": _l("Created an account"),
    "account.settings": _l("Changed account settings"),
    "account.password_change": _l("Changed the password"),
    "account.role_change": _l("Changed an account's role"),
    "account.activate": _l("Activated an account"),
    "account.deactivate": _l("Deactivated an account"),
    "auth.login": _l("Signed in"),
    "auth.login_failed": _l("Failed sign-in"),
    "auth.logout": _l("Signed out"),
    "auth.password_reset_requested": _l("Requested a password reset"),
    "auth.password_reset": _l("Reset the password"),
    "auth.invitation": _l("Accepted an invitation"),
    # residents
    "resident.view": _l("Viewed a resident record"),
    "resident.list_view": _l("Saw a resident in a list"),
    "resident.update": _l("Changed a resident record"),
    "resident.export": _l("Downloaded own data"),
    "resident.erase": _l("Deleted an account and erased personal data"),
    "resident.link": _l("Linked an account to a resident record"),
    "resident.merge": _l("Merged duplicate resident records"),
    "usage.record": _l("Recorded a use of a service"),
    # services
    "department.create": _l("Created a department"),
    "department.update": _l("Changed a department"),
    "service.create": _l("Created a service"),
    "service.update": _l("Changed a service"),
    "district.create": _l("Created a district"),
    "district.update": _l("Changed a district"),
    # engagement
    "engagement.list_view": _l("Saw a resident in an engagement list"),
    "engagement.export": _l("Exported engagement scores"),
    "engagement.exported": _l("Resident included in a score export"),
    "engagement.recompute_requested": _l("Requested a score recompute"),
    "scoring_model.save": _l("Changed a scoring model"),
    # data coming in
    "import.check": _l("Checked an import file"),
    "import.apply": _l("Imported a file"),
    "import.reject": _l("Import refused at the final check"),
    "import.discard": _l("Discarded an import"),
    "api.events": _l("Received usage events through the API"),
    "api_token.create": _l("Created an API token"),
    "api_token.revoke": _l("Revoked an API token"),
}


def action_label(action: str | None) -> str:
    """The action's label; an unknown code (from a newer version) as stored."""
    label = ACTION_LABELS.get(action or "")
    return str(label) if label is not None else (action or "")


#: What an entry's target is (its table), for the "Target" column.
TARGET_LABELS = {
    "residents": _l("Resident"),
    "households": _l("Household"),
    "users": _l("Account"),
    "departments": _l("Department"),
    "services": _l("Service"),
    "districts": _l("District"),
    "usage_events": _l("Use of a service"),
    "scoring_models": _l("Scoring model"),
    "import_batches": _l("Import"),
    "api_tokens": _l("API token"),
    "outbound_messages": _l("Message"),
}


def target_label(target_type: str | None) -> str:
    label = TARGET_LABELS.get(target_type or "")
    return str(label) if label is not None else (target_type or "")
