"""Import IMDb's non-commercial datasets (title.basics, title.ratings, title.episode,
title.principals, name.basics: tab-separated, first line the column names, `\\N` for none,
gzipped or not) as published.

Each file is COPied into a temporary staging table (all text, so a dirty value never stops
the load); the title files whole, the big ones (principals, episodes, names) filtered on the
way to the titles picked, so 100k titles do not stage 90M principals. Then set-based
upserts, in one transaction: titles (matched on "ext:<tconst>", the JSON importer's
`external_id` key too), their genres (standard names, synonyms, `create_genres`), people
("ext:<nconst>"), credits (actors, directors, writers; the principals' order), and the
seasons and episodes of the series. Running it again updates the same rows.

The picked titles: `kinds` (IMDb title types), a year range, a minimum number of votes,
the most voted first up to `limit`. A title's popularity is its number of votes (IMDb's
ratings are not our users' ratings, so they are not stored as such).
"""

from __future__ import annotations

import gzip
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from models.catalog.importer import ImportReport, Problem, _Lookups
from models.catalog.search import REFRESH_BATCH, refresh_titles

FILES: dict[str, tuple[str, tuple[str, ...]]] = {
    "basics": (
        "title.basics",
        (
            "tconst",
            "title_type",
            "primary_title",
            "original_title",
            "is_adult",
            "start_year",
            "end_year",
            "runtime_minutes",
            "genres",
        ),
    ),
    "ratings": ("title.ratings", ("tconst", "average_rating", "num_votes")),
    "episodes": ("title.episode", ("tconst", "parent_tconst", "season_number", "episode_number")),
    "principals": (
        "title.principals",
        ("tconst", "ordering", "nconst", "category", "job", "characters"),
    ),
    "names": (
        "name.basics",
        (
            "nconst",
            "primary_name",
            "birth_year",
            "death_year",
            "primary_profession",
            "known_for_titles",
        ),
    ),
}
SERIES_TYPES = ("tvSeries", "tvMiniSeries")
DEFAULT_KINDS = ("movie", "tvMovie", "tvSeries", "tvMiniSeries")
ALL_KINDS = (
    "movie", "short", "tvMovie", "tvSeries", "tvMiniSeries", "tvSpecial", "tvShort", "video",
)  # fmt: skip
# IMDb principal categories -> our credit roles; other crafts (producer, composer...) are not
# credited here.
ROLES = {"actor": "actor", "actress": "actor", "self": "actor", "director": "director",
         "writer": "writer"}  # fmt: skip
CHUNK = 1 << 16

Progress = Callable[[str, int, int, int], None]  # (file, bytes read, bytes in all, rows)


@dataclass
class ImdbOptions:
    kinds: Sequence[str] = DEFAULT_KINDS
    year_from: int | None = None
    year_to: int | None = None
    min_votes: int = 0
    limit: int | None = None
    create_genres: bool = False


@dataclass
class ImdbReport(ImportReport):
    people: int = 0
    credits: int = 0
    seasons: int = 0
    episodes: int = 0
    staged: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return super().as_dict() | {
            "people": self.people,
            "credits": self.credits,
            "seasons": self.seasons,
            "episodes": self.episodes,
            "staged": self.staged,
            "seconds": self.seconds,
        }

    def lines(self) -> list[str]:
        out = super().lines()
        out.insert(
            1,
            f"{self.people:,} people, {self.credits:,} credits, {self.seasons:,} seasons, "
            f"{self.episodes:,} episodes in {self.seconds:.1f} s",
        )
        return out


def find_files(folder: Path) -> dict[str, Path]:
    """The dataset's files in a folder (`<name>.tsv.gz` or `<name>.tsv`); missing ones are
    named in the error."""
    found: dict[str, Path] = {}
    missing = []
    for key, (name, _) in FILES.items():
        for candidate in (folder / f"{name}.tsv.gz", folder / f"{name}.tsv"):
            if candidate.is_file():
                found[key] = candidate
                break
        else:
            missing.append(f"{name}.tsv(.gz)")
    if missing:
        raise FileNotFoundError(f"not in {folder}: {', '.join(missing)}")
    return found


