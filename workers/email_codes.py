"""RQ job: mail a one-time code (external assignees, dashboard sign-in)."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

from workers.context import services
from workers.smtp import SmtpConfig, send


def code_message(sender: str, to: str, code: str, context: dict[str, Any]) -> EmailMessage:
    """The email for `code`; `context` has `purpose` ("task"/"login"), `title`, `minutes`."""
    message = EmailMessage()
    message["From"], message["To"] = sender, to
    what = (f"to open the task \u201c{context.get('title', '')}\u201d"
            if context.get("purpose") == "task" else "to sign in to the inloop dashboard")
    message["Subject"] = f"Your inloop code: {code}"
    minutes = context.get("minutes", 10)
    message.set_content(
        f"Your one-time code {what} is:\n\n    {code}\n\n"
        f"It works once and expires in {minutes} minutes. If you did not ask for it, "
        "ignore this email.\n")
    return message


def send_code(to: str, code: str, context: dict[str, Any]) -> None:
    settings = services().settings
    if not settings.smtp_url:
        raise RuntimeError("INLOOP_SMTP_URL is not set: cannot send email codes")
    send(SmtpConfig.from_url(settings.smtp_url), code_message(settings.smtp_from, to, code,
                                                               context))
