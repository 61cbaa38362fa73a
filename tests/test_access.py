"""Every route × every role → the expected status. Grows with every feature.

``None`` is an anonymous visitor. 302 for anonymous on protected pages is the
redirect to the sign-in page.
"""

from __future__ import annotations

import pytest

from portal.app import create_app

ROLES = [None, "resident", "staff", "manager", "admin", "official"]
CONSOLE = {None: 302, "resident": 403, "staff": 200, "manager": 200, "admin": 200,
           "official": 200}
ADMIN_ONLY = {None: 302, "resident": 403, "staff": 403, "manager": 403, "admin": 200,
              "official": 403}
PUBLIC = dict.fromkeys(ROLES, 200)
SIGNED_IN = {None: 302, "resident": 200, "staff": 200, "manager": 200, "admin": 200,
             "official": 200}
# the public home page sends console users on to the console
HOME = {**PUBLIC, "staff": 302, "manager": 302, "admin": 302, "official": 302}
# signed-in visitors are sent on from the sign-in and registration pages
GUEST_ONLY = {None: 200, "resident": 302, "staff": 302, "manager": 302, "admin": 302,
              "official": 302}

# staff, managers and admins work with resident records; officials see aggregates only
RECORDS = {None: 302, "resident": 403, "staff": 200, "manager": 200, "admin": 200,
           "official": 403}
MANAGERS = {None: 302, "resident": 403, "staff": 403, "manager": 200, "admin": 200,
            "official": 403}
RESIDENT_ONLY = {None: 302, "resident": 200, "staff": 403, "manager": 403, "admin": 403,
                 "official": 403}
# surveys: staff build their own department's, managers and admins any; officials read
BUILDERS = {None: 302, "resident": 403, "staff": 200, "manager": 200, "admin": 200,
            "official": 403}
API = dict.fromkeys(ROLES, 401)  # bearer tokens only; a signed-in session does not count
# pick an audience and send survey invitations: those who build surveys (staff: their
# department's surveys; the object check is in tests/test_survey_invitations.py)
INVITERS = BUILDERS


def only(allowed: dict, status: int) -> dict:
    """``allowed`` with its 200s replaced by ``status`` (an empty POST's answer)."""
    return {role: status if code == 200 else code for role, code in allowed.items()}