class _Reader:
    """A dataset file's lines (gunzipped as needed), counting the bytes read from disk."""

    def __init__(self, path: Path) -> None:
        self.raw: BinaryIO = path.open("rb")
        self.size = path.stat().st_size
        self.lines: Any = gzip.GzipFile(fileobj=self.raw) if path.suffix == ".gz" else self.raw

    @property
    def done(self) -> int:
        return self.raw.tell()

    def close(self) -> None:
        self.lines.close()
        self.raw.close()


async def _stage(
    conn: AsyncConnection,
    pg: Any,
    table: str,
    path: Path,
    columns: tuple[str, ...],
    *,
    keep: set[bytes] | None,
    key: int,
    progress: Progress,
    done_before: int,
    total: int,
) -> int:
    """COPY the file into a text-only temporary table, only the lines whose column `key` is
    in `keep` when given. CSV mode with a quote character the data never holds: IMDb text
    has quotes and backslashes, which the text format would read as escapes."""
    await conn.execute(
        text(
            f"CREATE TEMP TABLE {table} ({', '.join(f'{c} text' for c in columns)}) ON COMMIT DROP"
        )
    )
    reader = _Reader(path)
    rows = 0
    name = path.name

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal rows
        header = reader.lines.readline()
        if header.rstrip(b"\r\n").split(b"\t") != [c.encode() for c in _published(table)]:
            raise ValueError(f"{name}: unexpected columns {header[:200]!r}")
        buffer: list[bytes] = []
        size = 0
        last = 0.0
        for line in reader.lines:
            if keep is not None and line.split(b"\t", key + 1)[key] not in keep:
                continue
            buffer.append(line)
            size += len(line)
            rows += 1
            if size >= CHUNK:
                yield b"".join(buffer)
                buffer.clear()
                size = 0
                now = time.monotonic()
                if now - last > 0.25:
                    last = now
                    progress(name, done_before + reader.done, total, rows)
        if buffer:
            yield b"".join(buffer)
        progress(name, done_before + reader.size, total, rows)

    try:
        await pg.copy_to_table(
            table,
            source=chunks(),
            columns=list(columns),
            format="csv",
            delimiter="\t",
            quote="\x01",
            null="\\N",
        )
    finally:
        reader.close()
    return rows


def _published(table: str) -> list[str]:
    """The column names as IMDb's header line has them."""
    return {
        "imdb_basics": ["tconst", "titleType", "primaryTitle", "originalTitle", "isAdult",
                        "startYear", "endYear", "runtimeMinutes", "genres"],
        "imdb_ratings": ["tconst", "averageRating", "numVotes"],
        "imdb_episodes": ["tconst", "parentTconst", "seasonNumber", "episodeNumber"],
        "imdb_principals": ["tconst", "ordering", "nconst", "category", "job", "characters"],
        "imdb_names": ["nconst", "primaryName", "birthYear", "deathYear", "primaryProfession",
                       "knownForTitles"],
    }[table]  # fmt: skip


def _int(column: str) -> str:
    return f"(CASE WHEN {column} ~ '^[0-9]{{1,9}}$' THEN CAST({column} AS integer) END)"


_PICK = f"""
    CREATE TEMP TABLE imdb_pick ON COMMIT DROP AS
    SELECT b.tconst, b.title_type, b.primary_title, b.original_title, b.genres,
           {_int("b.start_year")} AS year, {_int("b.runtime_minutes")} AS runtime,
           coalesce({_int("r.num_votes")}, 0) AS votes
    FROM imdb_basics b LEFT JOIN imdb_ratings r ON r.tconst = b.tconst
    WHERE b.title_type = ANY(:kinds) AND b.is_adult IS DISTINCT FROM '1'
      AND b.primary_title IS NOT NULL AND btrim(b.primary_title) <> ''
      AND (CAST(:year_from AS integer) IS NULL OR {_int("b.start_year")} >= :year_from)
      AND (CAST(:year_to AS integer) IS NULL OR {_int("b.start_year")} <= :year_to)
      AND coalesce({_int("r.num_votes")}, 0) >= :min_votes
    ORDER BY votes DESC, b.tconst
    LIMIT :limit
"""

