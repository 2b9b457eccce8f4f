"""A small demo catalog and demo users for `make run` (idempotent)."""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.accounts.service import do_create_user
from models.accounts.tables import Role, User
from models.catalog import posters
from models.catalog.search import refresh_everything
from models.catalog.tables import Episode, Genre, Season, Title, TitleGenre, TitleKind


@dataclass(frozen=True)
class DemoUser:
    email: str
    username: str
    password: str
    role: Role


DEMO_USERS = [
    DemoUser("admin@cinema.local", "admin", "demo-admin-pass", Role.admin),
    DemoUser("editor@cinema.local", "editor", "demo-editor-pass", Role.editor),
    DemoUser("ann@cinema.local", "ann", "demo-ann-pass", Role.user),
    DemoUser("bob@cinema.local", "bob", "demo-bob-pass", Role.user),
]

GENRES = {
    "drama": "Drama",
    "comedy": "Comedy",
    "sci-fi": "Science fiction",
    "crime": "Crime",
    "animation": "Animation",
    "documentary": "Documentary",
    "romance": "Romance",
    "thriller": "Thriller",
    "adventure": "Adventure",
    "family": "Family",
}

FILMS = [
    ("The Godfather", 1972, 175, "18+", ["crime", "drama"]),
    ("Amélie", 2001, 122, "12+", ["comedy", "romance"]),
    ("Star Wars: A New Hope", 1977, 121, "6+", ["sci-fi", "adventure"]),
    ("Spirited Away", 2001, 125, "6+", ["animation", "family", "adventure"]),
    ("Inception", 2010, 148, "12+", ["sci-fi", "thriller"]),
    ("The Avengers", 2012, 143, "12+", ["sci-fi", "adventure"]),
    ("Parasite", 2019, 132, "16+", ["thriller", "drama"]),
    ("March of the Penguins", 2005, 80, "0+", ["documentary", "family"]),
    ("Pulp Fiction", 1994, 154, "18+", ["crime"]),
    ("Paddington 2", 2017, 103, "0+", ["family", "comedy"]),
]


@dataclass(frozen=True)
class DemoImages:
    """Where the demo's posters are written (MEDIA_DIR/images) and the server's address
    that serves that folder at /images/ (PUBLIC_URL)."""

    folder: Path
    base_url: str

    def url(self, name: str) -> str:
        return f"{self.base_url.rstrip('/')}{posters.IMAGES_PATH}/{name}"


async def seed_demo(session: AsyncSession, *, images: DemoImages | None = None) -> list[DemoUser]:
    for demo in DEMO_USERS:
        exists = await session.scalar(select(User.id).where(func.lower(User.email) == demo.email))
        if not exists:
            await do_create_user(
                session,
                email=demo.email,
                username=demo.username,
                password=demo.password,
                role=demo.role,
            )
    genre_ids: dict[str, int] = {}
    for slug, name in GENRES.items():
        genre = await session.scalar(select(Genre).where(Genre.slug == slug))
        if genre is None:
            genre = Genre(slug=slug, name=name)
            session.add(genre)
            await session.flush()
        genre_ids[slug] = genre.id
    for name, year, runtime, age, genres in FILMS:
        if await session.scalar(select(Title.id).where(Title.title == name)):
            continue
        title = Title(
            kind=TitleKind.film,
            title=name,
            year=year,
            release_date=date(year, 6, 1),
            runtime_minutes=runtime,
            age_rating=age,
            description=f"{name} ({year}).",
        )
        session.add(title)
        await session.flush()
        session.add_all(TitleGenre(title_id=title.id, genre_id=genre_ids[g]) for g in genres)
    if not await session.scalar(select(Title.id).where(Title.title == "Night Signals")):
        series = Title(
            kind=TitleKind.series,
            title="Night Signals",
            year=2024,
            release_date=date(2024, 1, 5),
            age_rating="16+",
            description="A radio host hears messages from tomorrow.",
        )
        session.add(series)
        await session.flush()
        session.add(TitleGenre(title_id=series.id, genre_id=genre_ids["thriller"]))
        for number in (1, 2):
            season = Season(title_id=series.id, number=number, name=f"Season {number}")
            session.add(season)
            await session.flush()
            session.add_all(
                Episode(season_id=season.id, number=e, title=f"Episode {e}", runtime_minutes=45)
                for e in range(1, 5)
            )
    await session.flush()
    if images is not None:
        await _posters(session, images)
    await refresh_everything(session)  # search columns of the catalog (issue 3)
    return DEMO_USERS


async def _posters(session: AsyncSession, images: DemoImages) -> None:
    """Posters and backdrops for the demo titles, drawn here (models/catalog/posters.py).

    Only for the demo: a title whose poster an editor set elsewhere keeps it, and an
    imported catalog keeps its own URLs (drawing 100k posters would add minutes to an
    import). Our own URLs are rewritten on every seed, so the demo follows PUBLIC_URL."""
    images.folder.mkdir(parents=True, exist_ok=True)

    def ours(url: str | None) -> bool:  # drawn by an earlier seed, maybe at another address
        return url is None or urlsplit(url).path.startswith(f"{posters.IMAGES_PATH}/")

    genres_of = {name: genres for name, *_, genres in FILMS} | {"Night Signals": ["thriller"]}
    found = await session.scalars(select(Title).where(Title.title.in_(genres_of)))
    for title in found:
        genres = genres_of[title.title]
        drawn = {
            "poster": posters.poster_svg(
                title_id=title.id, title=title.title, year=title.year, genres=genres
            ),
            "backdrop": posters.backdrop_svg(title_id=title.id, genres=genres),
        }
        urls = {}
        for kind, svg in drawn.items():
            name = posters.file_name(kind, title.id, svg)
            path = images.folder / name
            # Gzipped beside it too: /images/ sends `name.gz` to browsers that take gzip.
            raw = svg.encode()
            for dest, body in (
                (path.with_name(name + ".gz"), gzip.compress(raw, mtime=0)),
                (path, raw),
            ):
                if not dest.is_file():
                    tmp = dest.with_name(dest.name + ".tmp")
                    tmp.write_bytes(body)
                    tmp.replace(dest)  # a server reading the folder never sees half a file
            urls[kind] = images.url(name)
        if ours(title.poster_url):
            title.poster_url = urls["poster"]
        if ours(title.backdrop_url):
            title.backdrop_url = urls["backdrop"]
    await session.flush()