TABLE: list[tuple[str, str, dict]] = [
    ("GET", "/", HOME),
    ("GET", "/healthz", PUBLIC),
    ("POST", "/language", dict.fromkeys(ROLES, 302)),
    ("GET", "/account/login", GUEST_ONLY),
    ("POST", "/account/login", GUEST_ONLY),  # empty form: shown again with errors
    ("GET", "/account/register", GUEST_ONLY),
    ("POST", "/account/register", GUEST_ONLY),
    ("GET", "/account/register/sent", PUBLIC),
    # a link that is not valid sends visitors back to the registration page
    ("GET", "/account/register/finish/not-a-token", dict.fromkeys(ROLES, 302)),
    ("POST", "/account/register/finish/not-a-token", dict.fromkeys(ROLES, 302)),
    ("GET", "/account/forgot-password", PUBLIC),
    ("POST", "/account/forgot-password", PUBLIC),
    ("GET", "/account/settings", SIGNED_IN),
    ("POST", "/account/settings", SIGNED_IN),  # empty form: shown again with errors
    ("POST", "/account/sessions/999999/end", only(SIGNED_IN, 404)),  # not one's own
    ("POST", "/account/sessions/end-others", only(SIGNED_IN, 302)),
    ("GET", "/services/", PUBLIC),
    ("GET", "/services/library-loans", PUBLIC),
    ("GET", "/my/", RESIDENT_ONLY),
    ("GET", "/my/profile", RESIDENT_ONLY),
    ("POST", "/my/profile", RESIDENT_ONLY),
    ("GET", "/my/data", RESIDENT_ONLY),
    ("POST", "/my/data/export", only(RESIDENT_ONLY, 302)),  # no record yet: back to the page
    ("POST", "/my/data/delete", only(RESIDENT_ONLY, 400)),  # no password: refused
    ("GET", "/admin/", CONSOLE),
    ("GET", "/admin/accounts", ADMIN_ONLY),
    ("GET", "/admin/accounts/new", ADMIN_ONLY),
    ("POST", "/admin/accounts/new", ADMIN_ONLY),
    ("GET", "/admin/accounts/{staff_id}", ADMIN_ONLY),
    # an empty POST to an edit form re-submits the stored values: saved, redirected
    ("POST", "/admin/accounts/{staff_id}", only(ADMIN_ONLY, 302)),
    ("POST", "/admin/accounts/{staff_id}/sign-out-everywhere", only(ADMIN_ONLY, 302)),
    ("POST", "/admin/accounts/{resident_user_id}/sign-out-everywhere",
     only(ADMIN_ONLY, 404)),  # residents' accounts are not managed in the console
    ("GET", "/admin/audit", ADMIN_ONLY),
    ("GET", "/admin/audit.csv", ADMIN_ONLY),
    ("GET", "/admin/audit?resident=1&list_views=show", ADMIN_ONLY),
    ("GET", "/admin/services", CONSOLE),
    ("GET", "/admin/services/new", MANAGERS),
    ("POST", "/admin/services/new", MANAGERS),
    ("GET", "/admin/services/library-loans/edit", MANAGERS),
    ("POST", "/admin/services/library-loans/edit", MANAGERS),
    ("GET", "/admin/departments/new", MANAGERS),
    ("POST", "/admin/departments/new", MANAGERS),
    ("GET", "/admin/departments/library/edit", MANAGERS),
    ("POST", "/admin/departments/library/edit", only(MANAGERS, 302)),
    ("GET", "/admin/residents/", RECORDS),
    ("GET", "/admin/residents/{resident_id}", RECORDS),
    ("POST", "/admin/residents/{resident_id}/usage", only(RECORDS, 400)),
    ("POST", "/admin/residents/{resident_id}/link", only(RECORDS, 400)),
    ("POST", "/admin/residents/{resident_id}/unlink", only(MANAGERS, 400)),
    ("POST", "/admin/residents/{resident_id}/merge", only(MANAGERS, 400)),
    ("GET", "/admin/residents/districts", MANAGERS),
    ("GET", "/admin/residents/districts/new", MANAGERS),
    ("POST", "/admin/residents/districts/new", MANAGERS),  # empty form: shown again
    ("GET", "/admin/residents/districts/{district_id}/edit", MANAGERS),
    # an empty POST re-submits the stored names: saved, redirected
    ("POST", "/admin/residents/districts/{district_id}/edit", only(MANAGERS, 302)),
    ("GET", "/admin/services/library-loans/engagement", CONSOLE),  # staff: own department
    ("GET", "/admin/services/cancer-screening/engagement",
     {**CONSOLE, "staff": 403}),  # another department's service
    ("GET", "/admin/services/library-loans/engagement.csv", RECORDS),
    ("GET", "/admin/services/library-loans/lapsed", RECORDS),  # staff: own department
    ("GET", "/admin/services/cancer-screening/lapsed", {**RECORDS, "staff": 403}),
    ("GET", "/admin/engagement/equity", CONSOLE),
    ("GET", "/admin/engagement/equity.csv", CONSOLE),
    ("GET", "/admin/engagement/equity?sort=-mean&dimension=age", CONSOLE),
    ("GET", "/admin/engagement/model", MANAGERS),
    ("POST", "/admin/engagement/model", MANAGERS),  # empty form: shown again with errors
    ("GET", "/admin/services/library-loans/scoring", MANAGERS),
    ("POST", "/admin/services/library-loans/scoring", MANAGERS),
    ("POST", "/admin/engagement/recompute", only(MANAGERS, 302)),
    ("GET", "/admin/services/library-loans/calibration", MANAGERS),  # not staff, not officials
    ("GET", "/admin/services/no-such-service/calibration", only(MANAGERS, 404)),
    ("GET", "/admin/imports/", MANAGERS),
    ("POST", "/admin/imports/", MANAGERS),  # no file: shown again with errors
    ("GET", "/admin/imports/999999", only(MANAGERS, 404)),
    ("GET", "/admin/imports/999999/report.csv", only(MANAGERS, 404)),
    ("POST", "/admin/imports/999999/confirm", only(MANAGERS, 404)),
    ("POST", "/admin/imports/999999/discard", only(MANAGERS, 404)),
    ("GET", "/admin/api-tokens/", ADMIN_ONLY),
    ("GET", "/admin/api-tokens/new", ADMIN_ONLY),
    ("POST", "/admin/api-tokens/new", ADMIN_ONLY),
    ("POST", "/admin/api-tokens/999999/revoke", only(ADMIN_ONLY, 404)),
    # Open311: api_keys (administrators), a service's attributes (the catalogue's managers)
    ("GET", "/admin/open311/", ADMIN_ONLY),
    ("GET", "/admin/open311/keys/new", ADMIN_ONLY),
    ("POST", "/admin/open311/keys/new", ADMIN_ONLY),  # empty form: shown again with errors
    ("POST", "/admin/open311/keys/999999/revoke", only(ADMIN_ONLY, 404)),
    ("GET", "/admin/open311/services/library-loans/attributes", MANAGERS),
    ("GET", "/admin/open311/services/no-such-service/attributes", only(MANAGERS, 404)),
    ("GET", "/admin/open311/services/library-loans/attributes/new", MANAGERS),
    ("POST", "/admin/open311/services/library-loans/attributes/new", MANAGERS),  # errors
    ("GET", "/admin/open311/services/library-loans/attributes/999999", only(MANAGERS, 404)),
    ("POST", "/admin/open311/services/library-loans/attributes/999999", only(MANAGERS, 404)),
    ("POST", "/admin/open311/services/library-loans/attributes/999999/delete",
     only(MANAGERS, 404)),
    # Open311 GeoReport v2: public, no cookies (a session does not count); POST needs a
    # form-encoded body with an api_key (an empty one: 400)
    ("GET", "/open311/v2/", dict.fromkeys(ROLES, 302)),
    ("GET", "/open311/v2/discovery.xml", PUBLIC),
    ("GET", "/open311/v2/services.json", PUBLIC),
    ("GET", "/open311/v2/services/{service_code}.xml", PUBLIC),
    ("GET", "/open311/v2/requests.json", PUBLIC),
    ("POST", "/open311/v2/requests.xml", dict.fromkeys(ROLES, 400)),
    ("GET", "/open311/v2/requests/999999.json", dict.fromkeys(ROLES, 404)),
    ("GET", "/open311/v2/tokens/{missing}.xml", dict.fromkeys(ROLES, 404)),
    ("GET", "/open311/v2/{missing}", dict.fromkeys(ROLES, 404)),
    ("POST", "/open311/v2/{missing}", dict.fromkeys(ROLES, 404)),
    ("GET", "/admin/surveys/", CONSOLE),  # officials: read-only list
    ("GET", "/admin/surveys/new", BUILDERS),
    ("POST", "/admin/surveys/new", BUILDERS),  # empty form: shown again with errors
    ("GET", "/admin/surveys/{survey_id}", CONSOLE),  # staff: own department's survey
    ("GET", "/admin/surveys/{other_survey_id}", {**CONSOLE, "staff": 403}),
    ("GET", "/admin/surveys/999999", only(CONSOLE, 404)),
    ("GET", "/admin/surveys/{survey_id}/edit", BUILDERS),
    ("POST", "/admin/surveys/{survey_id}/edit", BUILDERS),  # empty form: errors shown
    ("GET", "/admin/surveys/{other_survey_id}/edit", {**BUILDERS, "staff": 403}),
    ("GET", "/admin/surveys/{survey_id}/questions/new", BUILDERS),
    ("POST", "/admin/surveys/{survey_id}/questions/new", BUILDERS),
    ("GET", "/admin/surveys/{survey_id}/questions/{question_id}/edit", BUILDERS),
    ("POST", "/admin/surveys/{survey_id}/questions/{question_id}/edit", BUILDERS),
    ("GET", "/admin/surveys/{other_survey_id}/questions/{question_id}/edit",
     {**BUILDERS, "staff": 403, "manager": 404, "admin": 404}),  # not that survey's
    ("POST", "/admin/surveys/{survey_id}/questions/{question_id}/move",
     only(BUILDERS, 400)),  # no direction
    ("POST", "/admin/surveys/{survey_id}/questions/{question_id}/close", only(BUILDERS, 302)),
    ("POST", "/admin/surveys/{survey_id}/questions/{question_id}/delete",
     only(BUILDERS, 302)),
    ("POST", "/admin/surveys/{other_survey_id}/questions/{question_id}/delete",
     {**only(BUILDERS, 404), "staff": 403}),
    ("POST", "/admin/surveys/{survey_id}/open", only(BUILDERS, 302)),
    ("POST", "/admin/surveys/{other_survey_id}/open", {**only(BUILDERS, 302), "staff": 403}),
    ("POST", "/admin/surveys/{survey_id}/close", only(BUILDERS, 302)),  # not confirmed
    ("GET", "/admin/surveys/{survey_id}/definition.json", BUILDERS),
    ("GET", "/admin/surveys/{other_survey_id}/definition.json", {**BUILDERS, "staff": 403}),
    ("GET", "/admin/surveys/import", BUILDERS),
    ("POST", "/admin/surveys/import", BUILDERS),  # nothing given: shown again with errors
    ("GET", "/admin/surveys/999999/invitations", only(INVITERS, 404)),
    ("POST", "/admin/surveys/999999/invitations/count", only(INVITERS, 404)),
    ("POST", "/admin/surveys/999999/invitations/send", only(INVITERS, 404)),
    ("POST", "/admin/surveys/999999/invitations/remind", only(INVITERS, 404)),
    ("GET", "/admin/surveys/{survey_id}/invitations", INVITERS),
    ("GET", "/admin/surveys/{other_survey_id}/invitations", {**INVITERS, "staff": 403}),
    # surveys: answering (a survey that does not exist; real ones in test_survey_answering)
    ("GET", "/surveys/", RESIDENT_ONLY),
    ("GET", "/surveys/999999", only(RESIDENT_ONLY, 404)),
    ("POST", "/surveys/999999", only(RESIDENT_ONLY, 404)),
    ("GET", "/surveys/999999/thanks", dict.fromkeys(ROLES, 404)),
    ("GET", "/surveys/i/not-a-token", dict.fromkeys(ROLES, 404)),
    ("POST", "/surveys/i/not-a-token", dict.fromkeys(ROLES, 404)),
    # inquiries: the resident's side (someone else's inquiry: 404, in test_inquiry_resident)
    ("GET", "/inquiries/", RESIDENT_ONLY),
    ("GET", "/inquiries/new", RESIDENT_ONLY),
    ("GET", "/inquiries/new?service=library-loans", RESIDENT_ONLY),
    ("POST", "/inquiries/new", only(RESIDENT_ONLY, 400)),  # empty form: shown with errors
    ("GET", "/inquiries/999999", only(RESIDENT_ONLY, 404)),
    ("POST", "/inquiries/999999/reply", only(RESIDENT_ONLY, 404)),
    ("POST", "/inquiries/999999/reopen", only(RESIDENT_ONLY, 404)),
    ("GET", "/inquiries/999999/photos/999999", only(RESIDENT_ONLY, 404)),
    ("GET", "/admin/surveys/999999/preview", only(BUILDERS, 404)),
    ("POST", "/admin/surveys/999999/preview", only(BUILDERS, 404)),
    ("GET", "/admin/surveys/999999/responses/new", only(RECORDS, 404)),
    ("POST", "/admin/surveys/999999/responses/new", only(RECORDS, 404)),
    ("GET", "/admin/surveys/{survey_id}/preview", BUILDERS),
    ("GET", "/admin/surveys/{other_survey_id}/preview", {**BUILDERS, "staff": 403}),
    ("POST", "/api/v1/events", API),
    ("GET", "/api/v1/openapi.json", PUBLIC),
    # a survey of the library department (staff of the library may see it)
    ("GET", "/admin/surveys/{survey_id}/results", CONSOLE),
    ("GET", "/admin/surveys/{survey_id}/results/questions/{text_question_id}/text", RECORDS),
    # identified survey: resident columns, so managers and admins only
    ("GET", "/admin/surveys/{survey_id}/responses/export", MANAGERS),
    # inquiries: service levels, closure days, reply templates (managers and admins);
    # an empty POST shows the form again with its errors
    ("GET", "/admin/inquiries/settings", MANAGERS),
    ("POST", "/admin/inquiries/settings/targets", MANAGERS),
    ("POST", "/admin/inquiries/settings/overrides", MANAGERS),
    ("POST", "/admin/inquiries/settings/overrides/0/delete", only(MANAGERS, 404)),
    ("POST", "/admin/inquiries/settings/closures", MANAGERS),
    ("POST", "/admin/inquiries/settings/closures/0/delete", only(MANAGERS, 404)),
    ("GET", "/admin/inquiries/templates", MANAGERS),
    ("GET", "/admin/inquiries/templates/new", MANAGERS),
    ("POST", "/admin/inquiries/templates/new", MANAGERS),
    ("GET", "/admin/inquiries/templates/0", only(MANAGERS, 404)),
    ("POST", "/admin/inquiries/templates/0", only(MANAGERS, 404)),
    ("POST", "/admin/inquiries/templates/0/delete", only(MANAGERS, 404)),
    # inquiry KPIs: staff their own department's (another's: 403), the rest all
    ("GET", "/admin/inquiries/kpis", CONSOLE),
    # inquiries: the staff queue and inquiry page (staff: their department's and the
    # unrouted; another department's inquiry is 404, not 403, so existence is not told)
    ("GET", "/admin/inquiries/", RECORDS),
    ("GET", "/admin/inquiries/export.csv", RECORDS),
    ("GET", "/admin/inquiries/record", RECORDS),
    ("POST", "/admin/inquiries/record", RECORDS),  # empty form: shown again with errors
    ("GET", "/admin/inquiries/{inquiry_id}", RECORDS),
    ("GET", "/admin/inquiries/{other_inquiry_id}", {**RECORDS, "staff": 404}),
    ("GET", "/admin/inquiries/999999", only(RECORDS, 404)),
    ("GET", "/admin/inquiries/{inquiry_id}/photos/999999", only(RECORDS, 404)),
    # empty POSTs: refused with a message (400), except "assign to nobody" (done: 302)
    ("POST", "/admin/inquiries/{inquiry_id}/reply", only(RECORDS, 400)),
    ("POST", "/admin/inquiries/{other_inquiry_id}/reply", {**only(RECORDS, 400), "staff": 404}),
    ("POST", "/admin/inquiries/{inquiry_id}/note", only(RECORDS, 400)),
    ("POST", "/admin/inquiries/{other_inquiry_id}/note", {**only(RECORDS, 400), "staff": 404}),
    ("POST", "/admin/inquiries/{inquiry_id}/assign", only(RECORDS, 302)),
    ("POST", "/admin/inquiries/{other_inquiry_id}/assign", {**only(RECORDS, 302), "staff": 404}),
    ("POST", "/admin/inquiries/{inquiry_id}/status", only(RECORDS, 400)),
    ("POST", "/admin/inquiries/{inquiry_id}/route", only(RECORDS, 400)),
    ("POST", "/admin/inquiries/{inquiry_id}/merge", only(RECORDS, 400)),
    ("POST", "/admin/inquiries/{other_inquiry_id}/merge", {**only(RECORDS, 400), "staff": 404}),
    ("POST", "/admin/inquiries/{inquiry_id}/reopen", only(RECORDS, 400)),  # not resolved
    ("POST", "/admin/inquiries/999999/reopen", only(RECORDS, 404)),
    # playbooks: staff read their department's ({playbook_id}: the library's;
    # {other_playbook_id}: health's), managers and admins edit (helper "console")
    ("GET", "/admin/playbooks/", RECORDS),
    ("GET", "/admin/playbooks/?status=nonsense&department=nowhere", RECORDS),
    ("GET", "/admin/playbooks/new", MANAGERS),
    ("POST", "/admin/playbooks/new", only(MANAGERS, 400)),  # nothing typed: the problems
    ("GET", "/admin/playbooks/{playbook_id}", RECORDS),
    ("GET", "/admin/playbooks/{other_playbook_id}", {**RECORDS, "staff": 404}),
    ("GET", "/admin/playbooks/999999", only(RECORDS, 404)),
    ("GET", "/admin/playbooks/{playbook_id}/edit", MANAGERS),
    ("GET", "/admin/playbooks/999999/edit", only(MANAGERS, 404)),
    # an empty form carries no version: refused as opened at another version
    ("POST", "/admin/playbooks/{playbook_id}/edit", only(MANAGERS, 409)),
    ("POST", "/admin/playbooks/{playbook_id}/status", only(MANAGERS, 302)),  # flashed refusal
    ("POST", "/admin/playbooks/999999/status", only(MANAGERS, 404)),
    ("GET", "/admin/playbooks/{playbook_id}/versions", RECORDS),
    ("GET", "/admin/playbooks/{other_playbook_id}/versions", {**RECORDS, "staff": 404}),
    ("GET", "/admin/playbooks/{playbook_id}/effectiveness", RECORDS),
    ("GET", "/admin/playbooks/{playbook_id}/effectiveness?period=2001-01", RECORDS),
    ("GET", "/admin/playbooks/{other_playbook_id}/effectiveness", {**RECORDS, "staff": 404}),

    # My work and cases: staff work their department's ({case_id}, {task_id}: the
    # library's; {other_case_id}, {other_task_id}: health's) (helper "work")
    ("GET", "/admin/work/", RECORDS),
    # the manual start from the 360° page (helper "engine"): an empty POST names no
    # resident (404); the form's cases are in tests/test_playbook_evaluation.py
    ("POST", "/admin/work/start", only(RECORDS, 404)),
    ("GET", "/admin/work/?show=mine&snoozed=y&page=3", RECORDS),
    ("GET", "/admin/work/?show=nonsense", RECORDS),  # ignored, said so
    ("GET", "/admin/work/cases/{case_id}", RECORDS),
    ("GET", "/admin/work/cases/{other_case_id}", {**RECORDS, "staff": 404}),
    ("GET", "/admin/work/cases/999999", only(RECORDS, 404)),
    # an empty POST: refused with the reason on the case page (400)
    ("POST", "/admin/work/tasks/{task_id}/complete", only(RECORDS, 400)),
    ("POST", "/admin/work/tasks/{other_task_id}/complete", {**only(RECORDS, 400), "staff": 404}),
    ("POST", "/admin/work/tasks/999999/complete", only(RECORDS, 404)),
    ("POST", "/admin/work/tasks/{task_id}/reassign", only(RECORDS, 400)),
    ("POST", "/admin/work/tasks/{other_task_id}/reassign", {**only(RECORDS, 400), "staff": 404}),
    ("POST", "/admin/work/tasks/{task_id}/snooze", only(RECORDS, 400)),
    ("POST", "/admin/work/tasks/{other_task_id}/snooze", {**only(RECORDS, 400), "staff": 404}),
    ("POST", "/admin/work/tasks/{task_id}/due", only(RECORDS, 400)),
    ("POST", "/admin/work/tasks/{other_task_id}/due", {**only(RECORDS, 400), "staff": 404}),
    ("POST", "/admin/work/cases/{case_id}/close", only(RECORDS, 400)),
    ("POST", "/admin/work/cases/{other_case_id}/close", {**only(RECORDS, 400), "staff": 404}),
    ("POST", "/admin/work/cases/999999/close", only(RECORDS, 404)),
    ("POST", "/admin/work/cases/{case_id}/note", only(RECORDS, 400)),
    ("POST", "/admin/work/cases/{other_case_id}/note", {**only(RECORDS, 400), "staff": 404}),

    # outreach: message templates ({template_id}) and the day's letters (helper
    # "outreach")
    ("GET", "/admin/outreach/templates", MANAGERS),
    ("GET", "/admin/outreach/templates/new", MANAGERS),
    ("POST", "/admin/outreach/templates/new", only(MANAGERS, 400)),  # empty: errors
    ("GET", "/admin/outreach/templates/{template_id}", MANAGERS),
    ("POST", "/admin/outreach/templates/{template_id}", only(MANAGERS, 400)),  # empty: errors
    ("GET", "/admin/outreach/templates/999999", only(MANAGERS, 404)),
    ("GET", "/admin/outreach/templates/{template_id}/preview", MANAGERS),
    ("GET", "/admin/outreach/templates/{template_id}/preview?resident_id={resident_id}",
     MANAGERS),
    ("GET", "/admin/outreach/templates/{template_id}/preview?q=R-", MANAGERS),
    ("POST", "/admin/outreach/templates/{template_id}/delete", only(MANAGERS, 302)),
    ("POST", "/admin/outreach/templates/999999/delete", only(MANAGERS, 404)),
    # letters: managers and admins print them (postal addresses of every department's
    # residents); the real batch's rows are in tests/test_outreach_letters.py
    ("GET", "/admin/outreach/letters", MANAGERS),
    ("GET", "/admin/outreach/letters/999999.pdf", only(MANAGERS, 404)),
    ("POST", "/admin/outreach/letters/999999/printed", only(MANAGERS, 404)),

    # life events: the import and the API (helper "life"); the import's console page is
    # the existing /admin/imports/ (a kind of file there)
    ("POST", "/api/v1/life-events", API),
    # community Q&A ({community_question_id}: another resident's question about a library
    # service, {community_answer_id}: a third resident's answer to it, {topic_id}) — posting (helper
    # "posting"), search (helper "search"), moderation (helper "moderation"), official
    # answers and insights (helper "staff")
    ("GET", "/community/", PUBLIC),
    ("GET", "/community/?sort=unanswered&service=library-loans&page=2", PUBLIC),
    ("GET", "/community/?topic=moving&sort=votes", PUBLIC),
    ("GET", "/community/?service=no-such-thing", dict.fromkeys(ROLES, 404)),
    ("GET", "/community/ask", RESIDENT_ONLY),
    ("POST", "/community/ask", only(RESIDENT_ONLY, 400)),  # empty: errors
    ("GET", "/community/similar", PUBLIC),
    ("GET", "/community/similar?q=転入届", PUBLIC),
    ("GET", "/community/questions/{community_question_id}", PUBLIC),
    ("GET", "/community/questions/999999", dict.fromkeys(ROLES, 404)),
    ("POST", "/community/questions/{community_question_id}/answer", only(RESIDENT_ONLY, 400)),
    ("POST", "/community/questions/{community_question_id}/follow", only(RESIDENT_ONLY, 302)),
    ("POST", "/community/questions/{community_question_id}/unfollow",
     only(RESIDENT_ONLY, 302)),
    # not the asker, not the author: a flashed refusal and back to the question
    ("POST", "/community/questions/{community_question_id}/unaccept",
     only(RESIDENT_ONLY, 302)),
    ("POST", "/community/posts/{community_answer_id}/accept", only(RESIDENT_ONLY, 302)),
    ("GET", "/community/posts/{community_answer_id}/edit", only(RESIDENT_ONLY, 302)),
    ("POST", "/community/posts/{community_answer_id}/edit", only(RESIDENT_ONLY, 302)),
    ("POST", "/community/posts/{community_answer_id}/delete", only(RESIDENT_ONLY, 302)),
    ("POST", "/community/posts/999999/delete", {**only(RESIDENT_ONLY, 404)}),
    ("POST", "/community/posts/{community_answer_id}/vote/up", only(RESIDENT_ONLY, 302)),
    ("POST", "/community/posts/{community_answer_id}/vote/down", only(RESIDENT_ONLY, 302)),
    ("POST", "/community/posts/{community_answer_id}/vote/withdraw", only(RESIDENT_ONLY, 302)),
    ("GET", "/community/posts/{community_answer_id}/revisions", PUBLIC),
    ("GET", "/community/posts/999999/revisions", dict.fromkeys(ROLES, 404)),
    ("GET", "/community/name", RESIDENT_ONLY),
    ("POST", "/community/name", only(RESIDENT_ONLY, 302)),
    # moderation: anyone signed in reports a post (an empty report: refused, back to the
    # question); the queue, members and topics for managers, admins and staff given the
    # moderator permission (the staff user here has not got it: 403)
    ("POST", "/community/posts/{community_answer_id}/flag", dict.fromkeys(ROLES, 302)),
    ("GET", "/admin/community/moderation", MANAGERS),
    # empty decisions: refused with a message (not pending / not hidden / no reason)
    ("POST", "/admin/community/posts/{community_answer_id}/approve", only(MANAGERS, 302)),
    ("POST", "/admin/community/posts/{community_answer_id}/restore", only(MANAGERS, 302)),
    ("POST", "/admin/community/posts/{community_answer_id}/hide", only(MANAGERS, 302)),
    ("POST", "/admin/community/posts/{community_answer_id}/delete", only(MANAGERS, 302)),
    ("GET", "/admin/community/members/{resident_user_id}", MANAGERS),
    ("POST", "/admin/community/members/{resident_user_id}/silence", only(MANAGERS, 400)),
    ("POST", "/admin/community/members/{resident_user_id}/unsilence", only(MANAGERS, 302)),
    ("GET", "/admin/community/members/{staff_id}", only(MANAGERS, 404)),  # residents only
    ("GET", "/admin/community/topics", MANAGERS),
    ("GET", "/admin/community/topics/new", MANAGERS),
    ("POST", "/admin/community/topics/new", MANAGERS),  # empty: shown again with errors
    ("GET", "/admin/community/topics/{topic_id}", MANAGERS),
    ("POST", "/admin/community/topics/{topic_id}", only(MANAGERS, 302)),  # unchanged: saved
    # official answers (helper "staff"): staff of a tagged service's department, managers
    # and admins (another department's staff: 403, in tests/test_community_official.py);
    # {community_answer_id} is a resident's answer, not an official one: 404
    ("POST", "/community/questions/{community_question_id}/official",
     only(RECORDS, 400)),  # empty form: shown again with errors
    ("POST", "/community/questions/999999/official", only(RECORDS, 404)),
    ("GET", "/community/posts/{community_answer_id}/official", only(RECORDS, 404)),
    ("POST", "/community/posts/{community_answer_id}/official", only(RECORDS, 404)),
    ("POST", "/community/posts/{community_answer_id}/reviewed", only(RECORDS, 404)),
    # FAQ ({faq_id}: a library entry, {other_faq_id}: a health entry, {synonym_id}) —
    # helper "faq"; the public FAQ needs no account, the console is for those who edit
    # entries (staff: their own department's — another's is 403)
    ("GET", "/faq/", PUBLIC),
    ("GET", "/faq/?service=library-loans", PUBLIC),
    ("GET", "/faq/?department=library", PUBLIC),
    ("GET", "/faq/?q=ごみ", PUBLIC),
    ("GET", "/faq/?service=no-such-service", dict.fromkeys(ROLES, 404)),
    ("GET", "/faq/{faq_id}", PUBLIC),
    ("GET", "/faq/999999", dict.fromkeys(ROLES, 404)),
    ("GET", "/admin/faq/", BUILDERS),
    ("GET", "/admin/faq/?review=due&service=library-loans", BUILDERS),
    ("GET", "/admin/faq/new", BUILDERS),
    ("POST", "/admin/faq/new", only(BUILDERS, 400)),  # empty form: shown again with errors
    # not an accepted or official answer: refused with a message
    ("GET", "/admin/faq/new?from_post={community_answer_id}", only(BUILDERS, 302)),
    ("GET", "/admin/faq/{faq_id}", BUILDERS),
    ("POST", "/admin/faq/{faq_id}", only(BUILDERS, 400)),  # empty form: errors
    ("GET", "/admin/faq/{other_faq_id}", {**BUILDERS, "staff": 403}),
    ("POST", "/admin/faq/{other_faq_id}", {**only(BUILDERS, 400), "staff": 403}),
    ("POST", "/admin/faq/{faq_id}/review", only(BUILDERS, 302)),
    ("POST", "/admin/faq/{other_faq_id}/review", {**only(BUILDERS, 302), "staff": 403}),
    ("POST", "/admin/faq/{faq_id}/archive", only(BUILDERS, 302)),
    ("POST", "/admin/faq/{other_faq_id}/archive", {**only(BUILDERS, 302), "staff": 403}),
    ("POST", "/admin/faq/{faq_id}/restore", only(BUILDERS, 302)),  # not archived: a message
    ("POST", "/admin/faq/{other_faq_id}/restore", {**only(BUILDERS, 302), "staff": 403}),
    ("GET", "/admin/faq/{faq_id}/versions", BUILDERS),
    ("GET", "/admin/faq/{other_faq_id}/versions", {**BUILDERS, "staff": 403}),
    # the factory's entries have no stored version (tests/test_faq_console.py shows one)
    ("GET", "/admin/faq/{faq_id}/versions/1", only(BUILDERS, 404)),
    ("GET", "/admin/faq/{other_faq_id}/versions/1", {**only(BUILDERS, 404), "staff": 403}),
    ("GET", "/admin/faq/synonyms", BUILDERS),
    ("GET", "/admin/faq/synonyms/new", BUILDERS),
    ("POST", "/admin/faq/synonyms/new", only(BUILDERS, 400)),  # no terms: refused
    ("GET", "/admin/faq/synonyms/{synonym_id}", BUILDERS),
    ("POST", "/admin/faq/synonyms/{synonym_id}", only(BUILDERS, 400)),  # no terms
    ("POST", "/admin/faq/synonyms/{synonym_id}/delete", only(BUILDERS, 302)),
    ("GET", "/admin/faq/synonyms/999999", only(BUILDERS, 404)),
    # search (helper "search"): public; an empty query, no results, a too-long query
    # (pages with results are in tests/test_search.py: they link to the question pages)
    ("GET", "/community/search", PUBLIC),
    ("GET", "/community/search?q=zzzqqq&kind=faq&service=library-loans", PUBLIC),
    ("GET", "/community/search?q=" + "x" * 201, PUBLIC),
]


