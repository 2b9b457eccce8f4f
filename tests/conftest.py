"""Real PostgreSQL and Redis for every test run: a fresh database and a unique Redis prefix
per run, so parallel runs on one machine never see each other's data."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis

from cinema import migrate
from cinema.app import create_app
from cinema.ports import ServerExited, free_port, wait_ready
from cinema.worker import create_worker
from models.core.context import Context
from models.core.settings import Settings
from tests import services
from tests.factories import make_account
from tests.mail import Mailbox
from tests.media.helpers import make_film, make_source, wait_media

ROOT = Path(__file__).resolve().parent.parent
TEST_SECRET = "test-secret-" + "x" * 40


def pytest_configure(config: pytest.Config) -> None:
    # pytest's shared /tmp/pytest-of-<user> keeps only the three newest runs and deletes older
    # ones *while they run*: concurrent runs on one machine lose their log and data dirs.
    if not config.option.basetemp:
        config.option.basetemp = tempfile.mkdtemp(prefix="cinema-pytest-")
        config.stash[_OWN_BASETEMP] = config.option.basetemp


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    ours = session.config.stash.get(_OWN_BASETEMP, None)
    if ours and exitstatus == 0:  # kept on failure, for the server logs in it
        shutil.rmtree(ours, ignore_errors=True)


_OWN_BASETEMP = pytest.StashKey[str]()
_running: pytest.Item | None = None


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    global _running
    _running = item  # LiveServer asks it whether it may start (see _check_slow)


def _check_slow() -> None:
    """A test that starts server processes (or a browser, which needs one) is marked `slow`,
    so `make test-fast` (-m "not slow") is a quick loop that never starts one."""
    if _running is not None and _running.get_closest_marker("slow") is None:
        raise RuntimeError(f"{_running.nodeid} starts a server process: mark it @pytest.mark.slow")


def _with_db(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


@pytest.fixture(scope="session")
def service_urls() -> Iterator[tuple[str, str]]:
    admin_url, redis_url, stops = services.resolve()
    yield admin_url, redis_url
    for stop in stops:
        stop()  # type: ignore[operator]


@pytest.fixture(scope="session")
def database_url(service_urls: tuple[str, str]) -> Iterator[str]:
    admin_url, _ = service_urls
    name = f"cinema_test_{uuid.uuid4().hex[:12]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    url = _with_db(admin_url, name)
    migrate.upgrade(url)
    yield url
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def redis_prefix(service_urls: tuple[str, str]) -> Iterator[str]:
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    yield prefix

    async def cleanup() -> None:
        client = Redis.from_url(service_urls[1])
        try:
            async for key in client.scan_iter(match=f"{prefix}:*", count=1000):
                await client.delete(key)
        finally:
            await client.aclose()

    asyncio.run(cleanup())


@pytest.fixture(scope="session")
def web_app() -> Path:
    """The web app built into web/dist, as the servers of the run serve it at / (`make web`
    rebuilds only when its sources or the API changed; make test builds it first anyway)."""
    subprocess.run(["make", "-s", "web"], cwd=ROOT, check=True, timeout=600)
    return ROOT / "web" / "dist"


@pytest.fixture(scope="session")
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    box.start()
    yield box
    box.stop()


@pytest.fixture(scope="session")
def settings(
    service_urls: tuple[str, str],
    database_url: str,
    redis_prefix: str,
    mailbox: Mailbox,
    tmp_path_factory: pytest.TempPathFactory,
) -> Settings:
    base = tmp_path_factory.mktemp("run")
    return Settings(
        env="test",
        secret_key=TEST_SECRET,
        database_url=database_url,
        redis_url=service_urls[1],
        redis_prefix=redis_prefix,
        public_url="http://testserver",
        smtp_host="127.0.0.1",
        smtp_port=mailbox.port,
        log_dir=base / "logs",
        data_dir=base / "data",
        media_dir=base / "media",
        # Test clips last seconds: a thumbnail each second gives their seek bars a few.
        media_thumbnail_interval_s=1,
        cors_origins=["http://testserver", "http://127.0.0.1"],
        # Notifications: short windows so coalescing and deferred mail finish in a test;
        # the local Web Push service of tests/notifications listens on plain http.
        notify_group_window_s=8,
        notify_email_delay_s=1,
        push_endpoint_hosts=["127.0.0.1"],
        push_allow_http=True,
    )


def settings_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment that makes a child process use the same services and prefix."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_"))}
    env.update(
        ENV="test",
        SECRET_KEY=settings.secret_key.get_secret_value(),
        DATABASE_URL=settings.database_url or "",
        REDIS_URL=settings.redis_url or "",
        REDIS_PREFIX=settings.redis_prefix,
        SMTP_HOST=settings.smtp_host,
        SMTP_PORT=str(settings.smtp_port),
        LOG_DIR=str(settings.log_dir),
        DATA_DIR=str(settings.data_dir),
        MEDIA_DIR=str(settings.media_dir),
        CORS_ORIGINS='["http://testserver", "http://127.0.0.1"]',
        NOTIFY_GROUP_WINDOW_S=str(settings.notify_group_window_s),
        NOTIFY_EMAIL_DELAY_S=str(settings.notify_email_delay_s),
        PUSH_ENDPOINT_HOSTS='["127.0.0.1"]',
        PUSH_ALLOW_HTTP="true",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[Any]:
    asgi = create_app(settings)
    http = asgi.other_asgi_app
    async with http.router.lifespan_context(http):
        yield asgi


@pytest.fixture(scope="session")
async def ctx(app: Any) -> Context:
    context: Context = app.state.ctx
    return context


@pytest.fixture(scope="session")
async def worker(settings: Settings, app: Any) -> AsyncIterator[Any]:
    """A real arq worker on the run's queue, in this process."""
    w = create_worker(settings, handle_signals=False, poll_delay=0.05)
    task = asyncio.create_task(w.async_run())
    yield w
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
    await w.close()


