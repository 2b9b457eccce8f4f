"""`cinema`: run, serve, worker, migrate, create-user, seed, ingest-media, media-backfill.

Every command acts on DATABASE_URL / REDIS_URL when set, else on the embedded services
under .data/ (started on demand, shared with a running `cinema run`)."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from cinema.embedded import Services, ensure_services
from cinema.logsetup import setup_logging
from models.core.settings import Settings


def _services(settings: Settings) -> Services:
    return ensure_services(
        database_url=settings.database_url,
        redis_url=settings.redis_url,
        data_dir=settings.data_dir,
    )


async def _in_session(settings: Settings, work: Callable[[Any], Awaitable[Any]]) -> Any:
    from models.core.db import make_engine, make_sessionmaker, transaction

    assert settings.database_url
    engine = make_engine(settings.database_url, pool_size=2)
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            return await work(session)
    finally:
        await engine.dispose()


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    from cinema import migrate

    assert settings.database_url
    target = args.revision or ("base" if args.direction == "down" else "heads")
    if args.direction == "down":
        migrate.downgrade(settings.database_url, target)
    else:
        migrate.upgrade(settings.database_url, target)
    print(f"migrations: {args.direction} to {target} done")
    return 0


def cmd_create_user(settings: Settings, args: argparse.Namespace) -> int:
    from models.accounts.service import do_create_user
    from models.accounts.tables import Role
    from models.core.errors import DomainError

    username = args.username or args.email.split("@")[0]

    async def work(session: Any) -> Any:
        return await do_create_user(
            session,
            email=args.email,
            username=username,
            password=args.password,
            role=Role(args.role),
        )

    try:
        user = asyncio.run(_in_session(settings, work))
    except DomainError as exc:
        print(f"error: {exc.code}: {exc.message}", file=sys.stderr)
        return 2
    print(f"created {user.role.value} {user.email} (username {user.username}, id {user.id})")
    return 0


def cmd_seed(settings: Settings, args: argparse.Namespace) -> int:
    from functools import partial

    from cinema.seed import DemoImages, seed_demo

    images = DemoImages(settings.media_dir / "images", settings.public_url)
    users = asyncio.run(_in_session(settings, partial(seed_demo, images=images)))
    for u in users:
        print(f"  {u.role.value:<6} {u.email:<22} password: {u.password}")
    return 0


def cmd_import_imdb(settings: Settings, args: argparse.Namespace) -> int:
    from cinema.catalog_cli import import_imdb_command

    return import_imdb_command(settings, args)


def cmd_import_catalog(settings: Settings, args: argparse.Namespace) -> int:
    from cinema.catalog_cli import import_catalog_command

    return import_catalog_command(settings, args)


def cmd_generate_catalog(settings: Settings, args: argparse.Namespace) -> int:
    from cinema.catalog_cli import generate_catalog_command

    return generate_catalog_command(settings, args)


def cmd_ingest_media(settings: Settings, args: argparse.Namespace) -> int:
    from cinema.ingest import ingest_media
    from models.core.errors import DomainError

    if not Path(args.file).is_file():
        print(f"error: no such file: {args.file}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(
            ingest_media(settings, target=args.target, file=Path(args.file), inline=args.inline)
        )
    except DomainError as exc:
        print(f"error: {exc.code}: {exc.message}", file=sys.stderr)
        return 2


def cmd_media_backfill(settings: Settings, args: argparse.Namespace) -> int:
    from cinema.media_cli import media_backfill_command

    return media_backfill_command(settings, args)


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    host, port = args.host or settings.host, args.port or settings.port
    try:
        settings.check_secret(host=host)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    # The app factory reads Settings from the environment: make it see where we listen, so
    # PUBLIC_URL (links in mails, playback URLs) defaults to this address.
    os.environ["HOST"], os.environ["PORT"] = host, str(port)
    _use_metrics_dir(settings)
    uvicorn.run(
        "cinema.app:asgi_factory",
        factory=True,
        host=host,
        port=port,
        workers=args.workers,
        log_config=None,
        proxy_headers=True,
        forwarded_allow_ips=",".join(settings.trusted_proxies),
        **websocket_options(settings),
    )
    return 0


def websocket_options(settings: Settings) -> dict[str, Any]:
    """How uvicorn serves WebSockets (realtime/websocket.py says why): no permessage-deflate,
    no WebSocket-level ping (Engine.IO pings), frames written once for many sockets."""
    return {
        "ws": "realtime.websocket:LeanWebSocketProtocol",
        "ws_max_size": settings.socketio_max_payload_bytes,
        "ws_per_message_deflate": False,
        "ws_ping_interval": None,
    }


def _use_metrics_dir(settings: Settings) -> None:
    """Before any metric is taken: samples go to files a scrape sums (uvicorn's worker
    processes and `cinema run`'s children inherit the setting)."""
    if settings.metrics_enabled:
        from models.core import metrics

        metrics.use_directory(settings.metrics_path)
        os.environ["METRICS_DIR"] = str(settings.metrics_path.resolve())


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    _use_metrics_dir(settings)
    from cinema.worker import create_worker
    from models.core import tracing

    tracing.setup(
        endpoint=settings.otel_exporter_otlp_endpoint,
        service=settings.otel_service_name,
        process="worker",
    )

    if settings.metrics_enabled and settings.metrics_worker_port:
        from models.core import metrics

        metrics.serve_worker(settings.metrics_worker_host, settings.metrics_worker_port)
    create_worker(settings).run()
    return 0


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    """Migrate, seed, then run the web process and the worker until Ctrl-C."""
    from cinema import migrate

    assert settings.database_url and settings.redis_url
    migrate.upgrade(settings.database_url)
    print("\nDemo accounts:")
    cmd_seed(settings, args)
    if not args.no_demo_video:
        from cinema.demo_video import queue_demo_video

        try:
            print("Demo video:", asyncio.run(queue_demo_video(settings)))
        except Exception as exc:  # a demo nicety must not keep the server from starting
            print(f"Demo video: skipped ({exc})")
    env = {**os.environ, "DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url}
    catcher = None
    if "SMTP_HOST" not in os.environ:
        try:
            from cinema import mailcatcher
        except ImportError:  # aiosmtpd comes with the local extra
            print("Mail: not caught (install the local extra, or set SMTP_HOST)")
        else:
            catcher, smtp_port = mailcatcher.start(settings.data_dir / "mail")
            env.update(SMTP_HOST="127.0.0.1", SMTP_PORT=str(smtp_port))
    host, port = settings.host, settings.port
    exe = [sys.executable, "-m", "cinema.cli"]
    children = [
        subprocess.Popen([*exe, "serve", "--host", host, "--port", str(port)], env=env),
        subprocess.Popen([*exe, "worker"], env=env),
    ]
    print(
        f"\nCinema is running on http://{host}:{port}\n"
        f"  API docs:   http://{host}:{port}/docs\n"
        f'  Socket.IO:  ws://{host}:{port}/socket.io/ (auth: {{"token": "<access token>"}})\n'
        f"  Data:       {settings.data_dir.resolve()}\n"
        + (
            "  Mail:       caught locally, links printed here and kept in .data/mail\n"
            if catcher
            else ""
        )
        + "Press Ctrl-C to stop.\n",
        flush=True,
    )
    stopping = False

    def stop(*_: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        while not stopping and all(c.poll() is None for c in children):
            time.sleep(0.2)
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGINT)
        deadline = time.monotonic() + 10
        for child in children:
            try:
                child.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
        if catcher is not None:
            catcher.stop()
    failed = [c for c in children if c.returncode not in (0, -2, -15, None)]
    return 1 if failed and not stopping else 0


def cmd_events_doc(settings: Settings, args: argparse.Namespace) -> int:
    import realtime.handlers  # noqa: F401
    from realtime.catalogue import render_markdown
    from realtime.registry import events

    args.output.write_text(render_markdown(events) + "\n")
    print(f"wrote {args.output}")
    return 0


def cmd_api_schemas(settings: Settings, args: argparse.Namespace) -> int:
    """The documents the server serves at /openapi.json and /asyncapi.json, written without
    a running server (the web app generates its TypeScript types from them)."""
    import json

    import realtime.handlers  # noqa: F401  (registers socket events)
    from http_api.app import all_endpoints
    from http_api.openapi import build_openapi
    from realtime.catalogue import build_asyncapi
    from realtime.registry import events

    args.output.mkdir(parents=True, exist_ok=True)
    docs = {
        "openapi.json": build_openapi(all_endpoints(), title="Cinema API", version="1"),
        "asyncapi.json": build_asyncapi(events),
    }
    for name, doc in docs.items():
        (args.output / name).write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    print(f"wrote {', '.join(docs)} to {args.output}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cinema", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    def add(
        name: str, fn: Callable[[Settings, argparse.Namespace], int], help: str
    ) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help)
        sp.set_defaults(_fn=fn)
        return sp

    run = add("run", cmd_run, "migrate, seed demo data, serve and run the worker (make run)")
    run.add_argument(
        "--no-demo-video",
        action="store_true",
        help="do not give the demo film a generated video (its transcode takes a minute of CPU)",
    )
    serve = add("serve", cmd_serve, "serve HTTP and Socket.IO")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int, default=None)
    add("worker", cmd_worker, "run the background job worker")
    mig = add("migrate", cmd_migrate, "apply (or revert) database migrations")
    mig.add_argument("direction", nargs="?", choices=["up", "down"], default="up")
    mig.add_argument("revision", nargs="?")
    cu = add("create-user", cmd_create_user, "create a user with a role")
    cu.add_argument("email")
    cu.add_argument("--password", required=True)
    cu.add_argument("--role", choices=["user", "editor", "admin"], default="user")
    cu.add_argument("--username")
    add("seed", cmd_seed, "load the demo catalog and demo users")
    doc = add("events-doc", cmd_events_doc, "write the Socket.IO event catalogue (markdown)")
    doc.set_defaults(_offline=True)
    doc.add_argument("--output", type=Path, default=Path("docs/events.md"))
    sch = add("api-schemas", cmd_api_schemas, "write openapi.json and asyncapi.json (offline)")
    sch.set_defaults(_offline=True)
    sch.add_argument("output", type=Path, help="folder to write them in")
    ic = add("import-catalog", cmd_import_catalog, "import titles from JSON Lines or a JSON array")
    ic.add_argument("file")
    ic.add_argument("--json", action="store_true", help="print the report as JSON")
    ic.add_argument(
        "--create-genres", action="store_true", help="create genres the catalog does not know"
    )
    ii = add("import-imdb", cmd_import_imdb, "import IMDb's non-commercial TSV datasets")
    ii.add_argument("folder", help="holds title.basics, title.ratings, title.episode, "
                    "title.principals and name.basics (.tsv or .tsv.gz)")  # fmt: skip
    ii.add_argument("--kinds", default="movie,tvMovie,tvSeries,tvMiniSeries",
                    help="IMDb title types, comma-separated")  # fmt: skip
    ii.add_argument("--year-from", type=int)
    ii.add_argument("--year-to", type=int)
    ii.add_argument("--min-votes", type=int, default=0)
    ii.add_argument("--limit", type=int, help="at most this many titles, most voted first")
    ii.add_argument("--create-genres", action="store_true")
    ii.add_argument("--json", action="store_true", help="print the report as JSON")
    gc = add("generate-catalog", cmd_generate_catalog, "add a synthetic catalog (benchmarks)")
    gc.add_argument("--titles", type=int, required=True)
    gc.add_argument("--people", type=int, default=None)
    gc.add_argument("--seed", type=int, default=42)
    im = add("ingest-media", cmd_ingest_media, "transcode a file for a film or an episode")
    im.add_argument("target", help="title:ID (a film), episode:ID, or an id that is one of them")
    im.add_argument("file")
    im.add_argument("--inline", action="store_true", help="transcode here, without a worker")
    mb = add(
        "media-backfill",
        cmd_media_backfill,
        "copy published revisions, sources and dubs on this disk to the S3 store (MEDIA_STORE=s3)",
    )
    mb.set_defaults(_offline=True)  # the disk and the bucket only: no database, no Redis
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:
        problems = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
        print(f"error: settings: {problems}", file=sys.stderr)
        return 2
    if getattr(args, "_offline", False):
        return int(args._fn(settings, args))
    setup_logging(
        level=settings.log_level,
        log_dir=settings.log_dir,
        as_json=settings.log_json,
        to_file=settings.log_file,
    )
    services = _services(settings)
    try:
        settings = settings.model_copy(
            update={"database_url": services.database_url, "redis_url": services.redis_url}
        )
        return int(args._fn(settings, args))
    finally:
        services.stop()


if __name__ == "__main__":
    sys.exit(main())