@pytest.fixture
def record(catalogue):
    from tests import factories

    return factories.resident()


@pytest.fixture
def surveys(catalogue):
    """A library survey with one question (the staff member's department) and a
    health survey."""
    from portal.extensions import db
    from portal.surveys.models import Question, Survey

    own = Survey(department_id=catalogue["library"].id, title_en="Library survey")
    own.questions.append(Question(key="q1", type="csat", text_en="How was it?"))
    own.questions.append(Question(key="q2", type="long_text", text_en="Anything else?"))
    other = Survey(department_id=catalogue["health"].id, title_en="Health survey")
    db.session.add_all([own, other])
    db.session.flush()
    return own, other


@pytest.fixture
def inquiries(catalogue):
    """A library inquiry (the staff member's department) and a health one."""
    from portal.extensions import db
    from tests.inquiry_factories import inquiry

    own, other = inquiry(service="library-loans"), inquiry(service="cancer-screening")
    db.session.flush()
    return own, other


@pytest.fixture
def work_items(catalogue, users):
    """A library playbook with an open case and a task (the staff member's
    department), the same for health, and a library message template."""
    from datetime import date

    from portal.extensions import db
    from portal.playbooks.models import Case
    from portal.work.models import Task
    from tests import factories
    from tests.playbook_factories import playbook, template

    items = {"template_id": template(catalogue["library"]).id}
    for prefix, department, slug in (("", "library", "library-loans"),
                                     ("other_", "health", "cancer-screening")):
        book = playbook(catalogue[department], service=slug)
        resident = factories.resident()
        case = Case(playbook_id=book.id, playbook_version=1, resident_id=resident.id,
                    service_id=book.service_id, service_key=book.service_id)
        db.session.add(case)
        db.session.flush()
        task = Task(case_id=case.id, step=0, resident_id=resident.id,
                    department_id=catalogue[department].id, title_ja="電話", title_en="Call",
                    due_on=date.today())
        db.session.add(task)
        db.session.flush()
        items.update({f"{prefix}playbook_id": book.id, f"{prefix}case_id": case.id,
                      f"{prefix}task_id": task.id})
    return items


