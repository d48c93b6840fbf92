"""The web UI as two sub-apps (mounted by api.server): the task form with the email-code
pages of external assignees, and the operator dashboard. A person gets every error as a
page (`html_errors`), never a JSON body.

URL map (prefix + route):
  GET  /t/{link_id}[?step=N]              task form, one step per page (N is 1-based)
  POST /t/{link_id}?step=N                save the step; nav=back|next|submit
  POST /t/{link_id}/claim, /release       a team task: take it on, or give it back
  GET  /t/{link_id}/files/{field}         download what this form uploaded
  GET  /t/{link_id}/verify                external assignee: email-code page
  POST /t/{link_id}/verify/send           send (or resend) the code
  POST /t/{link_id}/verify                check the code -> task session cookie
  /dashboard...                            see api.web.dashboard, live, task_page, reassign,
                                           sign_in, settings, tokens, authenticator,
                                           slack_settings
The root serves /static/... and /assets/... (pages.STATIC_DIR, CSS and JS of every page).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from http import HTTPStatus

from aiohttp import web
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from api.domain.errors import InloopError
from api.runtime import Services
from api.store.authenticators import Authenticators
from api.store.codes import CodePolicy, EmailCodes
from api.web import (
    authenticator,
    dashboard,
    files,
    form,
    live,
    reassign,
    settings,
    sign_in,
    slack_settings,
    task_page,
    tokens,
)
from api.web import codes as otp_pages
from api.web.pages import WebContext, message
from api.web.session import CSRF, CsrfSigner

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# What a page says under the status's name when aiohttp refuses a request.
REFUSED = {404: "There is no page at this address.",
           405: "This page does not take that kind of request."}


def web_context(services: Services) -> WebContext:
    settings = services.settings
    policy = CodePolicy(ttl_s=settings.otp_ttl_s, max_tries=settings.otp_max_tries,
                        sends_per_subject=settings.otp_sends_per_subject,
                        sends_per_ip=settings.otp_sends_per_ip,
                        window_s=settings.otp_send_window_s,
                        mail_interval_s=settings.otp_mail_interval_s,
                        mails_per_subject=settings.otp_mails_per_subject,
                        max_failures=settings.otp_max_failures_per_day,
                        max_subject_failures=settings.otp_max_subject_failures_per_day)
    codes = EmailCodes(services.redis, services.jobs, policy)
    # Wrong authenticator codes count under subjects of their own (totp:{email}), so a
    # stranger locking an app out never stops the email codes.
    guesses = replace(codes.guesses,
                      max_network_failures=settings.totp_max_network_failures_per_day)
    return WebContext(codes=codes, authenticators=Authenticators(
        services.redis, services.secrets, guesses))


@web.middleware
async def html_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """An error of a page handler as a message page with the error's status."""
    try:
        return await handler(request)
    except InloopError as error:
        return message(HTTPStatus(error.status).phrase, error.message, error.status)
    except (RedisConnectionError, RedisTimeoutError):
        log.warning("Redis unreachable while serving %s", request.path)
        return message("Please try again shortly", "inloop cannot reach its task store "
                       "right now.", 503)
    except web.HTTPException as error:
        if error.status < 400:
            raise  # redirects
        page = message(error.reason, REFUSED.get(error.status, error.text or ""), error.status)
        page.headers.extend((k, v) for k, v in error.headers.items() if k == "Allow")
        return page


def create_web_apps() -> dict[str, web.Application]:
    """The web sub-apps by prefix; their handlers read the root's resources and WEB
    (request.config_dict), and share one CSRF signer."""
    apps = {"/t": web.Application(middlewares=[html_errors]),
            "/dashboard": web.Application(middlewares=[html_errors])}
    signer = CsrfSigner()
    for app in apps.values():
        app[CSRF] = signer
    _form_routes(apps["/t"].router)
    for register in (sign_in.register, dashboard.register, live.register,
                     task_page.register, reassign.register, settings.register,
                     tokens.register, authenticator.register, slack_settings.register):
        register(apps["/dashboard"])
    return apps


def _form_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/{link_id}", form.show_form)
    router.add_post("/{link_id}", form.submit_form)
    router.add_post("/{link_id}/claim", form.claim)
    router.add_post("/{link_id}/release", form.release)
    router.add_get("/{link_id}/files/{field}", files.form_download)
    router.add_get("/{link_id}/verify", otp_pages.show_code_page)
    router.add_post("/{link_id}/verify/send", otp_pages.send_code)
    router.add_post("/{link_id}/verify", otp_pages.check_code)
