"""Outgoing e-mail through the SMTP settings. Without SMTP, nothing is sent (see `reset-link`)."""

import logging
import smtplib
from email.message import EmailMessage

from app.config import get_settings

log = logging.getLogger(__name__)


def smtp_configured() -> bool:
    return bool(get_settings().smtp_host)


def send_mail(*, to: str, subject: str, body: str) -> bool:
    settings = get_settings()
    if not settings.smtp_host:
        log.info("SMTP is not configured; mail to a user was not sent")
        return False
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_username:
                smtp.login(settings.smtp_username, settings.smtp_password or "")
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException):
        # The person sees the same answer either way; the operator sees the failure.
        log.exception("sending mail failed")
        return False
    return True
