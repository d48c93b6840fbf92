"""Email sink: a summary of the answers with the PDF attached, or the reason it ended."""

from __future__ import annotations

import html
import re
import smtplib
import time
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formatdate

from api.domain.errors import SmtpUrlError
from api.domain.events import Attempt, event_kind
from api.domain.task import EmailSink, Task
from api.settings import Settings
from api.store.files import LocalFileStorage, signature_images
from renderers.pdf import task_pdf
from renderers.values import display_value
from workers.sinks.base import SinkCall, elapsed_ms
from workers.smtp import SmtpConfig, send

SUBJECTS = {"completed": "Completed", "cancelled": "Cancelled", "failed": "Failed",
            "responded": "Response"}
# Characters of answers in the body (encoding a 1 MB body took about a second); the PDF
# shows more, the task's data all.
MAX_SUMMARY = 100_000
CUT = "\n… The answers go on: all of them are in the task's data (the API and the dashboard)."
Sender = Callable[[SmtpConfig, EmailMessage], None]
# Control characters and what Python reads as a line break: a header may hold none (the
# title may hold any).
_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def summary(task: Task) -> str:
    """`Label: answer` lines for every field of a completed task, cut at `MAX_SUMMARY`."""
    text = "\n".join(f"{field.label}: {display_value(field, task.data.get(field.name))}"
                     for field in task.fields())
    return text if len(text) <= MAX_SUMMARY else text[:MAX_SUMMARY] + CUT


def ending_text(task: Task, event: str) -> str:
    if event_kind(event) == "responded":
        response = task.responses[int(event.partition(":")[2]) - 1]
        decision = f" ({response.decision})" if response.decision else ""
        return f"{response.by.name} responded{decision}."
    if event == "completed":
        by = f" by {task.completed_by.name}" if task.completed_by else ""
        return f"The task was completed{by}.\n\n{summary(task)}"
    if event == "cancelled":
        return f"The task was cancelled. Reason: {task.cancel_reason or 'none given'}"
    reasons = "; ".join(e.message for e in task.errors) or "unknown"
    return f"The task failed: {reasons}"


def email_message(task: Task, event: str, *, sender: str, to: str, event_id: str,
                  pdf: bytes | None = None) -> EmailMessage:
    """The email for a task's end; its Message-ID is the event id, for deduplication."""
    message = EmailMessage()
    message["Subject"] = _BREAKS.sub(" ", f"{SUBJECTS[event_kind(event)]}: {task.title}")
    message["From"], message["To"] = sender, to
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = f"<{event_id}@inloop>"
    text = f"{task.title}\n\n{ending_text(task, event)}\n\nTask {task.task_id}\n"
    message.set_content(text)
    message.add_alternative(f"<pre>{html.escape(text)}</pre>", subtype="html")
    if pdf is not None:
        message.add_attachment(pdf, maintype="application", subtype="pdf",
                               filename=f"task-{task.task_id}.pdf")
    return message


class EmailTransport:
    """Mails over the settings' SMTP URL. `deliver` is the I/O seam (one message to one
    server); `storage` holds the signatures a completed task's PDF shows."""

    def __init__(self, settings: Settings, *, deliver: Sender = send,
                 storage: LocalFileStorage | None = None) -> None:
        self.settings = settings
        self.deliver = deliver
        self.storage = storage or LocalFileStorage(settings.files_dir)

    def send(self, call: SinkCall) -> Attempt:
        """One attempt; a permanent SMTP refusal (5xx) is final, anything else (a 4xx such
        as greylisting, a connection failure) is retried."""
        assert isinstance(call.sink, EmailSink)  # the registry routes by sink type
        started = time.monotonic()
        if not self.settings.smtp_url:
            return Attempt(False, 0, error="INLOOP_SMTP_URL is not set")
        try:
            config = SmtpConfig.from_url(self.settings.smtp_url)
        except SmtpUrlError as error:  # its text never quotes the URL and its password
            return Attempt(False, 0, error=str(error))
        return _deliver(self.deliver, config, self._message(call, str(call.sink.to)), started)

    def _message(self, call: SinkCall, to: str) -> EmailMessage:
        pdf = None
        if call.event == "completed":
            pdf = task_pdf(call.task, images=signature_images(self.storage, call.task))
        return email_message(call.task, call.event, sender=self.settings.smtp_from, to=to,
                             event_id=call.event_id, pdf=pdf)


def _deliver(deliver: Sender, config: SmtpConfig, message: EmailMessage,
             started: float) -> Attempt:
    try:
        deliver(config, message)
    except smtplib.SMTPRecipientsRefused as error:
        return refused(error, elapsed_ms(started))
    except smtplib.SMTPResponseException as error:
        return Attempt(False, elapsed_ms(started), status_code=error.smtp_code,
                       error=f"SMTP {error.smtp_code}", final=error.smtp_code >= 500)
    except (smtplib.SMTPException, OSError) as error:
        return Attempt(False, elapsed_ms(started), error=f"SMTP failed: {error}"[:300])
    return Attempt(True, elapsed_ms(started), status_code=250)


def refused(error: smtplib.SMTPRecipientsRefused, latency_ms: float) -> Attempt:
    """Final only when every recipient was refused for good (5xx); 421/450/451/452
    (greylisting, a full mailbox, a busy server) are worth another try."""
    codes = [code for code, _message in error.recipients.values()]
    return Attempt(False, latency_ms, status_code=max(codes, default=None),
                   error=f"refused: {error.recipients}"[:300],
                   final=bool(codes) and min(codes) >= 500)