@pytest.fixture
def community_items(catalogue, make_user):
    """Another resident's library question, a third resident's answer, a topic, a
    library FAQ entry and a health one, and a synonym group."""
    from portal.extensions import db
    from portal.faq.models import SynonymGroup
    from tests.community_factories import answer, faq_entry, question, topic

    asker, answerer = make_user("resident"), make_user("resident")
    asked = question(asker)
    answered = answer(asked, answerer)
    synonyms = SynonymGroup(terms="子ども手当\n児童手当")
    db.session.add(synonyms)
    db.session.flush()
    return {"community_question_id": asked.id, "community_answer_id": answered.id,
            "topic_id": topic().id,
            "faq_id": faq_entry(catalogue["library"], services=("library-loans",)).id,
            "other_faq_id": faq_entry(catalogue["health"], services=("cancer-screening",)).id,
            "synonym_id": synonyms.id}


COMMUNITY_KEYS = ("community_question_id", "community_answer_id", "topic_id", "faq_id",
                  "other_faq_id", "synonym_id")


def expand(path: str, users, record, surveys=None, inquiries=None, work_items=None,
           community_items=None) -> str:
    from sqlalchemy import select

    from portal.extensions import db
    from portal.residents.models import District

    district_id = db.session.scalar(select(District.id).order_by(District.id).limit(1))
    own, other = surveys or (None, None)
    own_inquiry, other_inquiry = inquiries or (None, None)
    return path.format(inquiry_id=own_inquiry.id if own_inquiry else 0,
                       other_inquiry_id=other_inquiry.id if other_inquiry else 0,
                       staff_id=users["staff"].id, resident_id=record.id,
                       resident_user_id=users["resident"].id, district_id=district_id,
                       survey_id=own.id if own else 0, other_survey_id=other.id if other else 0,
                       question_id=own.questions[0].id if own else 0,
                       text_question_id=own.questions[1].id if own else 0,
                       service_code="LIB-001", missing="no-such-thing",
                       **(work_items or dict.fromkeys(
                           ("playbook_id", "other_playbook_id", "case_id", "other_case_id",
                            "task_id", "other_task_id", "template_id"), 0)),
                       **(community_items or dict.fromkeys(COMMUNITY_KEYS, 0)))


