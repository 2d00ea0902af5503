"""The ``gnrp`` command: serve | worker | migrate | demo | import | audit | digest | user."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import uvicorn

from server.db.migrate import upgrade
from server.domain.accounts import suggest_handle
from server.domain.errors import DomainError
from server.domain.permissions import ROLES
from server.logs import configure_logging
from server.services import accounts
from server.services.audit import verify_chain
from server.services.demo import seed_demo
from server.services.importing import check_file, first_admin_email, import_rows
from server.settings import Settings


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gnrp", description="GNRP Live")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the web server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument(
        "--no-migrate", action="store_true", help="do not migrate an SQLite database on start"
    )
    serve.add_argument(
        "--demo", action="store_true", help="seed sample data first (once; marked as sample)"
    )

    commands.add_parser("demo", help="seed sample rooms, users and initiatives (marked as sample)")

    commands.add_parser(
        "worker", help="run an arq worker: the digest cron and the digest jobs (needs REDIS_URL)"
    )

    digest = commands.add_parser("digest", help="e-mail digests")
    digest_commands = digest.add_subparsers(dest="digest_command", required=True)
    preview = digest_commands.add_parser(
        "preview", help="print a user's next digest as text, without sending or marking it"
    )
    preview.add_argument("--user", required=True, metavar="EMAIL")

    audit = commands.add_parser("audit", help="the audit log")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True)
    audit_commands.add_parser("verify", help="check the hash chain; names the first broken entry")

    importing = commands.add_parser("import", help="import data")
    import_kinds = importing.add_subparsers(dest="import_kind", required=True)
    import_initiatives = import_kinds.add_parser(
        "initiatives", help="import initiatives from CSV: all rows or none"
    )
    import_initiatives.add_argument("file", help="CSV with the columns of the sample data")
    import_initiatives.add_argument(
        "--as", dest="publisher", help="moderator or admin e-mail (default: the first admin)"
    )

    commands.add_parser("migrate", help="bring the database schema up to date")

    user = commands.add_parser("user", help="manage accounts")
    user_commands = user.add_subparsers(dest="user_command", required=True)
    create = user_commands.add_parser(
        "create", help="create an account; the password is read from stdin or a prompt"
    )
    create.add_argument("--email", required=True)
    create.add_argument("--role", choices=ROLES, default="member")
    create.add_argument("--handle", help="defaults to the part of the e-mail before the @")
    create.add_argument("--name", help="display name; defaults to the handle")

    args = parser.parse_args(argv)
    settings = Settings.from_env()
    configure_logging(settings.log_level)
    if args.command == "serve":
        return _serve(settings, args)
    if args.command == "migrate":
        asyncio.run(upgrade(settings.database_url))
        print("database is up to date", file=sys.stderr)
        return 0
    if args.command == "demo":
        print(asyncio.run(_with_services(settings, seed_demo)))
        return 0
    if args.command == "worker":
        return _work(settings)
    if args.command == "digest":
        return asyncio.run(_preview_digest(settings, args.user))
    if args.command == "import":
        return asyncio.run(_import_initiatives(settings, args))
    if args.command == "audit":
        report = asyncio.run(_with_services(settings, verify_chain))
        if report.broken is None:
            print(f"audit log intact: {report.entries} entries")
            return 0
        entry = report.broken
        print(
            f"audit log broken at entry {entry.seq} (id {entry.id}, {entry.action} on "
            f"{entry.target_type}:{entry.target_id}): {report.why}",
            file=sys.stderr,
        )
        return 1
    return asyncio.run(_create_user(settings, args))


async def _with_services(settings: Settings, action: Any) -> Any:
    from server.app import build_services

    services = build_services(settings)
    try:
        return await action(services)
    finally:
        await services.close()


async def _import_initiatives(settings: Settings, args: argparse.Namespace) -> int:
    try:
        raw = await asyncio.to_thread(Path(args.file).read_bytes)
    except OSError as error:
        print(f"cannot read {args.file}: {error.strerror}", file=sys.stderr)
        return 2
    checked = check_file(raw)
    if checked.problems:
        for problem in checked.problems:
            print(f"{args.file}:{problem.line}: {problem.reason}", file=sys.stderr)
        print(f"nothing imported: {len(checked.problems)} problem(s)", file=sys.stderr)
        return 1

    async def write(services: Any) -> int:
        email = args.publisher or await first_admin_email(services)
        if email is None:
            raise DomainError("no admin account: create one with `gnrp user create`")
        return await import_rows(services, rows=checked.rows, email=email)

    try:
        count = await _with_services(settings, write)
    except DomainError as error:
        print(f"nothing imported: {error.message}", file=sys.stderr)
        return 1
    print(f"imported {count} initiatives")
    return 0


def _work(settings: Settings) -> int:
    from workers.settings import build_worker

    if not settings.redis_url:
        print(
            "the worker needs REDIS_URL; without Redis, `gnrp serve` sends the digests itself",
            file=sys.stderr,
        )
        return 2
    build_worker(settings).run()
    return 0


async def _preview_digest(settings: Settings, email: str) -> int:
    from workers.digests import preview_digest

    async def preview(services: Any) -> int:
        found = await accounts.find_user_by_email(services, email)
        if found is None or found.id is None:
            print(f"no account with the e-mail {email}", file=sys.stderr)
            return 1
        text = await preview_digest(services, user_id=found.id, now=services.clock())
        if text is None:
            print(f"nothing new for {email}: no digest would be sent", file=sys.stderr)
            return 0
        print(text, end="")
        return 0

    result: int = await _with_services(settings, preview)
    return result


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    # The embedded default must start with nothing else set up: an SQLite database migrates by
    # itself. PostgreSQL deployments migrate in their release step (`gnrp migrate`).
    if settings.is_sqlite and not args.no_migrate:
        asyncio.run(upgrade(settings.database_url))
    if args.demo:
        print(asyncio.run(_with_services(settings, seed_demo)), file=sys.stderr)
    uvicorn.run(
        "server.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_config=None,
        proxy_headers=True,
        ws_per_message_deflate=False,  # off: cheaper per socket, and no compression leaks
        ws_max_size=settings.ws_max_frame_bytes,  # larger frames close with 1009
        timeout_graceful_shutdown=10,
    )
    return 0


async def _create_user(settings: Settings, args: argparse.Namespace) -> int:
    from server.app import build_services

    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Password again: ") != password:
            print("the passwords differ", file=sys.stderr)
            return 2
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    handle = args.handle or suggest_handle(args.email)
    services = build_services(settings)
    try:
        user = await accounts.create_user(
            services,
            accounts.NewAccount(
                email=args.email,
                password=password,
                display_name=args.name or handle,
                handle=handle,
                role=args.role,
            ),
        )
    except DomainError as error:
        detail = "; ".join(f"{k}: {v}" for k, v in error.fields.items()) or error.message
        print(f"could not create the account: {detail}", file=sys.stderr)
        return 1
    finally:
        await services.close()
    print(f"created {user.role} {user.email} (id {user.id}, @{user.handle})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
