"""Posters drawn for the demo catalog: deterministic, distinct, text that fits, written by the
seed and served at /images/ for good."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select

from cinema.seed import FILMS, DemoImages, seed_demo
from models.catalog import posters
from models.catalog.tables import Title
from models.core.context import Context
from models.core.db import transaction

SVG = "{http://www.w3.org/2000/svg}"


def _lines(svg: str) -> list[ET.Element]:
    return [t for t in ET.fromstring(svg).iter(f"{SVG}text")]


def _stops(svg: str) -> list[str | None]:
    return [s.get("stop-color") for s in ET.fromstring(svg).iter(f"{SVG}stop")]


def test_a_poster_is_the_same_for_the_same_title_and_differs_between_titles() -> None:
    drawn = [
        posters.poster_svg(title_id=i, title=name, year=year, genres=genres)
        for i, (name, year, _, _, genres) in enumerate(FILMS, start=1)
    ]
    again = [
        posters.poster_svg(title_id=i, title=name, year=year, genres=genres)
        for i, (name, year, _, _, genres) in enumerate(FILMS, start=1)
    ]
    assert drawn == again
    assert len(set(drawn)) == len(FILMS)
    # Same facts, another id: another variation of the palette and motif.
    assert posters.poster_svg(title_id=1, title="X", year=2000, genres=["crime"]) != (
        posters.poster_svg(title_id=2, title="X", year=2000, genres=["crime"])
    )
    # The genre chooses the palette: the same id in another genre has other colours.
    crime = posters.poster_svg(title_id=5, title="X", year=2000, genres=["crime"])
    comedy = posters.poster_svg(title_id=5, title="X", year=2000, genres=["comedy"])
    assert _stops(crime) != _stops(comedy)


def test_the_title_is_wrapped_escaped_and_kept_inside_the_poster() -> None:
    long = "A Very Long Title Of Something Extraordinary: The Return <Of> The Kingdom & Co"
    svg = posters.poster_svg(title_id=7, title=long, year=1999, genres=["drama"])
    root = ET.fromstring(svg)  # well-formed: the <, > and & were escaped
    assert root.findtext(f"{SVG}title") == long
    texts = _lines(svg)
    title_lines = [t.text or "" for t in texts[:-1]]
    assert " ".join(title_lines) == long.upper()
    assert 2 <= len(title_lines) <= 5
    room = posters.POSTER_W - 2 * 44
    for t in texts:
        x = float(t.get("x", 0))
        assert x >= 0
        # Either the estimate says it fits, or the line is squeezed to the room exactly.
        size = float(t.get("font-size", 0))
        tracking = float(t.get("letter-spacing", 0)) / size
        fits = posters._width(t.text or "", size, tracking) <= room
        assert fits or t.get("textLength") == str(room)
    assert texts[-1].text == "1999 · DRAMA"
    one_word = _lines(posters.poster_svg(title_id=8, title="Up", year=None, genres=[]))
    assert [t.text for t in one_word] == ["UP"]


def test_a_short_last_word_is_not_left_alone_on_its_line() -> None:
    svg = posters.poster_svg(title_id=3, title="Paddington 2", year=2017, genres=["family"])
    assert [t.text for t in _lines(svg)][:-1] == ["PADDINGTON 2"]


async def test_the_seed_draws_the_demo_posters_and_the_server_serves_them(
    ctx: Context, client: httpx.AsyncClient
) -> None:
    folder = ctx.settings.media_dir / "images"
    async with transaction(ctx.sessions) as session:
        await seed_demo(session, images=DemoImages(folder, "http://testserver"))
    async with ctx.sessions() as session:
        demo = (await session.scalars(select(Title).where(Title.title == "Amélie"))).one()
        series = (await session.scalars(select(Title).where(Title.title == "Night Signals"))).one()
    assert demo.poster_url and demo.backdrop_url and series.poster_url
    path = urlsplit(demo.poster_url).path
    assert path.startswith("/images/poster-")
    r = await client.get(path)
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/svg+xml"
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert "AMÉLIE" in r.text
    packed = await client.get(path, headers={"accept-encoding": "gzip"})
    assert packed.headers["content-encoding"] == "gzip" and packed.text == r.text
    assert (await client.get(urlsplit(demo.backdrop_url).path)).status_code == 200
    assert (await client.get("/images/poster-0-000000000000.svg")).status_code == 404

    # An editor's own poster survives a re-seed; ours follow the server's new address.
    async with transaction(ctx.sessions) as session:
        title = await session.get(Title, demo.id)
        assert title is not None
        title.poster_url = "https://img.example.org/amelie.jpg"
    async with transaction(ctx.sessions) as session:
        await seed_demo(session, images=DemoImages(folder, "https://cinema.example"))
    async with ctx.sessions() as session:
        kept = await session.get(Title, demo.id)
        moved = await session.get(Title, series.id)
    assert kept is not None and moved is not None
    assert kept.poster_url == "https://img.example.org/amelie.jpg"
    assert kept.backdrop_url == "https://cinema.example" + urlsplit(demo.backdrop_url).path
    assert moved.poster_url == "https://cinema.example" + urlsplit(series.poster_url).path
    async with transaction(ctx.sessions) as session:  # other tests see the demo as seeded
        title = await session.get(Title, demo.id)
        assert title is not None
        title.poster_url = None
        await seed_demo(session, images=DemoImages(folder, "http://testserver"))
