"""Routes that only `inloop dev` mounts (through api.server's `extras`, from the CLI's dev
path; `inloop serve` never has them):
  GET /dev/mail             the mail the dev mail catcher kept, newest first
  GET /dev/sign-in/{token}  a one-time sign-in link printed by `inloop dev`
"""

from __future__ import annotations

import asyncio
from email.message import EmailMessage
from typing import Any

from aiohttp import web

from api.runtime import SERVICES
from api.store.dev_mail import DevMail
from api.store.sign_in_links import TTL_S, SignInLinks
from api.web.pages import message, page
from api.web.sign_in import signed_in

MAIL_DIR = "dev-mail"  # under INLOOP_DATA_DIR, shared with the catcher in api.devserver
SIGN_IN_PATH = "/dev/sign-in"


def dev_mail(request: web.Request) -> DevMail:
    return DevMail(request.config_dict[SERVICES].settings.data_dir / MAIL_DIR)


def _view(mail: EmailMessage) -> dict[str, Any]:
    body = mail.get_body(preferencelist=("plain",))
    return {"subject": mail["subject"] or "(no subject)", "to": mail["to"] or "",
            "date": mail["date"] or "", "body": body.get_content() if body else ""}


async def show_mail(request: web.Request) -> web.Response:
    mails = await asyncio.to_thread(lambda: [_view(m) for m in dev_mail(request).newest()])
    return await page("dev_mail.html", mails=mails, keep=dev_mail(request).keep)


async def sign_in_by_link(request: web.Request) -> web.Response:
    """Spend the link and sign its member in. A GET, unlike every other change in the web
    UI: the link is printed in the developer's own terminal for a loopback server."""
    links = SignInLinks(request.config_dict[SERVICES].redis)
    member_id = await asyncio.to_thread(links.spend, request.match_info["token"])
    if member_id is None:
        return message("This link is spent", f"A sign-in link works once, for {TTL_S // 60} "
                       "minutes. Restart inloop dev for a new one, or sign in with an "
                       "emailed code.", 410)
    return await signed_in(request, member_id)


def register(root: web.Application) -> None:
    root.router.add_get("/dev/mail", show_mail)
    root.router.add_get(SIGN_IN_PATH + "/{token}", sign_in_by_link)