# The transcoded film's subtitles: a cue, a gap, a cue (the player tests show each inside it).
FILM_SUBTITLES = """1
00:00:00,500 --> 00:00:02,000
First cue

2
00:00:03,000 --> 00:00:04,500
Second cue
"""


@pytest.fixture(scope="session")
async def transcoded_film(
    ctx: Context, app: Any, worker: Any, tmp_path_factory: pytest.TempPathFactory
) -> int:
    """A 20 s film with English stereo and French 5.1 audio, English subtitles and thumbnails,
    transcoded once for the run: the web app's player tests and the media players' play it."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as api:
        editor = await make_account(ctx, api, role="editor")
        film_id = await make_film(ctx, name="Web player")
        src = make_source(
            tmp_path_factory.mktemp("film") / "film.mkv",
            seconds=20,
            subtitles=(("eng", FILM_SUBTITLES),),
        )
        r = await api.put(
            f"/api/v1/titles/{film_id}/media/source?filename=film.mkv",
            content=src.read_bytes(),
            headers=editor.headers,
        )
        assert r.status_code == 202, r.text
        media = await wait_media(api, f"/api/v1/titles/{film_id}/media", editor.headers)
        assert media["status"] == "ready", media
    return film_id


@pytest.fixture
async def client(app: Any, worker: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


class LiveServer:
    """`cinema serve` in its own process, as a user would start it; `env` overrides settings."""

    def __init__(
        self,
        settings: Settings,
        port: int,
        env: dict[str, str] | None = None,
        args: list[str] | None = None,
    ) -> None:
        _check_slow()
        self.args = args or []
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        settings.log_dir.mkdir(parents=True, exist_ok=True)
        self.output = settings.log_dir / f"server-{port}.out"
        self._env = settings_env(settings, PUBLIC_URL=self.url, **(env or {}))
        self._out = self.output.open("wb")
        self.proc = self._spawn()

    def _spawn(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "cinema.cli",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                *self.args,
            ],
            env=self._env,
            cwd=ROOT,
            stdout=self._out,
            stderr=subprocess.STDOUT,
        )

    def restart(self) -> None:
        """Start again on the same port once crashed or stopped, as a supervisor would."""
        assert self.proc.poll() is not None, "still running"
        if self._out.closed:
            self._out = self.output.open("ab")
        self.proc = self._spawn()

    def wait_ready(self, timeout: float = 120) -> None:
        # Generous: on a loaded 2-core machine importing the app alone can take 30 s.
        try:
            wait_ready(self.url, self.proc, timeout=timeout, every_s=0.1)
        except ServerExited as exc:
            err = self.output.read_text(errors="replace")
            raise RuntimeError(f"server on {self.port} exited: {err[-2000:]}") from exc

    @property
    def pid(self) -> int:
        return self.proc.pid

    def crash(self) -> None:
        """SIGKILL this server's own process: no shutdown, no socket close is ever seen."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self._out.close()


@contextlib.contextmanager
def worker_process(settings: Settings, name: str, **env: str) -> Iterator[subprocess.Popen[bytes]]:
    """`cinema worker` as a process of its own (output in the run's log folder as
    `<name>.out`), stopped when the block ends."""
    out = (settings.log_dir / f"{name}.out").open("wb")
    worker = subprocess.Popen(
        [sys.executable, "-m", "cinema.cli", "worker"],
        env=settings_env(settings, **env),
        cwd=ROOT,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    try:
        yield worker
    finally:
        worker.terminate()
        try:
            worker.wait(10)
        except subprocess.TimeoutExpired:
            worker.kill()
        out.close()


@pytest.fixture(scope="session")
def two_servers(settings: Settings, database_url: str) -> Iterator[tuple[LiveServer, LiveServer]]:
    """Two server processes sharing PostgreSQL and Redis (the normal deployment)."""
    servers = (LiveServer(settings, free_port()), LiveServer(settings, free_port()))
    try:
        for s in servers:
            s.wait_ready()
        yield servers
    finally:
        for s in servers:
            s.stop()


@pytest.fixture(scope="session")
def live_server(two_servers: tuple[LiveServer, LiveServer]) -> LiveServer:
    return two_servers[0]
