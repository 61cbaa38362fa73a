"""Where an outbound e-mail goes: SMTP when configured, otherwise a file sink
(one ``.eml`` file per message in ``PORTAL_MAIL_SINK_DIR``), echoed to the console
in development."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from flask import current_app

from portal.mail.models import OutboundMessage

log = logging.getLogger("portal.mail")


def build_email(message: OutboundMessage) -> EmailMessage:
    email = EmailMessage()
    email["From"] = current_app.config["MAIL_SENDER"]
    email["To"] = message.to_address
    email["Subject"] = message.subject
    email["Date"] = formatdate(localtime=False)
    email["Message-ID"] = make_msgid(idstring=f"outbox-{message.id}")
    email["Content-Language"] = message.locale
    email.set_content(message.body_text)
    return email


def deliver(message: OutboundMessage) -> None:
    """Send one message or raise; the caller records the outcome."""
    config = current_app.config
    email = build_email(message)
    if config["SMTP_HOST"]:
        with smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"],
                          timeout=config["SMTP_TIMEOUT"]) as smtp:
            if config["SMTP_STARTTLS"]:
                smtp.starttls()
            if config["SMTP_USERNAME"]:
                smtp.login(config["SMTP_USERNAME"], config["SMTP_PASSWORD"] or "")
            smtp.send_message(email)
        return
    folder = Path(config["MAIL_SINK_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{message.created_at:%Y%m%dT%H%M%S}-{message.id}.eml"
    path.write_bytes(email.as_bytes())
    if config["ENV_NAME"] == "development":
        # Development only: the console is the developer's inbox.
        log.warning("e-mail to %s: %s\n%s\n(saved to %s)",
                    message.to_address, message.subject, message.body_text, path)
    else:
        log.info("e-mail %s written to the file sink", message.id)
