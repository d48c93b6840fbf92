"""Post a task to Slack and keep its messages up to date (run by `workers.slack`).

Each assignee Slack knows (looked up by email) gets a DM of their own, and a channel task
a message in its channel; every message is recorded with its reader (api.store.slack), so
after each response, claim or reassignment each one is rendered again for its reader.

Problems Slack will not fix by itself (unknown user, unknown channel, revoked token, a
message it refuses) are recorded on the task, which stays pending at its web link;
anything else raises, so RQ retries the job (a 429 that outlasts the client's retries as
`SlackRateLimited`, retried after Slack's Retry-After), and once RQ gives up the job's failure
callback records a problem (`workers.slack.on_failure`). A target is settled once it is
posted or its problem is recorded, and a retried job skips settled targets, so another
target's temporary error neither reposts nor records a problem twice. That is not exactly
once: a worker dying after `chat.postMessage` returned (or a problem was recorded) and
before the target is marked settled leaves a retry that posts (or records) it again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, NoReturn

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from api.domain.approval import Assignee
from api.domain.errors import SlackRateLimited
from api.domain.task import DeliveryProblem, ExternalMessage, Task
from api.runtime import Services
from api.store.slack import SlackMessage, SlackState
from api.store.tasks import TaskStore
from api.store.timers import mail_links
from renderers.slack_message import outcome_message, task_message
from renderers.slack_team import Audience, assignees_of, display_name
from renderers.slack_threads import progress_text

log = logging.getLogger(__name__)
AUTH_ERRORS = frozenset({"invalid_auth", "not_authed", "token_revoked", "token_expired",
                         "account_inactive", "missing_scope", "no_permission",
                         "not_allowed_token_type", "access_denied", "ekm_access_denied",
                         "team_access_not_granted", "org_login_required",
                         "enterprise_is_restricted", "two_factor_setup_required"})
CHANNEL_ERRORS = frozenset({"channel_not_found", "not_in_channel", "is_archived",
                            "channel_is_archived", "restricted_action",
                            "restricted_action_read_only_channel",
                            "restricted_action_thread_only_channel",
                            "restricted_action_non_threadable_channel",
                            "method_not_supported_for_channel_type", "team_not_found"})
USER_ERRORS = frozenset({"user_not_found", "user_not_visible", "user_disabled",
                         "cannot_dm_bot", "is_bot", "user_is_restricted"})
# Slack refuses the message itself: posting it again would fail the same way.
MESSAGE_ERRORS = frozenset({"invalid_blocks", "invalid_blocks_format", "msg_too_long",
                            "msg_blocks_too_long", "no_text", "too_many_attachments",
                            "invalid_attachments", "invalid_arguments", "invalid_arg_name",
                            "invalid_array_arg", "invalid_charset", "invalid_form_data",
                            "invalid_post_type", "missing_post_type", "invalid_metadata_format",
                            "metadata_too_large", "method_deprecated", "deprecated_endpoint",
                            "unknown_method"})
UNREACHABLE = frozenset({"slack_user_not_found", "slack_user_unreachable"})
GONE_ERRORS = frozenset({"message_not_found", "cant_update_message", "edit_window_closed",
                         *CHANNEL_ERRORS, *AUTH_ERRORS})


def _reraise(error: SlackApiError) -> NoReturn:
    """A 429 as `SlackRateLimited` (with Slack's Retry-After), anything else as it is."""
    if error.response.status_code != 429:
        raise error
    headers = {k.lower(): v for k, v in (error.response.headers or {}).items()}
    found = headers.get("retry-after")
    value = str((found[0] if isinstance(found, list) else found) or "")
    raise SlackRateLimited(int(value) if value.isdigit() else 1) from error


def problem_for(error: SlackApiError, target: str) -> tuple[str, str] | None:
    """(code, message) for a lasting delivery problem; None for one worth retrying."""
    code = str(error.response.get("error", ""))
    if code == "users_not_found":
        return "slack_user_not_found", f"No Slack user has the email {target}."
    if code in USER_ERRORS:
        return "slack_user_unreachable", f"Cannot send a Slack DM to {target} ({code})."
    if code in CHANNEL_ERRORS:
        return "slack_channel_not_found", f"Cannot post in Slack channel {target} ({code})."
    if code in AUTH_ERRORS:
        return "slack_auth_failed", f"Slack refused the bot token ({code})."
    if code in MESSAGE_ERRORS:
        return "slack_message_rejected", f"Slack refused the task's message ({code})."
    return None


def record_problem(store: TaskStore, ref: str, code: str, message: str) -> None:
    """A delivery problem shown on the task (`delivery_problems`)."""
    log.warning("Slack delivery of task %s failed: %s", ref, message)
    now = store.clock()
    store.update(ref, lambda t: t.delivery_problems.append(
        DeliveryProblem(code=code, message=message, at=now)))


@dataclass(frozen=True)
class Target:
    """Where a task goes: an assignee's DM (found by email) or a channel. `settled` names
    it in the task's settled set."""

    settled: str
    address: str
    assignee: Assignee | None = None


class Delivery:
    def __init__(self, services: Services, client: WebClient) -> None:
        self.store = services.store
        self.directory = services.directory
        self.state = SlackState(services.redis)
        self.client = client
        self.redis, self.jobs = services.redis, services.jobs
        self.mail = bool(services.settings.smtp_url)

    def deliver(self, ref: str) -> str:
        """Post the task to each assignee's DM and/or its channel (each target once)."""
        task = self.store.load(ref)
        if not task.open:
            return f"not delivered: the task is {task.status}"
        posted = self.deliver_new(task)
        if _shown(self.store.load(ref)) != _shown(task):  # answered while we posted
            self.update_messages(ref)
        return f"delivered to {posted} targets"

    def deliver_new(self, task: Task) -> int:
        """Post to the targets not settled yet (new assignees after a reassign or an
        escalation too); how many were tried."""
        targets = [t for t in self.targets(task)
                   if not self.state.was_sent(task.ref, t.settled)]
        creator = self.creator(task)
        for target in targets:
            self._deliver_one(task, target, creator)
        return len(targets)

    def targets(self, task: Task) -> list[Target]:
        """Every assignee with an email Slack can look up, then the channel."""
        found = [Target(f"assignee:{a.key}", email, a) for a in assignees_of(task)
                 if (email := a.email or self._member_email(task, a))]
        if task.slack_channel:
            found.append(Target(f"channel:{task.slack_channel}", task.slack_channel))
        return found

    def _member_email(self, task: Task, assignee: Assignee) -> str | None:
        member = self.directory.find_member(task.org_id, assignee.member_id or "") \
            if assignee.member_id else None
        return member.email if member else None

    def creator(self, task: Task) -> str | None:
        """The creator's name for "From:" (None once the member is gone: the id shows)."""
        member = self.directory.find_member(task.org_id, task.created_by)
        return member.name if member and member.name.strip() else None

    def _deliver_one(self, task: Task, target: Target, creator: str | None) -> None:
        try:
            message = self._post(task, target, creator)
        except SlackApiError as error:
            problem = problem_for(error, target.address)
            if problem is None:
                _reraise(error)
            record_problem(self.store, task.ref, *problem)
            self._mail_instead(task, target, problem[0])
        else:
            self._record_message(task.ref, message, creator)
        self.state.mark_sent(task.ref, target.settled)

    def _mail_instead(self, task: Task, target: Target, problem: str) -> None:
        """A team's member Slack cannot reach gets the task's link by email (SMTP set);
        external assignees were mailed when the task was created."""
        assignee = target.assignee
        if not (self.mail and task.team and assignee and assignee.member_id
                and problem in UNREACHABLE):
            return
        with self.redis.pipeline() as pipe:
            mail_links(self.jobs, pipe, task.ref, [target.address], "assigned")
            pipe.execute()

    def _post(self, task: Task, target: Target, creator: str | None) -> SlackMessage:
        if target.assignee is None:
            content = task_message(task, Audience(creator=creator, channel=True))
            posted = self.client.chat_postMessage(channel=target.address, **content)
            return SlackMessage(str(posted["channel"]), str(posted["ts"]))
        user = str(self.client.users_lookupByEmail(email=target.address)["user"]["id"])
        self.state.record_assignee(task, user, target.assignee.key)
        channel = str(self.client.conversations_open(users=user)["channel"]["id"])
        audience = Audience(assignee=target.assignee.key, user=user, creator=creator)
        posted = self.client.chat_postMessage(channel=channel, **task_message(task, audience))
        return SlackMessage(str(posted["channel"]), str(posted["ts"]), target.assignee.key,
                            user)

    def _record_message(self, ref: str, message: SlackMessage, creator: str | None) -> None:
        self.state.record_message(ref, message)
        task = self.store.update(ref, lambda t: t.external_message_ids.append(
            ExternalMessage(channel=message.channel, ts=message.ts)))
        if not task.open:  # ended while we posted: no update job will come
            self._update_one(task, message, creator)

    def messages(self, task: Task) -> list[SlackMessage]:
        """Every message of the task: the recorded ones, and those posted before messages
        were recorded (shown to whoever reads them)."""
        recorded = self.state.messages(task.ref)
        known = {(m.channel, m.ts) for m in recorded}
        return recorded + [SlackMessage(m.channel, m.ts) for m in task.external_message_ids
                           if (m.channel, m.ts) not in known]

    def update_messages(self, ref: str) -> str:
        """Bring every Slack message of the task up to date (progress, claim, outcome),
        with a note per new response in each channel message's thread."""
        task = self.store.load(ref)
        self._progress_notes(task)
        creator = self.creator(task)
        messages = self.messages(task)
        for message in messages:
            self._update_one(task, message, creator)
        return f"updated {len(messages)} messages"

    def _progress_notes(self, task: Task) -> None:
        channels = [m for m in self.messages(task) if m.assignee is None]
        names = {a.key: display_name(a) for a in task.assignees}
        for index, response in enumerate(task.responses):
            name = names.get(response.assignee or "", response.by.name)
            then = task.model_copy(update={"responses": task.responses[:index + 1]})
            for message in channels:
                self.reply_once(task, message, progress_text(then, response, name),
                                f"response:{index}")

    def reply_once(self, task: Task, message: SlackMessage, text: str, token: str) -> bool:
        """A thread reply under `message`, once per `token` (a retried job skips it);
        whether it was sent now."""
        settled = f"reply:{token}:{message.field}"
        if self.state.was_sent(task.ref, settled):
            return False
        try:
            self.client.chat_postMessage(channel=message.channel, thread_ts=message.ts,
                                         text=text)
        except SlackApiError as error:
            if error.response.get("error") not in GONE_ERRORS:
                _reraise(error)
            log.warning("cannot reply under Slack message %s/%s of task %s: %s",
                        message.channel, message.ts, task.ref, error.response.get("error"))
        self.state.mark_sent(task.ref, settled)
        return True

    def _update_one(self, task: Task, message: SlackMessage, creator: str | None) -> None:
        audience = Audience(message.assignee, message.user, creator, message.moved,
                            channel=message.assignee is None)
        content: dict[str, Any] = outcome_message(task, audience)
        try:
            self.client.chat_update(channel=message.channel, ts=message.ts, **content)
        except SlackApiError as error:
            if error.response.get("error") not in GONE_ERRORS:
                _reraise(error)
            log.warning("cannot update Slack message %s/%s of task %s: %s", message.channel,
                        message.ts, task.ref, error.response.get("error"))


def _shown(task: Task) -> tuple[Any, ...]:
    """What a task's messages show that can change while it is open."""
    return task.status, len(task.responses), task.claimed_by, len(task.assignees)