_UPSERT_TITLES = f"""
    CREATE TEMP TABLE imdb_ids ON COMMIT DROP AS
    WITH up AS (
        INSERT INTO titles (kind, title, original_title, year, runtime_minutes, popularity,
                            import_key)
        SELECT CASE WHEN p.title_type IN {SERIES_TYPES!r} THEN 'series' ELSE 'film' END,
               left(btrim(p.primary_title), 300),
               CASE WHEN p.original_title <> p.primary_title
                    THEN left(btrim(p.original_title), 300) END,
               CASE WHEN p.year BETWEEN 1870 AND 2200 THEN p.year END,
               CASE WHEN p.runtime BETWEEN 1 AND 10000 THEN p.runtime END,
               p.votes, 'ext:' || p.tconst
        FROM imdb_pick p
        ON CONFLICT (import_key) DO UPDATE SET
            kind = excluded.kind, title = excluded.title,
            original_title = excluded.original_title, year = excluded.year,
            runtime_minutes = excluded.runtime_minutes, popularity = excluded.popularity,
            updated_at = now()
        RETURNING id, import_key, (xmax = 0) AS inserted
    )
    SELECT substr(import_key, 5) AS tconst, id AS title_id, inserted FROM up
"""

_GENRE_NAMES = """
    SELECT g AS name, count(*) AS titles, (array_agg(p.primary_title ORDER BY p.votes DESC))[1:3]
    FROM imdb_pick p, unnest(string_to_array(p.genres, ',')) AS g
    WHERE g <> '' GROUP BY g
"""

_SET_GENRES = (
    "DELETE FROM title_genres WHERE title_id IN (SELECT title_id FROM imdb_ids)",
    """
    INSERT INTO title_genres (title_id, genre_id)
    SELECT DISTINCT i.title_id, m.genre_id
    FROM imdb_pick p JOIN imdb_ids i ON i.tconst = p.tconst,
         unnest(string_to_array(p.genres, ',')) AS g
         JOIN imdb_genre_map m ON m.name = g
    """,
)

_ROLE_CASE = "CASE pr.category " + " ".join(
    f"WHEN '{k}' THEN '{v}'" for k, v in ROLES.items()
) + " END"  # fmt: skip

_UPSERT_PEOPLE = f"""
    CREATE TEMP TABLE imdb_people ON COMMIT DROP AS
    WITH up AS (
        INSERT INTO people (name, import_key)
        SELECT left(btrim(n.primary_name), 300), 'ext:' || n.nconst
        FROM imdb_names n
        WHERE n.primary_name IS NOT NULL AND btrim(n.primary_name) <> ''
          AND n.nconst IN (SELECT pr.nconst FROM imdb_principals pr
                           WHERE {_ROLE_CASE} IS NOT NULL)
        ON CONFLICT (import_key) DO UPDATE SET name = excluded.name
        RETURNING id, import_key
    )
    SELECT substr(import_key, 5) AS nconst, id AS person_id FROM up
"""

