"""`lead-router`: serve, migrate, worker, create-org, demo, demo-curl, purge, audit-archive."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tempfile
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from dotenv import dotenv_values
from pydantic import ValidationError

from app.config import PLACEHOLDER, Settings, get_settings, unknown_variables

T = TypeVar("T")


def _database_url(settings: Settings, migrate: bool = True) -> str:
    # Loaded when run: the CLI starts without loading the service.
    from app.db import db
    from app.ops import migrate as migrations

    url = db.resolve_url(settings)
    if migrate:
        migrations.upgrade(url)
    # Child processes (uvicorn workers) inherit the resolved URL, embedded server included.
    os.environ["LEAD_ROUTER_DATABASE_URL"] = url
    return url


def _stop_embedded() -> None:
    # Loaded when run: the CLI starts without loading the service.
    from app.db import db

    if db.embedded is not None:
        db.embedded.stop()


def _with_session(settings: Settings, fn: Callable[..., Awaitable[T]]) -> T:
    # Loaded when run: the CLI starts without loading the service.
    from app.db import db

    async def run() -> T:
        db.connect(settings)
        assert db.sessionmaker is not None
        try:
            async with db.sessionmaker() as session, session.begin():
                return await fn(session)
        finally:
            await db.dispose_engines()

    return asyncio.run(run())


class _Terminated(Exception):
    pass


def _raise_terminated(signum: int, frame: object) -> None:
    raise _Terminated


def _settings() -> Settings:
    """The settings as the environment says now: a command may have changed it since
    anything first read them (`--no-worker`, the demo's keys), and the app reads them
    again in `create_app`."""
    get_settings.cache_clear()
    return get_settings()


def _raise_file_limit(connections: int) -> None:
    """Room for the connections the server may hold, plus the database's and files': a
    common soft limit of 1024 descriptors is below the default connection limit."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = (connections or 4096) + 256
    if soft != resource.RLIM_INFINITY and soft < wanted:
        top = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (top, hard))


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    # Loaded when run: the CLI starts without loading the service.
    from app.ops import server

    if args.no_worker:
        os.environ["LEAD_ROUTER_RUN_WORKER_IN_PROCESS"] = "false"
    settings = _settings()
    if settings.environment == "development" and PLACEHOLDER in (
        settings.secret_key,
        settings.encryption_keys,
    ):
        _warn("development secrets: personal data is encrypted with a key published in the "
              "source; never use this database for real leads")  # fmt: skip
    # uvicorn shuts down gracefully on SIGTERM, then re-raises the signal with the handler it
    # found; ours turns that into a normal exit so the embedded PostgreSQL is stopped cleanly.
    signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        _database_url(settings, migrate=settings.migrate_on_start and not args.no_migrate)
        if args.workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="lead-router-prom-")
        _raise_file_limit(settings.http_max_connections)
        uvicorn.run(
            "app.main:create_app",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=20,
            **server.uvicorn_limits(settings),
        )
    except (_Terminated, KeyboardInterrupt):
        pass
    finally:
        _stop_embedded()
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    # Loaded when run: the CLI starts without loading the service.
    from app.db import db
    from app.ops import migrate as migrations

    try:
        url = db.resolve_url(_settings())
        if args.revision.startswith("-") or args.down:
            migrations.downgrade(url, args.revision)
        else:
            migrations.upgrade(url, args.revision)
        print(f"database at {args.revision}")
    finally:
        _stop_embedded()
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    # Loaded when run: the CLI starts without loading the service.
    from app import worker

    settings = _settings()

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await worker.run_forever(settings, stop)

    try:
        _database_url(settings, migrate=not args.no_migrate)
        asyncio.run(run())
    finally:
        _stop_embedded()
    return 0


