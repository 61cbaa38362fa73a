"""The resident's side: surveys waiting on My page, the answering form (signed in
or by an invitation link), the thank-you page; and staff entry of paper/phone
responses and the preview, which render the same form."""

from portal.surveys import admin_bp, bp  # noqa: F401