_SET_CREDITS = (
    "DELETE FROM credits WHERE title_id IN (SELECT title_id FROM imdb_ids)",
    f"""
    INSERT INTO credits (title_id, person_id, role, character, position)
    SELECT title_id, person_id, role, character,
           row_number() OVER (PARTITION BY title_id ORDER BY ordering, person_id) - 1
    FROM (
        SELECT DISTINCT ON (i.title_id, pe.person_id, {_ROLE_CASE})
               i.title_id, pe.person_id, {_ROLE_CASE} AS role,
               CASE WHEN {_ROLE_CASE} = 'actor' AND pr.characters LIKE '[%' THEN left(
                   regexp_replace(regexp_replace(pr.characters, '^\\["|"\\]$', '', 'g'),
                                  '"\\s*,\\s*"', ' / ', 'g'),
                   300) END AS character,
               {_int("pr.ordering")} AS ordering
        FROM imdb_principals pr
        JOIN imdb_ids i ON i.tconst = pr.tconst
        JOIN imdb_people pe ON pe.nconst = pr.nconst
        WHERE {_ROLE_CASE} IS NOT NULL
        ORDER BY i.title_id, pe.person_id, {_ROLE_CASE}, {_int("pr.ordering")}
    ) AS c
    """,
)

_LOST_CREDITS = f"""
    SELECT count(*) FROM imdb_principals pr
    WHERE {_ROLE_CASE} IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM imdb_people pe WHERE pe.nconst = pr.nconst)
"""

_EPISODES = f"""
    CREATE TEMP TABLE imdb_eps ON COMMIT DROP AS
    SELECT i.title_id, {_int("e.season_number")} AS season, {_int("e.episode_number")} AS number,
           e.tconst
    FROM imdb_episodes e JOIN imdb_ids i ON i.tconst = e.parent_tconst
"""

_SET_EPISODES = (
    """
    WITH added AS (
        INSERT INTO seasons (title_id, number, name)
        SELECT DISTINCT title_id, season, 'Season ' || season FROM imdb_eps
        WHERE season BETWEEN 0 AND 10000 AND number BETWEEN 0 AND 100000
        ON CONFLICT (title_id, number) DO NOTHING
        RETURNING id
    ) SELECT count(*) FROM added
    """,
    f"""
    WITH up AS (
        INSERT INTO episodes (season_id, number, title, runtime_minutes)
        SELECT DISTINCT ON (s.id, x.number) s.id, x.number,
               left(coalesce(nullif(btrim(b.primary_title), ''), 'Episode ' || x.number), 300),
               CASE WHEN {_int("b.runtime_minutes")} BETWEEN 1 AND 10000
                    THEN {_int("b.runtime_minutes")} END
        FROM imdb_eps x
        JOIN seasons s ON s.title_id = x.title_id AND s.number = x.season
        LEFT JOIN imdb_basics b ON b.tconst = x.tconst
        WHERE x.number BETWEEN 0 AND 100000
        ORDER BY s.id, x.number, x.tconst
        ON CONFLICT (season_id, number) DO UPDATE SET
            title = excluded.title, runtime_minutes = excluded.runtime_minutes
        RETURNING id
    ) SELECT count(*) FROM up
    """,
)

_UNNUMBERED = """
    SELECT count(*), (array_agg(tconst))[1:3] FROM imdb_eps
    WHERE season IS NULL OR number IS NULL OR season NOT BETWEEN 0 AND 10000
"""


async def _column(conn: AsyncConnection, sql: str) -> set[bytes]:
    return {str(v).encode() for (v,) in await conn.execute(text(sql))}


