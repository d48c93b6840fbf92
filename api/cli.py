"""The `inloop` command: the composition root that wires every package together."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from api import logs
from api.domain.errors import InloopError
from api.domain.task import ALL_SCOPES
from api.settings import Settings
from api.store.connection import refuse_eviction
from api.store.directory import DISPLAY_PREFIX_LEN, Member

if TYPE_CHECKING:
    from api.runtime import Services

log = logging.getLogger("inloop")
METRICS_ENV = "PROMETHEUS_MULTIPROC_DIR"


def build_services(settings: Settings) -> Services:
    # Imported late: prometheus_client (under api.runtime) picks its multiprocess mode at
    # import, from PROMETHEUS_MULTIPROC_DIR, which main() sets first.
    from api.runtime import build_services as build

    return build(settings)


def metrics_directory(path: Path, *, clean: bool) -> None:
    """Where this process keeps its Prometheus values; `serve` and `dev` first drop the
    files of processes that are gone, so no value of an earlier run is added in, while
    the processes running beside them (more servers, the workers) keep theirs."""
    path.mkdir(parents=True, exist_ok=True)
    if clean:
        for values in path.glob("*.db"):  # prometheus-client's {kind}_{pid}.db
            pid = values.stem.rsplit("_", 1)[-1]
            # This process has written nothing yet: a file with its pid is an earlier
            # run's (a container restarts with the same pid).
            if not (pid.isdigit() and _alive(int(pid))) or int(pid) == os.getpid():
                values.unlink(missing_ok=True)
    os.environ[METRICS_ENV] = str(path)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, as another user's
        return True
    return True


def http_extras(services: Services) -> list[Callable[..., None]]:
    """Optional parts of the HTTP app, mounted by the composition root only."""
    settings = services.settings
    extras: list[Callable[..., None]] = []
    if settings.slack_oauth_enabled:
        from api.web.slack_settings import register_oauth

        extras.append(register_oauth)
    if not settings.slack_http_enabled:
        log.info("Slack HTTP mode is off: POST /slack/events needs SLACK_SIGNING_SECRET and "
                 "SLACK_BOT_TOKEN or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET (Socket Mode "
                 "answers Slack through `inloop bot` with SLACK_APP_TOKEN instead)")
        return extras
    from bot.http import register

    return [*extras, register]


def require_secret_key(settings: Settings, command: str) -> None:
    """Slack OAuth keeps each workspace's bot token sealed: no key, no OAuth mode. Half
    its credentials would leave it off without a word, so that is refused too."""
    if bool(settings.slack_client_id) != bool(settings.slack_client_secret):
        raise SystemExit(f"inloop {command}: Slack OAuth needs both SLACK_CLIENT_ID and "
                         "SLACK_CLIENT_SECRET (or neither)")
    if settings.slack_oauth_enabled and not settings.secret_key:
        raise SystemExit(
            f"inloop {command}: Slack OAuth (SLACK_CLIENT_ID, SLACK_CLIENT_SECRET) stores "
            "each workspace's bot token encrypted, so it needs INLOOP_SECRET_KEY. Make one "
            "with: python -c \"from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())\"")


def cmd_serve(settings: Settings, args: argparse.Namespace) -> None:
    _serve(settings, args, dev=False)


def cmd_dev_serve(settings: Settings, args: argparse.Namespace) -> None:
    """The HTTP server of `inloop dev` (it starts this command): `serve` plus the dev-only
    routes, which `inloop serve` never mounts."""
    _serve(settings, args, dev=True)


def _serve(settings: Settings, args: argparse.Namespace, *, dev: bool) -> None:
    from aiohttp import web

    from api.server import create_app, settle_heap
    from api.web import dev as dev_routes

    require_secret_key(settings, "serve")
    services = build_services(settings)
    refuse_eviction(services.redis)
    extras = http_extras(services) + ([dev_routes.register] if dev else [])
    app = create_app(services, extras=extras)
    # A production server behind a platform router or proxy: every interface by default.
    host = args.host or settings.host or "0.0.0.0"  # noqa: S104
    settle_heap()
    # aiohttp's keep-alive timer (>= 3.14.4) runs from the connection's start and from
    # each response until the next request head is complete: a header-read timeout too.
    web.run_app(app, host=host, port=args.port or settings.port,
                keepalive_timeout=settings.header_timeout_s,
                print=lambda text: log.info("%s", text.strip()))


def cmd_worker(settings: Settings, args: argparse.Namespace) -> None:
    from workers.runner import run_worker

    require_secret_key(settings, "worker")
    services = build_services(settings)
    refuse_eviction(services.redis)
    run_worker(services, args.queue or None)


def cmd_bot(settings: Settings, args: argparse.Namespace) -> None:
    import asyncio

    from bot.socket import run_socket_mode

    require_secret_key(settings, "bot")
    try:
        asyncio.run(run_socket_mode(build_services(settings)))
    except KeyboardInterrupt:
        log.info("Slack Socket Mode stopped")


def cmd_dev(settings: Settings, args: argparse.Namespace) -> None:
    from api.devserver import run_dev

    run_dev(settings, host=args.host or settings.host or "127.0.0.1",
            port=args.port or settings.port)


def cmd_org_create(settings: Settings, args: argparse.Namespace) -> None:
    org_id = build_services(settings).directory.create_org(args.name)
    print(org_id)


def cmd_member_add(settings: Settings, args: argparse.Namespace) -> None:
    directory = build_services(settings).directory
    member = directory.add_member(directory.org_id(args.org), args.email, args.name, args.admin)
    print(member.id)


def cmd_member_reset_totp(settings: Settings, args: argparse.Namespace) -> None:
    from api.store.authenticators import remove

    services = build_services(settings)
    member = _member(services, args.org, args.member)
    removed = remove(services.redis, member.id)
    print(f"reset {member.email}'s authenticator app" if removed
          else f"{member.email} had no authenticator app")


def cmd_secrets_rotate(settings: Settings, args: argparse.Namespace) -> None:
    from api.store.sealed import rotate_all

    services = build_services(settings)
    if services.secrets is None:
        raise SystemExit("inloop: set INLOOP_SECRET_KEY (the new key first, then the old)")
    done = rotate_all(services.redis, services.secrets)
    print(f"re-sealed {done.installations} Slack installations and {done.seeds} "
          f"authenticator seeds under the first key"
          + (f"; {done.unreadable} no key opens (see the log)" if done.unreadable else ""))


def _member(services: Services, org: str, email: str) -> Member:
    member = services.directory.member_by_email(services.directory.org_id(org), email)
    if member is None:
        raise SystemExit(f"inloop: no member {email!r} in {org!r}")
    return member


def cmd_token_create(settings: Settings, args: argparse.Namespace) -> None:
    services = build_services(settings)
    member = _member(services, args.org, args.member)
    token = services.directory.create_token(member, args.scope, label=args.label or "")
    print(token)
    print(f"prefix {token[:DISPLAY_PREFIX_LEN]} (to list or revoke it)", file=sys.stderr)


def cmd_token_list(settings: Settings, args: argparse.Namespace) -> None:
    directory = build_services(settings).directory
    for row in directory.tokens(directory.org_id(args.org)):
        print(f"{row['prefix']}  member {row['member_id']}  scopes {row['scopes']}  "
              f"created {row['created_at']}  {row['label']}".rstrip())


def cmd_token_revoke(settings: Settings, args: argparse.Namespace) -> None:
    build_services(settings).directory.revoke_token(args.prefix)
    print(f"revoked {args.prefix}")


def cmd_deliveries_failed(settings: Settings, args: argparse.Namespace) -> None:
    from api.store.deliveries import DeliveryLog

    for d in DeliveryLog(build_services(settings).store).gave_up(args.limit):
        last = d["attempts"][-1] if d["attempts"] else {}
        print(f"{d['id']}  {d['updated_at']}  task {d['task_id']}  {d['event']}  "
              f"{d['sink_type']} {d['target']}  attempts {d['attempt_count']}  "
              f"last: {last.get('error') or last.get('status_code')}")


def cmd_deliveries_retry(settings: Settings, args: argparse.Namespace) -> None:
    from api.store.deliveries import DeliveryLog

    delivery = DeliveryLog(build_services(settings).store).retry(args.delivery_id)
    print(f"{delivery['id']} {delivery['status']}")


def cmd_deliveries_reconcile(settings: Settings, args: argparse.Namespace) -> None:
    requeued = build_services(settings).tasks.reconcile()
    print(f"re-enqueued {len(requeued)} lost deliveries", *requeued, sep="\n")


def _deliveries_commands(sub: argparse._SubParsersAction) -> None:
    group = sub.add_parser("deliveries", help="sink deliveries").add_subparsers(required=True)
    p = group.add_parser("failed", help="deliveries that gave up, most recent first")
    p.add_argument("--limit", type=int, default=100)
    p.set_defaults(func=cmd_deliveries_failed)
    p = group.add_parser("retry", help="deliver one that gave up again")
    p.add_argument("delivery_id")
    p.set_defaults(func=cmd_deliveries_retry)
    p = group.add_parser("reconcile", help="re-enqueue ended tasks' deliveries Redis lost")
    p.set_defaults(func=cmd_deliveries_reconcile)


def _commands(sub: argparse._SubParsersAction) -> None:
    for name, func, text in (("dev", cmd_dev, "everything on an embedded Valkey"),
                             ("serve", cmd_serve, "the HTTP server (API, web, Slack events)")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--host")
        p.add_argument("--port", type=int)
        p.set_defaults(func=func)
    p = sub.add_parser("dev-serve")  # no help: started by `inloop dev`, not by people
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.set_defaults(func=cmd_dev_serve)
    sub.add_parser("bot", help="the Slack bot over Socket Mode (SLACK_APP_TOKEN)"
                   ).set_defaults(func=cmd_bot)
    p = sub.add_parser("worker", help="an RQ worker with its scheduler")
    p.add_argument("--queue", action="append", help="only these queues (repeatable)")
    p.set_defaults(func=cmd_worker)


def _admin_commands(sub: argparse._SubParsersAction) -> None:
    org = sub.add_parser("org", help="organisations").add_subparsers(required=True)
    p = org.add_parser("create")
    p.add_argument("name")
    p.set_defaults(func=cmd_org_create)
    member = sub.add_parser("member", help="members").add_subparsers(required=True)
    p = member.add_parser("add")
    for flag in ("--org", "--email", "--name"):
        p.add_argument(flag, required=True)
    p.add_argument("--admin", action="store_true")
    p.set_defaults(func=cmd_member_add)
    p = member.add_parser("reset-totp", help="remove a member's authenticator app")
    p.add_argument("--org", required=True)
    p.add_argument("--member", required=True, help="the member's email")
    p.set_defaults(func=cmd_member_reset_totp)
    secrets = sub.add_parser("secrets", help="values sealed with INLOOP_SECRET_KEY")
    p = secrets.add_subparsers(required=True).add_parser(
        "rotate", help="re-seal every sealed value under the first key")
    p.set_defaults(func=cmd_secrets_rotate)
    token = sub.add_parser("token", help="API tokens").add_subparsers(required=True)
    p = token.add_parser("create", help="print a new token once")
    p.add_argument("--org", required=True)
    p.add_argument("--member", required=True, help="the member's email")
    p.add_argument("--scope", action="append", required=True, choices=ALL_SCOPES)
    p.add_argument("--label")
    p.set_defaults(func=cmd_token_create)
    p = token.add_parser("list", help="the org's tokens by prefix (never the tokens)")
    p.add_argument("--org", required=True)
    p.set_defaults(func=cmd_token_list)
    p = token.add_parser("revoke")
    p.add_argument("prefix")
    p.set_defaults(func=cmd_token_revoke)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="inloop", description=__doc__)
    sub = top.add_subparsers(required=True, metavar="COMMAND")
    _commands(sub)
    _admin_commands(sub)
    _deliveries_commands(sub)
    return top


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    settings = Settings()
    logs.configure(settings.log_format)
    metrics_directory(Path(os.environ.get(METRICS_ENV) or settings.metrics_dir),
                      clean=args.func in (cmd_serve, cmd_dev))
    try:
        args.func(settings, args)
    except InloopError as error:
        sys.exit(f"inloop: {error.message}")


if __name__ == "__main__":
    main()
