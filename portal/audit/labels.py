"""What the audit log's codes mean, in the viewer's language. Entries store the
untranslated action code, target type and English summary (the log is evidence);
pages render the codes through these catalogues."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext

ACTION_LABELS = {
    "account.activate": _l("Account activated"),
    "account.create": _l("Account created"),
    "account.deactivate": _l("Account deactivated"),
    "account.register": _l("Resident registered an account"),
    "account.role_change": _l("Role or department changed"),
    "account.settings": _l("Account settings changed"),
    "account.password_change": _l("Password changed"),
    "api.events": _l("Events received through the API"),
    "api.life_events": _l("Life events received through the API"),
    "api_token.create": _l("API token created"),
    "api_token.revoke": _l("API token revoked"),
    "audit.export": _l("Audit log exported"),
    # the same English as the sign-in time in the account settings, not the same Japanese
    "auth.login": lazy_pgettext("audit action", "Signed in"),
    "auth.login_failed": _l("Failed sign-in"),
    "auth.logout": _l("Signed out"),
    "auth.password_reset_requested": _l("Password reset requested"),
    "auth.password_reset": _l("Password reset"),
    "auth.invitation": _l("Invitation accepted"),
    "department.create": _l("Department created"),
    "survey_response.enter": _l("Survey response entered by staff"),
    "department.update": _l("Department changed"),
    "district.create": _l("District created"),
    "district.update": _l("District changed"),
    "engagement.equity_export": _l("Equity view exported"),
    "engagement.export": _l("Score list exported"),
    "engagement.exported": _l("Resident's score exported in a list"),
    "engagement.list_view": _l("Resident's score seen in a list"),
    "engagement.lapse_list_view": _l("Resident seen in a list of lapsed users"),
    "engagement.recompute_requested": _l("Score recompute requested"),
    "import.apply": _l("Import applied"),
    "import.check": _l("Import file checked"),
    "import.discard": _l("Import discarded"),
    "import.reject": _l("Import refused at apply"),
    "resident.erase": _l("Resident's account and personal data erased"),
    "resident.export": _l("Resident downloaded their data"),
    "resident.link": _l("Account linked to a resident record"),
    "resident.unlink": _l("Account unlinked from a resident record"),
    "account.registration_requested": _l("Registration link sent"),
    "account.registration_existing": _l("Registration tried with an existing address"),
    "auth.password_reset_no_account": _l("Password reset asked for an unknown address"),
    "auth.session_ended": _l("Signed out on another device"),
    "auth.sessions_ended": _l("Signed out on all other devices"),
    "auth.signed_out_everywhere": _l("Signed out everywhere by an administrator"),
    "resident.list_view": _l("Resident seen in a search result"),
    "resident.merge": _l("Duplicate resident record merged"),
    "resident.update": _l("Resident record changed"),
    "resident.view": _l("Resident record viewed"),
    "scoring_model.save": _l("Scoring model saved"),
    "service.create": _l("Service created"),
    "service.update": _l("Service changed"),
    "survey.detractor_list_view": _l("Resident seen in a survey's detractor list"),
    "survey.responses_export": _l("Survey responses exported"),
    "survey.free_text_view": _l("Survey free-text answers read"),
    "usage.record": _l("Use of a service recorded"),
    # surveys: building
    "survey.create": _l("Survey created"),
    "survey.update": _l("Survey settings changed"),
    "survey.question_add": _l("Survey question added"),
    "survey.question_edit": _l("Survey question changed"),
    "survey.question_move": _l("Survey question moved"),
    "survey.question_close": _l("Survey question closed"),
    "survey.question_delete": _l("Survey question deleted"),
    "survey.open": _l("Survey opened"),
    "survey.close": _l("Survey closed"),
    "survey.import": _l("Survey imported from a definition"),
    "survey.export": _l("Survey definition exported"),
    # surveys: invitations
    "survey.invitations_sent": _l("Survey invitations sent"),
    "survey.reminders_sent": _l("Survey reminders sent"),
    # inquiries (the queue's actions; helpers add their own below this line)
    "inquiry.record": _l("Inquiry recorded on a resident's behalf"),
    "inquiry.reply": _l("Inquiry replied to"),
    "inquiry.status": _l("Inquiry status changed"),
    "inquiry.reopen": _l("Inquiry reopened"),
    "inquiry.assign": _l("Inquiry assigned"),
    "inquiry.route": _l("Inquiry routed to another service"),
    "inquiry.merge": _l("Inquiry merged as a duplicate"),
    # inquiries: service levels, closure days and reply templates (helper "sla")
    "inquiry.sla_targets": _l("Inquiry service levels changed"),
    "inquiry.sla_override": _l("Service-level override set for a service"),
    "inquiry.sla_override_removed": _l("Service-level override removed"),
    "inquiry.closure_added": _l("Closure day added"),
    "inquiry.closure_removed": _l("Closure day removed"),
    "inquiry.template_created": _l("Reply template created"),
    "inquiry.template_changed": _l("Reply template changed"),
    "inquiry.template_deleted": _l("Reply template deleted"),
    # Open311
    "open311_key.create": _l("Open311 key created"),
    "open311_key.revoke": _l("Open311 key revoked"),
    "service_attribute.create": _l("Open311 attribute added"),
    "service_attribute.update": _l("Open311 attribute changed"),
    "service_attribute.delete": _l("Open311 attribute removed"),
    # inquiries: the staff queue and inquiry page (helper "queue")
    "inquiry.view": _l("Resident's inquiry viewed"),
    "inquiry.photo_view": _l("Photo of a resident's inquiry viewed"),
    "inquiry.list_view": _l("Resident's inquiry seen in the queue"),
    "inquiry.export": _l("Inquiry queue exported"),
    "inquiry.exported": _l("Resident's inquiry exported"),
    # playbooks, cases, tasks and outreach
    "playbook.create": _l("Playbook created"),
    "playbook.update": _l("Playbook changed"),
    "playbook.status": _l("Playbook activated, paused or archived"),
    "playbook.dry_run": _l("Playbook dry run"),
    "playbook.dry_run_view": _l("Resident seen in a playbook's dry run"),
    "playbook.evaluate": _l("Playbook evaluation started"),
    "case.start": _l("Case started by staff"),
    "case.view": _l("Resident's case viewed"),
    "case.list_view": _l("Resident's task seen in a work list"),
    "case.note": _l("Note added to a case"),
    "case.close": _l("Case closed"),
    "task.complete": _l("Task completed"),
    "task.reassign": _l("Task reassigned"),
    "task.snooze": _l("Task snoozed"),
    "task.due_change": _l("Task due date changed"),
    "outreach_template.create": _l("Message template created"),
    "outreach_template.update": _l("Message template changed"),
    "outreach_template.delete": _l("Message template deleted"),
    "outreach_template.preview": _l("Message template previewed for a resident"),
    "letters.download": _l("Letters for printing downloaded"),
    "letters.printed": _l("Letters marked printed"),
    "letters.resident_view": _l("Resident's letter downloaded for printing"),
    # community Q&A (residents' own posts are not audited; staff and moderators are)
    "community.official_answer": _l("Official answer given"),
    "community.official_edit": _l("Official answer changed"),
    "community.official_review": _l("Official answer marked reviewed"),
    "community.approve": _l("Community post approved"),
    "community.restore": _l("Community post restored"),
    "community.hide": _l("Community post hidden"),
    "community.delete": _l("Community post deleted by a moderator"),
    "community.silence": _l("Community member silenced"),
    "community.unsilence": _l("Community member's silence lifted"),
    "community.moderator_change": _l("Community moderator permission changed"),
    "community.topic_create": _l("Community topic created"),
    "community.topic_update": _l("Community topic changed"),
    # the FAQ
    "faq.create": _l("FAQ entry written"),
    "faq.promote": _l("Answer promoted to the FAQ"),
    "faq.update": _l("FAQ entry changed"),
    "faq.review": _l("FAQ entry reviewed"),
    "faq.archive": _l("FAQ entry archived"),
    "faq.restore": _l("FAQ entry restored"),
    "faq.review_task": _l("FAQ review task created"),
    "search.synonyms_update": _l("Search synonyms changed"),
}

# Entries written once per resident shown on a list page or in an export: many rows
# per page view, so the viewer hides them unless asked (or a resident is chosen).
LIST_VIEW_ACTIONS = ("resident.list_view", "engagement.list_view", "engagement.lapse_list_view",
                     "engagement.exported", "survey.detractor_list_view",
                     "inquiry.list_view", "inquiry.exported", "case.list_view",
                     "playbook.dry_run_view", "letters.resident_view")

TARGET_LABELS = {
    "api_tokens": _l("API token"),
    "departments": _l("Department"),
    "import_batches": _l("Import"),
    "residents": _l("Resident"),
    "scoring_models": _l("Scoring model"),
    "services": _l("Service"),
    "surveys": _l("Survey"),
    "inquiries": _l("Inquiry"),
    "reply_templates": _l("Reply template"),
    "sla_policies": _l("Service level"),
    "closure_days": _l("Closure day"),
    "open311_keys": _l("Open311 key"),
    "service_attributes": _l("Open311 attribute"),
    "users": _l("Account"),
    "districts": _l("District"),
    "playbooks": _l("Playbook"),
    "playbook_cases": _l("Case"),
    "tasks": _l("Task"),
    "outreach_templates": _l("Message template"),
    "outreach_letter_batches": _l("Letters of a day"),
    "community_posts": _l("Community post"),
    "community_members": _l("Community member"),
    "community_topics": _l("Community topic"),
    "faq_entries": _l("FAQ entry"),
    "search_synonyms": _l("Search synonyms"),
}


def action_label(code: str) -> str:
    """The action in the viewer's language; an action without a label yet is shown
    as "Other action" rather than as its code."""
    label = ACTION_LABELS.get(code)
    return str(label) if label is not None else str(_l("Other action"))


def target_label(code: str | None) -> str:
    if not code:
        return ""
    label = TARGET_LABELS.get(code)
    return str(label) if label is not None else str(_l("Other record"))