async def import_imdb(
    engine: AsyncEngine,
    folder: Path,
    options: ImdbOptions | None = None,
    *,
    progress: Progress | None = None,
) -> ImdbReport:
    """Stage, pick and upsert, in one transaction; the search documents of the imported
    titles are refreshed in it too, so a failed run leaves nothing half-imported."""
    opts = options or ImdbOptions()
    say = progress or (lambda *_: None)
    files = find_files(folder)
    total = sum(p.stat().st_size for p in files.values())
    report = ImdbReport()
    started = time.monotonic()
    async with engine.begin() as conn:
        pg: Any = (await conn.get_raw_connection()).driver_connection
        read = 0

        async def stage(key: str, keep: set[bytes] | None = None, on: int = 0) -> None:
            nonlocal read
            path = files[key]
            table = f"imdb_{key}"
            report.staged[FILES[key][0]] = await _stage(
                conn, pg, table, path, FILES[key][1], keep=keep, key=on, progress=say,
                done_before=read, total=total,
            )  # fmt: skip
            read += path.stat().st_size

        await stage("basics")
        await stage("ratings")
        await conn.execute(
            text(_PICK),
            {
                "kinds": list(opts.kinds),
                "year_from": opts.year_from,
                "year_to": opts.year_to,
                "min_votes": opts.min_votes,
                "limit": opts.limit,
            },
        )
        picked = await _column(conn, "SELECT tconst FROM imdb_pick")
        series = await _column(
            conn, f"SELECT tconst FROM imdb_pick WHERE title_type IN {SERIES_TYPES!r}"
        )
        report.rows = len(picked)
        await stage("episodes", series, on=1)
        await stage("principals", picked, on=0)
        await stage("names", await _column(conn, "SELECT DISTINCT nconst FROM imdb_principals"))

        await conn.execute(text(_UPSERT_TITLES))
        counts = (
            await conn.execute(
                text("SELECT count(*) FILTER (WHERE inserted), count(*) FROM imdb_ids")
            )
        ).one()
        report.created, report.updated = counts[0], counts[1] - counts[0]
        await _genres(conn, opts, report)
        await conn.execute(text(_UPSERT_PEOPLE))
        report.people = (await conn.execute(text("SELECT count(*) FROM imdb_people"))).scalar_one()
        await conn.execute(
            text(
                "UPDATE people SET search_name = cinema_norm(name) "
                "WHERE id IN (SELECT person_id FROM imdb_people)"
            )
        )
        for stmt in _SET_CREDITS:
            await conn.execute(text(stmt))
        report.credits = (
            await conn.execute(
                text(
                    "SELECT count(*) FROM credits WHERE title_id IN (SELECT title_id FROM imdb_ids)"
                )
            )
        ).scalar_one()
        lost = (await conn.execute(text(_LOST_CREDITS))).scalar_one()
        if lost:
            report.warn_many(
                Problem(0, None, "credit of a person name.basics lacks; skipped"), lost
            )
        await conn.execute(text(_EPISODES))
        report.seasons = (await conn.execute(text(_SET_EPISODES[0]))).scalar_one()
        report.episodes = (await conn.execute(text(_SET_EPISODES[1]))).scalar_one()
        unnumbered, examples = (await conn.execute(text(_UNNUMBERED))).one()
        if unnumbered:
            report.warn_many(
                Problem(0, examples[0], "episode without a season or episode number; skipped"),
                unnumbered,
            )
        ids = [i for (i,) in await conn.execute(text("SELECT title_id FROM imdb_ids"))]
        for start in range(0, len(ids), REFRESH_BATCH):
            await refresh_titles(conn, ids[start : start + REFRESH_BATCH])
            say("search documents", start + REFRESH_BATCH, len(ids), start + REFRESH_BATCH)
    report.seconds = round(time.monotonic() - started, 1)
    return report


async def _genres(conn: AsyncConnection, opts: ImdbOptions, report: ImdbReport) -> None:
    """Each genre name of the picked titles mapped once (standard, synonym, created), then
    the links replaced in two statements."""
    lookups = _Lookups(create_genres=opts.create_genres)
    session = AsyncSession(bind=conn)
    await lookups.load(session)
    mapping: list[tuple[str, int]] = []
    for name, titles, examples in await conn.execute(text(_GENRE_NAMES)):
        gid = await lookups.genre(session, name, report)
        if gid is None:
            report.warn_many(
                Problem(0, examples[0] if examples else None, f"unknown genre {name!r} skipped"),
                titles,
            )
        else:
            mapping.append((name, gid))
    await conn.execute(
        text("CREATE TEMP TABLE imdb_genre_map (name text, genre_id bigint) ON COMMIT DROP")
    )
    if mapping:
        await conn.execute(
            text("INSERT INTO imdb_genre_map VALUES (:name, :genre_id)"),
            [{"name": n, "genre_id": g} for n, g in mapping],
        )
    for stmt in _SET_GENRES:
        await conn.execute(text(stmt))
