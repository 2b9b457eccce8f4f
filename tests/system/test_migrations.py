"""Migrations: upgrade on an empty database, down to base and up again, and no drift."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.pool import NullPool

from cinema import migrate
from models.core.db import make_engine
from models.tables import metadata
from tests.conftest import _with_db


@pytest.fixture
def empty_database(service_urls: tuple[str, str]) -> Iterator[str]:
    admin_url = service_urls[0]
    name = f"cinema_mig_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    yield _with_db(admin_url, name)
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _diff(url: str) -> list[Any]:
    async def run() -> list[Any]:
        engine = make_engine(url, poolclass=NullPool)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(
                    lambda sync: compare_metadata(
                        MigrationContext.configure(
                            sync, opts={"compare_type": True, "compare_server_default": True}
                        ),
                        metadata,
                    )
                )
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _tables(url: str) -> set[str]:
    async def run() -> set[str]:
        engine = make_engine(url, poolclass=NullPool)
        try:
            async with engine.connect() as conn:
                rows = await conn.execute(
                    text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
                )
                return {r[0] for r in rows}
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_upgrade_downgrade_upgrade_and_no_drift(empty_database: str) -> None:
    migrate.upgrade(empty_database)
    assert set(metadata.tables) <= _tables(empty_database)
    assert _diff(empty_database) == []
    migrate.downgrade(empty_database, "base")
    assert _tables(empty_database) <= {"alembic_version"}
    migrate.upgrade(empty_database)
    assert _diff(empty_database) == []