# routes that call the engine's code (``portal.playbooks.evaluation.dry_run``, the
# evaluation job): they run once the engine's part is merged (helper "console")
ENGINE_TABLE: list[tuple[str, str, dict]] = [
    ("GET", "/admin/playbooks/{playbook_id}/dry-run", RECORDS),
    ("GET", "/admin/playbooks/{other_playbook_id}/dry-run", {**RECORDS, "staff": 404}),
    ("GET", "/admin/playbooks/999999/dry-run", only(RECORDS, 404)),
    ("POST", "/admin/playbooks/evaluate", only(MANAGERS, 302)),
]


@pytest.mark.parametrize("method, path, expected", ENGINE_TABLE,
                         ids=[f"{m} {p}" for m, p, _ in ENGINE_TABLE])
@pytest.mark.parametrize("role", ROLES, ids=[r or "anonymous" for r in ROLES])
def test_engine_route_access(role_client, users, record, surveys, inquiries, work_items,
                             method, path, expected, role):
    pytest.importorskip("portal.playbooks.evaluation")
    pytest.importorskip("portal.playbooks.jobs")
    client = role_client(role)
    response = client.open(expand(path, users, record, surveys, inquiries, work_items),
                           method=method)
    assert response.status_code == expected[role]


@pytest.mark.parametrize("method, path, expected", TABLE,
                         ids=[f"{m} {p}" for m, p, _ in TABLE])
