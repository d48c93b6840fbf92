"""Every Redis key inloop uses, with its builder. No key string is written elsewhere.

A task is stored under its `ref` (api.domain.task.task_ref: a uuid derived from its org and
its task_id), never under the task_id alone, which belongs to its org: two orgs may use
one task_id. Below, {ref} is that ref and "task refs" are lists of them.

Layout (all under the `inloop:` prefix):
  task:{ref}                  STRING  task JSON (api.domain.task.Task)
  task:{ref}:secrets          STRING  JSON list of sink secrets, index-aligned with sinks
  task:{ref}:draft            STRING  JSON answers saved between steps (Slack and web share it)
  task:{ref}:drafts           HASH    person -> JSON answers between steps: a team task's web
                                      respondents each keep their own
  task:{ref}:idem             STRING  sha256 of the create body + the original 201 response
  task:{ref}:files            SET     sha256 of files uploaded for the task
  task:{ref}:history          LIST    JSON history entries (api.domain.approval.HistoryEntry)
  file:{sha256}:claims        SET     task refs that claimed the file (retention's check)
  file-claims:indexed         STRING  set once claims older than file:{sha256}:claims are in it
  link:{link_id}              STRING  task ref of a web link
  org:{org}:tasks             ZSET    task refs by creation time (µs)
  org:{org}:status:{s}        ZSET    task refs in status s
  org:{org}:assignee:{m}      ZSET    task refs assigned to member m (or an external email)
  org:{org}:tag:{t}           ZSET    task refs with tag t
  org:{org}:process:{p}       ZSET    task refs of process p
  org:{org}:corr:{c}          ZSET    task refs with correlation id c
  org:{org}:parent:{task_id}  ZSET    task refs of the children of the org's task task_id
  org:{id}                    HASH    organisation
  orgs:by-name                HASH    name -> org id
  member:{id}                 HASH    member
  org:{org}:members           HASH    email -> member id
  members-by-email:{email}    SET     member ids with that email, in any org
  member:{id}:totp            HASH    authenticator app: seed (sealed by api.crypto), enrolled
                                      at, last used time step
  member:{id}:totp-pending    STRING  a sealed seed being enrolled, until confirmed (TTL)
  token:{sha256}              HASH    API token record (the token itself is never stored)
  token-prefix:{prefix}       STRING  sha256 of the token with that display prefix
  org:{org}:tokens            SET     display prefixes of the org's tokens
  events                      CHANNEL task refs published on every transition
  task:{ref}:event:{event}    STRING  the sink event body, pinned when first built (JSON)
  delivery:{id}               HASH    one (task event, sink) delivery: target, status, counts
  delivery:{id}:attempts      LIST    JSON attempts (time, status code or error, latency)
  deliveries:gave-up          ZSET    delivery ids that gave up, by time (s)
  task:{ref}:slack-user       STRING  Slack user id of the assignee (records posted before
                                      slack-assignees; read only)
  task:{ref}:slack-assignees  HASH    Slack user id -> the Assignee.key they answer for
  task:{ref}:slack-messages   HASH    "channel ts" of each Slack message of the task -> JSON
                                      {assignee, user, moved} (whose DM; None: a channel's)
  task:{ref}:slack-sent       SET     Slack delivery targets already posted to (retry-safe)
  task:{ref}:slack-grant-until ZSET    Slack user id -> when its grant to submit ends (epoch s)
  task:{ref}:slack-draft:{uid} STRING  JSON answers of one channel member between steps (TTL)
  slack-channel:{cid}:members SET     member ids of a Slack channel, plus "-" (cache, TTL)
  slack-user:{uid}:tasks      ZSET    task refs assigned to Slack user uid (App Home)
  slack-event:{event_id}      STRING  seen Slack event ids (dedupe retried events, TTL)
  slack-request:{signature}   STRING  signatures of handled Slack requests (refuse replays, TTL)
  org:{org}:slack-install     STRING  JSON of the org's Slack installation, bot token sealed
  slack-workspace:{id}        STRING  org id bound to a Slack team (or Enterprise Grid org)
  slack-oauth-state:{state}   STRING  org id that started an install (single use, TTL)
  otp:{purpose}:{attempt}     HASH    one browser's request for a code: code id, subject,
                                      email, tries (TTL = the code's)
  otp-code:{code_id}          HASH    one mailed code: salt, sha256 HMAC, mailed at (TTL)
  otp-last:{subject}          STRING  id of the code mailed last for a task or email (TTL)
  otp-rate:{kind}:{value}     STRING  sends, mails or wrong codes in the window (TTL)
  web-secret                  STRING  the server's CSRF signing key (made once)
  web-session:{id}            STRING  JSON of a browser session: a task grant or a member
  web-session:{id}:{name}     STRING  a value kept for the session's next page (TTL 5 min)
"""

