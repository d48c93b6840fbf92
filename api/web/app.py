"""Web form, external-assignee codes and the operator dashboard.

URL map:
  GET  /t/{link_id}[?step=N]              task form, one step per page (N is 1-based)
  POST /t/{link_id}?step=N                save the step; nav=back|next|submit
  GET  /t/{link_id}/files/{field}         download what this form uploaded
  GET  /t/{link_id}/verify                external assignee: email-code page
  POST /t/{link_id}/verify/send           send (or resend) the code
  POST /t/{link_id}/verify                check the code -> task session cookie
  GET  /api/v1/tasks/{task_id}/files/{field}   download (tasks:read token)
  /dashboard...                            see api.web.dashboard and api.web.tokens
  /static/..., /assets/...                 CSS and JS of every page (one folder)
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from api.http.deps import SERVICES
from api.runtime import Services
from api.store.codes import CodePolicy, EmailCodes
from api.store.files import LocalFileStorage
from api.web import codes as otp_pages
from api.web import dashboard, files, form, sign_in, task_page, tokens
from api.web.pages import ASSETS_PREFIX, STATIC_PREFIX, WEB, WebContext
from api.web.session import CSRF, CsrfSigner

HERE = Path(__file__).parent


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
    return WebContext(storage=LocalFileStorage(settings.files_dir),
                      codes=EmailCodes(services.redis, services.queues, policy))


def register(app: web.Application) -> None:
    """Mount the web UI routes."""
    app[WEB] = web_context(app[SERVICES])
    app[CSRF] = CsrfSigner()
    router = app.router
    router.add_get("/t/{link_id}", form.show_form)
    router.add_post("/t/{link_id}", form.submit_form)
    router.add_get("/t/{link_id}/files/{field}", files.form_download)
    router.add_get("/t/{link_id}/verify", otp_pages.show_code_page)
    router.add_post("/t/{link_id}/verify/send", otp_pages.send_code)
    router.add_post("/t/{link_id}/verify", otp_pages.check_code)
    router.add_get("/api/v1/tasks/{task_id}/files/{field}", files.api_download)
    router.add_post("/api/v1/tasks/{task_id}/files/{field}", files.api_upload)
    sign_in.register(app)
    dashboard.register(app)
    task_page.register(app)
    tokens.register(app)
    for prefix in (STATIC_PREFIX, ASSETS_PREFIX):  # one folder, both of its old URLs
        router.add_static(prefix, HERE / "static")
