"""Slack jobs (queue "slack"): post a new task, update its messages, and (through
`run_job`: workers.slack_notify) its thread replies, each with the bot token of the
task's org (bot.tokens: its installation, else SLACK_BOT_TOKEN). An org with neither
records `slack_not_connected` on a new task instead.

A 429 that outlasts the client's retries is retried after Slack's Retry-After (the job
returns `rq.Retry`), within the sink retry schedule's number of tries. Whatever else
makes RQ give up is recorded on the task by `on_failure`, so it shows a delivery problem
instead of failing silently in RQ's failed registry.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from redis import Redis
from rq import Retry, get_current_job
from rq.job import Job
from slack_sdk.errors import SlackApiError

from api import logs
from api.domain.errors import SlackRateLimited
from api.domain.task import Task
from api.store.jobs import JOBS
from bot.clients import web_client
from bot.tokens import SlackTokens
from workers.context import services
from workers.slack_delivery import Delivery, record_problem

log = logging.getLogger(__name__)
WHAT = {JOBS["slack.deliver"].path: "post the task",
        JOBS["slack.update"].path: "update the task's messages"}


NOT_CONNECTED = ("slack_not_connected", "No Slack workspace is connected to this "
                 "organisation: an admin connects one under Settings → Slack.")


def _delivery(task: Task) -> Delivery | None:
    found = services()
    token = SlackTokens(found).for_org(task.org_id)
    return Delivery(found, web_client(found.settings, token)) if token else None


def deliver(ref: str) -> str | Retry:
    return run_job(Delivery.deliver, "slack.deliver", ref)


def update_messages(ref: str) -> str | Retry:
    return run_job(Delivery.update_messages, "slack.update", ref)


def run_job(work: Callable[[Delivery, str], str], name: str, ref: str) -> str | Retry:
    """Run a Slack job's work with the token of the task's org; a 429 that outlasts the
    client's retries is retried. Without a token nothing is sent, and a new task records
    `slack_not_connected` (its update and thread jobs have nothing to add). What it logs
    names the task (task_id, corr_id)."""
    task = services().store.load(ref)
    with logs.bind(**logs.task_fields(task)):
        return _run(work, name, ref, _delivery(task))


def _run(work: Callable[[Delivery, str], str], name: str, ref: str,
         delivery: Delivery | None) -> str | Retry:
    if delivery is None:
        if name == "slack.deliver":
            record_problem(services().store, ref, *NOT_CONNECTED)
        return "not sent: the task's org has no Slack token"
    try:
        return work(delivery, ref)
    except SlackRateLimited as limited:
        return _after_rate_limit(delivery, name, ref, limited)


def _after_rate_limit(delivery: Delivery, name: str, ref: str,
                      limited: SlackRateLimited) -> str | Retry:
    policy, job = services().jobs.policy, get_current_job()
    retry = policy.next(name, (job.number_of_retries or 0) + 1, limited.retry_after) \
        if job is not None else None
    if retry is None:
        tries = len(policy.schedule(name)) + 1
        record_problem(delivery.store, ref, "slack_rate_limited",
                       f"Slack kept rate limiting the bot after {tries} tries.")
        return "gave up: rate limited"
    return retry


def on_failure(job: Job, connection: Redis, exc_type: type[BaseException],
               exc_value: BaseException | None = None, *_traceback: Any) -> None:
    """RQ failure callback of Slack jobs (`workers.slack.on_failure`): once RQ has no
    retry left, the failure becomes a delivery problem on the task."""
    if job.retries_left:
        return  # RQ tries again
    what = WHAT.get(job.func_name or "", "deliver the task")
    message = f"Slack could not {what}: {_reason(exc_type, exc_value)}."
    try:
        record_problem(services().store, str(job.args[0]), "slack_delivery_failed", message)
    except Exception:  # RQ's own bookkeeping must go on
        log.exception("could not record the failure of Slack job %s", job.id)


def _reason(exc_type: type[BaseException], exc_value: BaseException | None) -> str:
    if isinstance(exc_value, SlackApiError):
        response = exc_value.response
        return f"Slack answered {response.get('error') or response.status_code}"
    return exc_type.__name__