from __future__ import annotations

import re

PREFIX = "inloop:"
EVENTS_CHANNEL = PREFIX + "events"
ORGS_BY_NAME = PREFIX + "orgs:by-name"


_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                   r"[0-9a-fA-F]{12}$")


def is_uuid(value: str) -> bool:
    """Task ids, task refs and link ids are UUIDs; anything else must never be spliced
    into a key (`{ref}:secrets` would otherwise address a neighbouring key)."""
    return bool(_UUID.match(value))


def task(ref: str) -> str:
    return f"{PREFIX}task:{ref}"


def task_secrets(ref: str) -> str:
    return f"{PREFIX}task:{ref}:secrets"


def task_draft(ref: str) -> str:
    return f"{PREFIX}task:{ref}:draft"


def task_history(ref: str) -> str:
    return f"{PREFIX}task:{ref}:history"


def task_drafts(ref: str) -> str:
    """HASH of a team task's web drafts, one per respondent (member id or address)."""
    return f"{PREFIX}task:{ref}:drafts"


def task_idempotency(ref: str) -> str:
    return f"{PREFIX}task:{ref}:idem"


def task_files(ref: str) -> str:
    """SET of sha256 of the files uploaded for this task (only those may be its answers)."""
    return f"{PREFIX}task:{ref}:files"


def file_claims(sha256: str) -> str:
    """SET of the refs of tasks that claimed this stored file: it goes once this is empty."""
    return f"{PREFIX}file:{sha256}:claims"


FILE_CLAIMS_INDEXED = PREFIX + "file-claims:indexed"


def link(link_id: str) -> str:
    return f"{PREFIX}link:{link_id}"


def org_tasks(org_id: str) -> str:
    return f"{PREFIX}org:{org_id}:tasks"


def org_index(org_id: str, kind: str, value: str) -> str:
    """A secondary index zset: kind is one of status, assignee, tag, process, corr, parent."""
    return f"{PREFIX}org:{org_id}:{kind}:{value}"


def org(org_id: str) -> str:
    return f"{PREFIX}org:{org_id}"


def member(member_id: str) -> str:
    return f"{PREFIX}member:{member_id}"


def org_members(org_id: str) -> str:
    return f"{PREFIX}org:{org_id}:members"


def members_by_email(email: str) -> str:
    """SET of member ids with this (lower-case) email, across orgs (dashboard sign-in)."""
    return f"{PREFIX}members-by-email:{email}"


def member_totp(member_id: str) -> str:
    """A member's authenticator app (TOTP): the sealed seed and the last step used."""
    return f"{PREFIX}member:{member_id}:totp"


def member_totp_pending(member_id: str) -> str:
    """A seed shown to the member but not yet confirmed with one of its codes."""
    return f"{PREFIX}member:{member_id}:totp-pending"


def token(token_hash: str) -> str:
    return f"{PREFIX}token:{token_hash}"


def token_prefix(prefix: str) -> str:
    return f"{PREFIX}token-prefix:{prefix}"


