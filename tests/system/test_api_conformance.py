"""The API as generated clients and tools read it: `schemathesis run` with every check and
every phase (examples, coverage, fuzzing, stateful) against a real server, once per role,
each with a token of its own (conformance_hooks.py), in a database of its own so what it
creates stays out of other tests. The run is bounded in tests/system/schemathesis.toml;
CONFORMANCE_EXAMPLES=N runs N fuzzing examples per operation instead (a deeper run)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.pool import NullPool

from cinema import migrate
from cinema.ports import free_port
from models.accounts.service import do_create_user
from models.accounts.tables import Role
from models.core.db import make_engine, make_sessionmaker, transaction
from models.core.settings import Settings
from tests.conftest import ROOT, LiveServer, _with_db, settings_env

HERE = Path(__file__).resolve().parent
# The user meets every operation; editors and admins those their role changes.
SCOPES = {
    Role.user: [],
    Role.editor: ["--include-tag-regex", "^(catalog|media|moderation)$"],
    Role.admin: ["--include-tag-regex", "^(catalog|accounts|moderation)$"],
}


@dataclass
class Conformance:
    server: LiveServer
    env: dict[str, str]
    users: dict[Role, uuid.UUID]


async def _admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _make_users(url: str) -> dict[Role, uuid.UUID]:
    engine = make_engine(url, poolclass=NullPool)
    try:
        out = {}
        for role in SCOPES:
            async with transaction(make_sessionmaker(engine)) as session:
                user = await do_create_user(
                    session,
                    email=f"conformance-{role.value}@example.com",
                    username=f"conformance_{role.value}",
                    password=f"conformance {role.value} passphrase",
                    role=role,
                )
            out[role] = user.id
        return out
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def conformance(
    service_urls: tuple[str, str], settings: Settings, redis_prefix: str
) -> Iterator[Conformance]:
    admin_url = service_urls[0]
    name = f"cinema_conf_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(admin_url, f'CREATE DATABASE "{name}"'))
    url = _with_db(admin_url, name)
    server = None
    try:
        migrate.upgrade(url)
        users = asyncio.run(_make_users(url))
        own = {"DATABASE_URL": url, "REDIS_PREFIX": f"{redis_prefix}:conformance"}
        server = LiveServer(settings, free_port(), own)
        server.wait_ready()
        yield Conformance(server, settings_env(settings, **own), users)
    finally:
        if server is not None:
            server.stop()
        asyncio.run(_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("role", list(SCOPES), ids=lambda r: r.value)
def test_schemathesis_finds_nothing(conformance: Conformance, role: Role) -> None:
    args = [
        str(Path(sys.executable).parent / "schemathesis"),
        "--config-file",
        str(HERE / "schemathesis.toml"),
        "--no-color",
        "run",
        f"{conformance.server.url}/openapi.json",
        *SCOPES[role],
    ]
    if examples := os.environ.get("CONFORMANCE_EXAMPLES"):
        args += ["--max-examples", examples]
    env = {
        **conformance.env,
        "SCHEMATHESIS_HOOKS": "tests.system.conformance_hooks",
        "CONFORMANCE_ROLE": role.value,
        "CONFORMANCE_USER_ID": str(conformance.users[role]),
    }
    run = subprocess.run(
        args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=840, check=False
    )
    report = conformance.server.output.parent / f"schemathesis-{role.value}.txt"
    report.write_text(run.stdout + run.stderr)
    summary = run.stdout[run.stdout.rfind("=== SUMMARY") :]
    assert run.returncode == 0, f"{summary}\n(the whole run: {report})"