def cmd_create_org(args: argparse.Namespace) -> int:
    # Loaded when run: the CLI starts without loading the service.
    from app.auth import service as auth_service
    from app.auth.scopes import Scope

    settings = _settings()

    async def create(session: object) -> tuple[str, str]:
        from sqlalchemy.ext.asyncio import AsyncSession

        assert isinstance(session, AsyncSession)
        org = await auth_service.create_organization(session, args.name, args.time_zone)
        _, token = await auth_service.create_key(session, org.id, "admin (cli)", [Scope.ADMIN])
        return str(org.id), token

    try:
        _database_url(settings)
        org_id, token = _with_session(settings, create)
    finally:
        _stop_embedded()
    print(f"organization: {org_id}")
    print(f"admin key (shown once): {token}")
    return 0


def _demo_environment(args: argparse.Namespace) -> Settings:
    """The demo's settings: its public URL from its host and port unless one is set, and
    (development only) outbound webhooks allowed to a local receiver unless set."""
    settings = get_settings()
    host = "localhost" if args.host in ("0.0.0.0", "::", "") else args.host  # noqa: S104
    host = f"[{host}]" if ":" in host else host
    if "public_base_url" not in settings.model_fields_set:
        os.environ["LEAD_ROUTER_PUBLIC_BASE_URL"] = f"http://{host}:{args.port}"
    if (
        settings.environment == "development"
        and "allow_private_webhook_targets" not in settings.model_fields_set
    ):
        os.environ["LEAD_ROUTER_ALLOW_PRIVATE_WEBHOOK_TARGETS"] = "true"
    get_settings.cache_clear()
    return get_settings()