def org_tokens(org_id: str) -> str:
    return f"{PREFIX}org:{org_id}:tokens"


def otp_code(purpose: str, attempt: str) -> str:
    """One attempt (a browser's request for a code); purpose is `task` or `login`."""
    return f"{PREFIX}otp:{purpose}:{attempt}"


def otp_mailed(code_id: str) -> str:
    """A mailed code, shared by the attempts that joined it; deleted once used."""
    return f"{PREFIX}otp-code:{code_id}"


def otp_last(subject: str) -> str:
    """The code mailed last for a subject (`task:{id}` or `email:{address}`)."""
    return f"{PREFIX}otp-last:{subject}"


def otp_rate(kind: str, value: str) -> str:
    """kind is `sends` ({subject}|{network}), `ip` (a network), `mails` (a subject),
    `failures` ({subject}|{network}), `subject-failures` (a subject) or
    `network-failures` (a network's wrong authenticator codes, any subject)."""
    return f"{PREFIX}otp-rate:{kind}:{value}"


WEB_SECRET = PREFIX + "web-secret"
# Written before each WAIT, so WAIT has a write of its own connection to count
# (api.store.connection.confirm_replicated).
REPLICATION_MARKER = PREFIX + "replication:marker"


def web_session(session_id: str) -> str:
    return f"{PREFIX}web-session:{session_id}"


def sign_in_link(token_hash: str) -> str:
    """A one-time dashboard sign-in link of `inloop dev`, by the SHA-256 of its token."""
    return f"{PREFIX}sign-in-link:{token_hash}"


def web_session_stash(session_id: str, name: str) -> str:
    """A value shown once after a redirect (e.g. a new API token), read with GETDEL."""
    return f"{PREFIX}web-session:{session_id}:{name}"


def task_slack_user(ref: str) -> str:
    return f"{PREFIX}task:{ref}:slack-user"


def task_slack_assignees(ref: str) -> str:
    return f"{PREFIX}task:{ref}:slack-assignees"


def task_slack_messages(ref: str) -> str:
    return f"{PREFIX}task:{ref}:slack-messages"


def task_slack_sent(ref: str) -> str:
    return f"{PREFIX}task:{ref}:slack-sent"


def task_slack_grants(ref: str) -> str:
    return f"{PREFIX}task:{ref}:slack-grant-until"


def task_slack_draft(ref: str, user_id: str) -> str:
    return f"{PREFIX}task:{ref}:slack-draft:{user_id}"


def slack_channel_members(channel_id: str) -> str:
    return f"{PREFIX}slack-channel:{channel_id}:members"


def slack_user_tasks(user_id: str) -> str:
    return f"{PREFIX}slack-user:{user_id}:tasks"


def slack_event(event_id: str) -> str:
    return f"{PREFIX}slack-event:{event_id}"


def slack_request(signature: str) -> str:
    """A handled request's `X-Slack-Signature` (an HMAC of its timestamp and body)."""
    return f"{PREFIX}slack-request:{signature}"


def org_slack_install(org_id: str) -> str:
    return f"{PREFIX}org:{org_id}:slack-install"


def slack_workspace(workspace_id: str) -> str:
    """The org a Slack team id (T…) or Enterprise Grid org id (E…) is bound to."""
    return f"{PREFIX}slack-workspace:{workspace_id}"


def slack_oauth_state(state: str) -> str:
    return f"{PREFIX}slack-oauth-state:{state}"


def task_event(ref: str, event: str) -> str:
    return f"{PREFIX}task:{ref}:event:{event}"


def delivery(delivery_id: str) -> str:
    return f"{PREFIX}delivery:{delivery_id}"


def delivery_attempts(delivery_id: str) -> str:
    return f"{PREFIX}delivery:{delivery_id}:attempts"


DELIVERIES_GAVE_UP = PREFIX + "deliveries:gave-up"
