"""Post a task to Slack and keep its messages up to date (run by `workers.slack`).

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
from typing import Any, NoReturn

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from api.domain.errors import SlackRateLimited
from api.domain.task import DeliveryProblem, ExternalMessage, Task
from api.runtime import Services
from api.store.slack import SlackState
from api.store.tasks import TaskStore
from renderers.slack_message import outcome_message, task_message

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


class Delivery:
    def __init__(self, services: Services, client: WebClient) -> None:
        self.store = services.store
        self.state = SlackState(services.redis)
        self.client = client

    def deliver(self, ref: str) -> str:
        """Post the task to its assignee's DM and/or its channel."""
        task = self.store.load(ref)
        if task.status != "pending":
            return f"not delivered: the task is {task.status}"
        targets = [("email", task.assignee_email), ("channel", task.slack_channel)]
        for kind, target in targets:
            if target and not self.state.was_sent(ref, f"{kind}:{target}"):
                self._deliver_one(task, kind, target)
        return "delivered"

    def _deliver_one(self, task: Task, kind: str, target: str) -> None:
        try:
            channel = self._dm_channel(task, target) if kind == "email" else target
            message = task_message(task, in_channel=kind == "channel")
            posted = self.client.chat_postMessage(channel=channel, **message)
        except SlackApiError as error:
            problem = problem_for(error, target)
            if problem is None:
                _reraise(error)
            record_problem(self.store, task.ref, *problem)
        else:
            self._record_message(task.ref, str(posted["channel"]), str(posted["ts"]))
        self.state.mark_sent(task.ref, f"{kind}:{target}")

    def _dm_channel(self, task: Task, email: str) -> str:
        user = self.client.users_lookupByEmail(email=email)["user"]
        self.state.record_assignee(task, user["id"])
        opened = self.client.conversations_open(users=user["id"])
        return str(opened["channel"]["id"])

    def _record_message(self, ref: str, channel: str, ts: str) -> None:
        task = self.store.update(ref, lambda t: t.external_message_ids.append(
            ExternalMessage(channel=channel, ts=ts)))
        if task.status != "pending":  # ended while we posted: no update job will come
            self._update_one(task, ExternalMessage(channel=channel, ts=ts))

    def update_messages(self, ref: str) -> str:
        """Show the outcome on every Slack message of an ended task; no buttons left."""
        task = self.store.load(ref)
        if task.status == "pending":
            return "pending: nothing to update"
        for message in task.external_message_ids:
            self._update_one(task, message)
        return f"updated {len(task.external_message_ids)} messages"

    def _update_one(self, task: Task, message: ExternalMessage) -> None:
        content: dict[str, Any] = outcome_message(task)
        try:
            self.client.chat_update(channel=message.channel, ts=message.ts, **content)
        except SlackApiError as error:
            if error.response.get("error") not in GONE_ERRORS:
                _reraise(error)
            log.warning("cannot update Slack message %s/%s of task %s: %s", message.channel,
                        message.ts, task.ref, error.response.get("error"))