def _seed_history(settings: Settings, org_id: str, days: int) -> str:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from sqlalchemy.ext.asyncio import AsyncSession

    # Loaded when run: the CLI starts without loading the service.
    from app.demo import load

    columns = (TextColumn("{task.description:28}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())  # fmt: skip
    with Progress(*columns, transient=False) as bar:
        tasks: dict[str, Any] = {}

        def report(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        async def run(session: object) -> load.HistoryResult:
            assert isinstance(session, AsyncSession)
            return await load.seed_history(session, uuid.UUID(org_id), days=days, progress=report)

        result = _with_session(settings, run)
    if not result.created:
        return f"history: {result.leads} leads, seeded before (nothing added)"
    return f"history: {result.leads} leads from {result.first_day} to {result.last_day}"


DEMO_SECRETS = "secrets.env"


def demo_secrets() -> None:
    """The demo's own secret key and encryption key, generated once into its data directory
    (readable by its owner only) and used from then on; keys the environment gives win."""
    # Loaded when run: the CLI starts without loading the service.
    from app import crypto

    given = Settings(environment="development")  # only to read what is set, and where
    path = given.data_dir / DEMO_SECRETS
    if not path.exists():
        keys = crypto.new_key_material()
        if (given.pgdata / "PG_VERSION").exists():
            # A demo database from before the demo had keys of its own: what it holds was
            # written under the development key, which stays readable (and nothing more).
            keys += "," + crypto.development_key_entry()
        path.parent.mkdir(parents=True, exist_ok=True)
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
            f.write(f"LEAD_ROUTER_SECRET_KEY={crypto.new_secret_key()}\n")
            f.write(f"LEAD_ROUTER_ENCRYPTION_KEYS={keys}\n")
    stored = dotenv_values(path)
    for name in ("secret_key", "encryption_keys"):
        value = stored.get(f"LEAD_ROUTER_{name.upper()}")
        if getattr(given, name) == PLACEHOLDER and value:
            os.environ[f"LEAD_ROUTER_{name.upper()}"] = value
    # A demo is a development install (plain-HTTP cookies, a local webhook receiver), with
    # keys of its own: unless the environment or .env names another.
    if "LEAD_ROUTER_ENVIRONMENT" not in os.environ | dict(dotenv_values(".env")):
        os.environ["LEAD_ROUTER_ENVIRONMENT"] = "development"


def cmd_demo(args: argparse.Namespace) -> int:
    # Loaded when run: the CLI starts without loading the service.
    from app import demo

    demo_secrets()
    settings = _demo_environment(args)
    key_file = settings.data_dir / "demo-admin-key"
    base = settings.public_base_url.rstrip("/")
    try:
        _database_url(settings)

        async def make(session: object) -> demo.DemoInfo:
            from sqlalchemy.ext.asyncio import AsyncSession

            assert isinstance(session, AsyncSession)
            return await demo.seed(session, key_file)

        info = _with_session(settings, make)
        history = None if args.no_history else _seed_history(settings, info.org_id, args.days)
        demo.save_delivery_info(settings.data_dir, base, info)
        print(
            demo.banner(
                info,
                base,
                history=history,
                private_targets=settings.allow_private_webhook_targets,
            ),
            flush=True,
        )
    except BaseException:
        _stop_embedded()
        raise
    args.no_migrate, args.no_worker = True, False
    return cmd_serve(args)


def cmd_purge(args: argparse.Namespace) -> int:
    """The daily purge, now: erase leads past retention, drop old raw bodies, delete consent
    events past their legal hold. With --dry-run, counts what it would do and changes
    nothing (its transaction is rolled back)."""
    from sqlalchemy.ext.asyncio import AsyncSession

    # Loaded when run: the CLI starts without loading the service.
    from app.db import db, utcnow
    from app.ops import logging as ops_logging
    from app.privacy import retention
    from app.privacy.schemas import PurgeCounts

    settings = get_settings()
    ops_logging.configure(settings.log_level, settings.log_format)

    async def run() -> PurgeCounts:
        db.connect(settings)
        assert db.sessionmaker is not None
        try:
            async with db.sessionmaker() as session:
                assert isinstance(session, AsyncSession)
                async with session.begin() as tx:
                    counts = await retention.purge(
                        session, settings, utcnow(), dry_run=args.dry_run
                    )
                    if args.dry_run:
                        await tx.rollback()
                return counts
        finally:
            await db.dispose_engines()

    try:
        _database_url(settings)
        counts = asyncio.run(run())
    finally:
        _stop_embedded()
    verb = "would erase" if counts.dry_run else "erased"
    print(f"leads inactive since {counts.lead_cutoff:%Y-%m-%d}: {verb} {counts.leads_erased}")
    for lead_id in counts.lead_ids:
        print(f"  lead {lead_id}")
    if counts.more_leads_due:
        print("  (more leads are due: the next run continues)")
    drop = "would drop" if counts.dry_run else "dropped"
    print(f"raw bodies of processed deliveries: {drop} {counts.inbox_bodies_dropped}")
    print(f"raw bodies of unprocessed deliveries: {drop} {counts.quarantined_bodies_dropped}")
    delete = "would delete" if counts.dry_run else "deleted"
    print(f"consent events past their legal hold: {delete} {counts.consent_events_deleted}")
    print(
        f"certificate checks past their legal hold: {delete} {counts.consent_verifications_deleted}"
    )
    print(f"erasure request records past 24 months: {delete} {counts.erasure_requests_deleted}")
    print(f"finished jobs past their retention: {delete} {counts.jobs_deleted}")
    print(f"erasure requests overdue (45 days): {counts.erasure_requests_overdue}")
    return 0


def cmd_audit_archive(args: argparse.Namespace) -> int:
    """Move audit rows older than six years to a JSON Lines file, then delete them (one
    transaction: nothing is deleted unless the file was written). --dry-run writes the file
    and deletes nothing."""
    # Loaded when run: the CLI starts without loading the service.
    from app.audit import archive

    settings = get_settings()

    # Opened before the database: a file that exists already stops it before anything runs.
    out = open(args.out, "x", encoding="utf-8")  # noqa: SIM115 - closed below

    async def run(session: object) -> int:
        from sqlalchemy.ext.asyncio import AsyncSession

        assert isinstance(session, AsyncSession)
        return await archive.archive(session, out, dry_run=args.dry_run)

    try:
        _database_url(settings)
        count = _with_session(settings, run)
    finally:
        out.close()
        _stop_embedded()
    verb = "written (kept in the database)" if args.dry_run else "moved"
    print(f"audit rows older than six years: {count} {verb} to {args.out}")
    return 0


def cmd_demo_curl(args: argparse.Namespace) -> int:
    # Loaded when run: the CLI starts without loading the service.
    from app import demo

    print(demo.fresh_curl(get_settings().data_dir, args.kind))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lead-router", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def serve_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--port", type=int, default=8000)
        p.add_argument("--workers", type=int, default=1)

    serve = sub.add_parser("serve", help="run the HTTP API (and the worker, unless disabled)")
    serve_args(serve)
    serve.add_argument("--no-migrate", action="store_true", help="skip migrations at start-up")
    serve.add_argument("--no-worker", action="store_true", help="don't run the worker in-process")
    serve.set_defaults(func=cmd_serve)

    mig = sub.add_parser("migrate", help="apply migrations (default: to head)")
    mig.add_argument("revision", nargs="?", default="head")
    mig.add_argument("--down", action="store_true", help="downgrade to the revision")
    mig.set_defaults(func=cmd_migrate)

    work = sub.add_parser("worker", help="run the background worker only")
    work.add_argument("--no-migrate", action="store_true")
    work.set_defaults(func=cmd_worker)

    org = sub.add_parser("create-org", help="create an organisation and print an admin key")
    org.add_argument("name")
    org.add_argument("--time-zone", default="America/Chicago")
    org.set_defaults(func=cmd_create_org)

    purge = sub.add_parser("purge", help="run the retention purge now")
    purge.add_argument(
        "--dry-run", action="store_true", help="print what it would do and change nothing"
    )
    purge.set_defaults(func=cmd_purge)

    arch = sub.add_parser(
        "audit-archive", help="move audit rows older than six years to a JSON Lines file"
    )
    arch.add_argument("--out", required=True, help="a new file (never overwritten)")
    arch.add_argument("--dry-run", action="store_true", help="write the file, delete nothing")
    arch.set_defaults(func=cmd_audit_archive)

    demo = sub.add_parser(
        "demo", help="seed the demo practice with 90 days of history and serve it"
    )
    serve_args(demo)
    demo.add_argument("--no-history", action="store_true", help="seed no past leads")
    demo.add_argument("--days", type=int, default=90, help="days of history (default 90)")
    demo.set_defaults(func=cmd_demo)

    curl = sub.add_parser(
        "demo-curl", help="print a freshly signed curl delivering a lead to the running demo"
    )
    curl.add_argument("kind", nargs="?", default="web_form", choices=["web_form", "partner"])
    curl.set_defaults(func=cmd_demo_curl)
    return parser


def _warn(message: str) -> None:
    print(f"lead-router: warning: {message}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    for name, close in unknown_variables(os.environ):
        hint = f" (did you mean {close}?)" if close else ""
        _warn(f"{name} is not a lead-router setting and is ignored{hint}")
    try:
        return int(args.func(args))
    except ValidationError as exc:
        if exc.title != Settings.__name__:
            raise
        # The messages only: pydantic's rendering would quote every setting, secrets too.
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"])
            name = f"LEAD_ROUTER_{where.upper()}: " if where else ""
            print(f"lead-router: {name}{err['msg']}", file=sys.stderr)
        return 2
    except Exception as exc:
        # Loaded when run: the CLI starts without loading the service.
        from app.db import database_unavailable

        if not database_unavailable(exc):
            raise
        print(f"lead-router: the database is unreachable ({type(exc).__name__}); is it "
              "running, and is LEAD_ROUTER_DATABASE_URL right?", file=sys.stderr)  # fmt: skip
        return 1


if __name__ == "__main__":
    sys.exit(main())