@pytest.mark.parametrize("role", ROLES, ids=[r or "anonymous" for r in ROLES])
def test_route_access(role_client, users, record, surveys, inquiries, work_items,
                      community_items, method, path, expected, role):
    client = role_client(role)
    response = client.open(expand(path, users, record, surveys, inquiries, work_items,
                                  community_items), method=method)
    assert response.status_code == expected[role]


def test_every_route_is_in_the_table(app):
    """A new route without a row here fails this test."""
    covered = {(method, pattern(path)) for method, path, _ in TABLE + ENGINE_TABLE}
    elsewhere = {"/static/*", "/account/logout", "/account/reset-password/*",
                 "/account/register/finish/*",
                 "/account/invitation/*",
                 "/surveys/i/*"}  # tested in their own modules (token URLs)
    missing = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            shape = pattern(rule.rule)
            if (method, shape) not in covered and shape not in elsewhere:
                missing.append(f"{method} {rule.rule}")
    assert missing == []


def pattern(path: str) -> str:
    """A path with each variable part (``<x>``, ``{x}``, or a concrete value in a
    position the URL map marks variable) replaced by ``*``."""
    import re

    path = re.sub(r"<[^>]+>|\{[^}]+\}", "*", path)
    path = re.sub(r"/\d+(?=/|\.|$)", "/*", path)
    path = re.sub(r"\.(xml|json)$", ".*", path)  # Open311: the format is a variable part
    for fixed in ("library-loans", "cancer-screening", "library"):
        path = path.replace(f"/{fixed}/", "/*/").removesuffix(f"/{fixed}") + (
            "/*" if path.endswith(f"/{fixed}") else "")
    return path


def test_console_pages_share_the_access_rule(tmp_path):
    """The permission that guards a route also hides its link (same function)."""
    from portal.permissions import REGISTRY

    assert {"access_console", "manage_accounts", "view_audit_log"} <= set(REGISTRY)
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": "sqlite://",
                                 "INSTANCE_PATH": str(tmp_path)})
    assert app.jinja_env.globals["can"].__module__ == "portal.permissions"
