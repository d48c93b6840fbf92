"""RQ jobs of team tasks: reminders, the escalation, a claim's automatic release, and the
task's link mailed to an assignee reached only by email. Each job is a no-op once its task
has ended or moved on (api.store.approvals decides, atomically)."""

from __future__ import annotations

from email.message import EmailMessage

from api.domain.approval import HistoryEntry
from api.domain.task import Task
from api.store.history import HistoryLog
from workers.context import services
from workers.smtp import SmtpConfig, send

SUBJECTS = {"assigned": "Your answer is needed", "reminder": "Reminder: your answer is needed",
            "escalated": "Escalated to you", "reassigned": "Reassigned to you"}


def remind(ref: str, n: int) -> str:
    task = services().approvals.team.remind(ref, n)
    return f"reminder {n} sent" if task is not None else "nothing to remind"


def escalate(ref: str) -> str:
    task = services().approvals.escalate(ref)
    return "escalated" if task is not None else "ended or already escalated"


def release(ref: str, claimed_at_us: int) -> str:
    task = services().approvals.team.auto_release(ref, claimed_at_us)
    return "released" if task is not None else "released or ended already"


def link_message(task: Task, sender: str, to: str, kind: str) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"] = sender, to
    title = " ".join(task.title.split())  # a header holds no line break
    message["Subject"] = f"{SUBJECTS.get(kind, SUBJECTS['assigned'])}: {title}"
    message.set_content(f"{SUBJECTS.get(kind, SUBJECTS['assigned'])}:\n\n    {task.title}\n\n"
                        f"Open the task to answer it:\n{task.url}\n")
    return message


def mail_link(ref: str, to: str, kind: str) -> str:
    """Mail the task's link to `to` (SMTP is configured: the store enqueues this only
    then) and note the delivery in the task's history."""
    built = services()
    task = built.store.load(ref)
    if not task.open or not built.settings.smtp_url:
        return "task ended"
    send(SmtpConfig.from_url(built.settings.smtp_url),
         link_message(task, built.settings.smtp_from, to, kind))
    HistoryLog(built.store).add(ref, HistoryEntry(at=built.store.clock(), kind="delivered",
                                                  detail={"channel": "email", "to": to,
                                                          "reason": kind}))
    return "mailed"
