"""The synthetic catalog generator (the 100k catalog itself runs in bench/, not here)."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select

from models.catalog.generate import generate_catalog
from models.catalog.tables import Credit, Title
from models.core.context import Context


async def test_generated_catalog_is_complete_and_searchable(
    ctx: Context, client: httpx.AsyncClient
) -> None:
    async with ctx.sessions() as session:
        titles_before = await session.scalar(select(func.count()).select_from(Title))
    report = await generate_catalog(ctx.engine, titles=40, people=60, seed=7, famous=False)
    assert report.titles == 40 and report.people >= 60
    assert 7 * 40 <= report.credits <= 13 * 40
    async with ctx.sessions() as session:
        assert (
            await session.scalar(select(func.count()).select_from(Title))
            == (titles_before or 0) + 40
        )
        last = (await session.scalars(select(Title).order_by(Title.id.desc()).limit(1))).one()
        assert last.search_title and last.search_vector
        credits = await session.scalar(
            select(func.count()).select_from(Credit).where(Credit.title_id == last.id)
        )
        assert credits and credits >= 7
    # New rows get ids after the generated ones (the sequences were moved on).
    detail = (await client.get(f"/api/v1/titles/{last.id}")).json()
    assert detail["credits"] and detail["genres"]
    found = (await client.get("/api/v1/titles", params={"q": last.title, "limit": 5})).json()
    assert last.id in [i["id"] for i in found["items"]]
