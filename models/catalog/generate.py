"""A synthetic catalog for benchmarks: 100k titles, ~1M credits and 50k people in minutes.

Rows are made in Python from a seeded random generator and loaded with PostgreSQL COPY
(asyncpg's `copy_records_to_table`); the search columns are then derived in SQL in one pass.
A few dozen well-known titles and people are mixed in so search benchmarks and demos have
realistic targets ("godfathr", "amelie", "dicaprio"). The other titles are made the way real
ones are (`TitleMaker`): common words repeated across the catalog, possessives, hyphenated
compounds, numbers and Roman numerals, sequels of earlier titles, and about 7 % in Cyrillic,
Greek, Japanese, Chinese or Korean (some with an English title and the original beside it).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pycountry
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from models.catalog import vocabulary as v
from models.catalog.search import refresh_everything

GENRES = [
    "Action", "Adventure", "Animation", "Biography", "Comedy", "Crime", "Documentary",
    "Drama", "Family", "Fantasy", "History", "Horror", "Music", "Musical", "Mystery",
    "Romance", "Science Fiction", "Sport", "Thriller", "War", "Western",
]  # fmt: skip
TAGS = [
    "based on a true story", "based on a novel", "time travel", "heist", "coming of age",
    "dystopia", "road movie", "space", "revenge", "friendship", "survival", "small town",
    "twist ending", "cult classic", "period piece", "superhero", "courtroom", "sequel",
    "remake", "black and white", "silent", "ensemble cast", "found footage", "satire",
]  # fmt: skip
CATEGORIES = ["Kids", "Documentaries", "New Releases", "Classics", "Award Winners", "Indie"]
AGE_RATINGS = ["G", "PG", "PG-13", "R", "NC-17", "0+", "6+", "12+", "16+", "18+"]
_FIRST = """James Mary John Patricia Robert Jennifer Michael Linda William Elizabeth David
Barbara Richard Susan Joseph Jessica Thomas Sarah Charles Karen Daniel Nancy Matthew Lisa
Anthony Betty Mark Margaret Donald Sandra Steven Ashley Paul Kimberly Andrew Emily Joshua
Donna Kenneth Michelle Kevin Dorothy Brian Carol George Amanda Timothy Melissa Ronald
Deborah Edward Stephanie Jason Rebecca Jeffrey Sharon Ryan Laura Jacob Cynthia Gary Kathleen
Nicholas Amy Eric Angela Jonathan Shirley Stephen Anna Larry Brenda Justin Pamela Scott
Emma Brandon Nicole Benjamin Helen Samuel Samantha Gregory Katherine Alexander Christine
Frank Debra Patrick Rachel Raymond Carolyn Jack Janet Dennis Catherine Jerry Maria Tyler
Heather Aaron Diane Jose Ruth Adam Julie Nathan Olivia Henry Joyce Douglas Virginia Zachary
Victoria Peter Kelly Kyle Lauren Ethan Christina Walter Joan Noah Evelyn Jeremy Judith
Christian Megan Keith Andrea Roger Cheryl Terry Hannah Gerald Jacqueline Harold Martha Sean
Gloria Austin Teresa Carl Ann Arthur Sara Lawrence Madison Dylan Frances Jesse Kathryn
Jordan Janice Bryan Jean Billy Abigail Joe Alice Bruce Julia Gabriel Judy Logan Sophia
Albert Grace Willie Denise Alan Amber Juan Doris Wayne Marilyn Elijah Danielle Randy Beverly
Roy Isabella Vincent Theresa Ralph Diana Eugene Natalie Russell Brittany Bobby Charlotte
Mason Marie Philip Kayla Louis Alexis Léa Chloé Zoë Renée José Inés Søren Björn Agnès
Hélène François Jürgen Zoltán Ngozi Hiroshi Yuki Priya Arjun Mei Wei Olga Dmitri Ingrid Lars
Aisha Omar Fatima Kofi Amara Mateo Valentina Santiago Camila Luca Giulia Pierre Amélie""".split()
_LAST = """Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez
Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White
Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres
Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts
Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales
Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim
Cox Ward Richardson Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price
Alvarez Castillo Sanders Patel Myers Long Ross Foster Jimenez Powell Jenkins Perry Russell
Sullivan Bell Coleman Butler Henderson Barnes Gonzales Fisher Vasquez Simmons Romero Jordan
Patterson Alexander Hamilton Graham Reynolds Griffin Wallace Moreno West Cole Hayes Bryant
Herrera Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro Marshall Owens Harrison
Fernandez McDonald Woods Washington Kennedy Wells Vargas Henry Chen Freeman Webb Tucker
Guzman Burns Crawford Olson Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder Mason
Dixon Muñoz Hunt Hicks Holmes Palmer Wagner Black Robertson Boyd Rose Stone Salazar Fox
Warren Mills Meyer Rice Schmidt Garza Daniels Ferguson Nichols Stephens Soto Weaver Ryan
Gardner Payne Grant Dunn Kelley Spencer Hawkins Arnold Pierce Hansen Peters Santos Hart
Bradley Knight Elliott Cunningham Duncan Armstrong Hudson Carroll Lane Riley Andrews Ray
Berry Perkins Hoffman Johnston Matthews Peña Richards Willis Carpenter Lawrence Sandoval
Dubois Lefèvre Müller Schröder Nørgaard Åkesson Kowalski Novák Yamamoto Tanaka Sato Suzuki
Watanabe Ivanova Petrov Okafor Mensah Haddad Rossi Bianchi Moreau Fontaine Lindqvist""".split()

# Well-known titles and people, so searches such as "godfathr" or "dicaprio" have targets.
FAMOUS: list[tuple[str, str | None, str, int, list[str], list[str]]] = [
    (
        "The Godfather",
        None,
        "film",
        1972,
        ["Crime", "Drama"],
        ["Marlon Brando", "Al Pacino", "Francis Ford Coppola"],
    ),
    (
        "The Godfather Part II",
        None,
        "film",
        1974,
        ["Crime", "Drama"],
        ["Al Pacino", "Robert De Niro", "Francis Ford Coppola"],
    ),
    (
        "The Avengers",
        None,
        "film",
        2012,
        ["Action", "Science Fiction"],
        ["Robert Downey Jr.", "Scarlett Johansson"],
    ),
    (
        "Avengers: Endgame",
        None,
        "film",
        2019,
        ["Action", "Science Fiction"],
        ["Robert Downey Jr.", "Chris Evans"],
    ),
    (
        "Star Wars",
        None,
        "film",
        1977,
        ["Science Fiction", "Adventure"],
        ["Mark Hamill", "Harrison Ford", "George Lucas"],
    ),
    (
        "Star Wars: The Empire Strikes Back",
        None,
        "film",
        1980,
        ["Science Fiction", "Adventure"],
        ["Mark Hamill", "Harrison Ford"],
    ),
    (
        "Amélie",
        "Le Fabuleux Destin d'Amélie Poulain",
        "film",
        2001,
        ["Comedy", "Romance"],
        ["Audrey Tautou", "Jean-Pierre Jeunet"],
    ),
    (
        "Titanic",
        None,
        "film",
        1997,
        ["Drama", "Romance"],
        ["Leonardo DiCaprio", "Kate Winslet", "James Cameron"],
    ),
    (
        "Inception",
        None,
        "film",
        2010,
        ["Science Fiction", "Thriller"],
        ["Leonardo DiCaprio", "Christopher Nolan"],
    ),
    (
        "The Revenant",
        None,
        "film",
        2015,
        ["Adventure", "Drama"],
        ["Leonardo DiCaprio", "Tom Hardy"],
    ),
    (
        "The Wolf of Wall Street",
        None,
        "film",
        2013,
        ["Biography", "Comedy"],
        ["Leonardo DiCaprio", "Martin Scorsese"],
    ),
    (
        "Catch Me If You Can",
        None,
        "film",
        2002,
        ["Biography", "Crime"],
        ["Leonardo DiCaprio", "Tom Hanks", "Steven Spielberg"],
    ),
    (
        "Pulp Fiction",
        None,
        "film",
        1994,
        ["Crime", "Drama"],
        ["John Travolta", "Uma Thurman", "Quentin Tarantino"],
    ),
    (
        "The Matrix",
        None,
        "film",
        1999,
        ["Action", "Science Fiction"],
        ["Keanu Reeves", "Carrie-Anne Moss"],
    ),
    (
        "Interstellar",
        None,
        "film",
        2014,
        ["Science Fiction", "Drama"],
        ["Matthew McConaughey", "Christopher Nolan"],
    ),
    (
        "Spirited Away",
        "Sen to Chihiro no Kamikakushi",
        "film",
        2001,
        ["Animation", "Fantasy"],
        ["Hayao Miyazaki"],
    ),
    (
        "The Lord of the Rings: The Fellowship of the Ring",
        None,
        "film",
        2001,
        ["Adventure", "Fantasy"],
        ["Elijah Wood", "Ian McKellen", "Peter Jackson"],
    ),
    (
        "Léon: The Professional",
        "Léon",
        "film",
        1994,
        ["Crime", "Drama"],
        ["Jean Reno", "Natalie Portman", "Luc Besson"],
    ),
    (
        "Crouching Tiger, Hidden Dragon",
        "Wo hu cang long",
        "film",
        2000,
        ["Action", "Adventure"],
        ["Chow Yun-fat", "Michelle Yeoh", "Ang Lee"],
    ),
    (
        "Schindler's List",
        None,
        "film",
        1993,
        ["Biography", "History"],
        ["Liam Neeson", "Steven Spielberg"],
    ),
    ("Forrest Gump", None, "film", 1994, ["Drama", "Romance"], ["Tom Hanks", "Robin Wright"]),
    ("Breaking Bad", None, "series", 2008, ["Crime", "Drama"], ["Bryan Cranston", "Aaron Paul"]),
    (
        "Game of Thrones",
        None,
        "series",
        2011,
        ["Drama", "Fantasy"],
        ["Emilia Clarke", "Kit Harington"],
    ),
    (
        "Stranger Things",
        None,
        "series",
        2016,
        ["Drama", "Horror"],
        ["Millie Bobby Brown", "Winona Ryder"],
    ),
    (
        "La Casa de Papel",
        "Money Heist",
        "series",
        2017,
        ["Crime", "Thriller"],
        ["Úrsula Corberó", "Álvaro Morte"],
    ),
    ("Das Boot", None, "film", 1981, ["Drama", "War"], ["Jürgen Prochnow", "Wolfgang Petersen"]),
    (
        "Cidade de Deus",
        "City of God",
        "film",
        2002,
        ["Crime", "Drama"],
        ["Alexandre Rodrigues", "Fernando Meirelles"],
    ),
    (
        "Ocean's Eleven",
        None,
        "film",
        2001,
        ["Crime", "Thriller"],
        ["George Clooney", "Brad Pitt", "Steven Soderbergh"],
    ),
    ("Spider-Man", None, "film", 2002, ["Action", "Adventure"], ["Tobey Maguire", "Sam Raimi"]),
    ("Rocky", None, "film", 1976, ["Drama", "Sport"], ["Sylvester Stallone"]),
    ("Rocky II", None, "film", 1979, ["Drama", "Sport"], ["Sylvester Stallone"]),
    ("Rocky III", None, "film", 1982, ["Drama", "Sport"], ["Sylvester Stallone"]),
    (
        "Ирония судьбы, или С лёгким паром!",
        None,
        "film",
        1976,
        ["Comedy", "Romance"],
        ["Andrey Myagkov", "Eldar Ryazanov"],
    ),
    ("Сталкер", None, "film", 1979, ["Drama", "Science Fiction"], ["Andrei Tarkovsky"]),
    ("기생충", "Parasite", "film", 2019, ["Drama", "Thriller"], ["Song Kang-ho", "Bong Joon-ho"]),
    (
        "Pan's Labyrinth",
        "El laberinto del fauno",
        "film",
        2006,
        ["Fantasy", "War"],
        ["Ivana Baquero", "Guillermo del Toro"],
    ),
]


_ADJ = list(dict.fromkeys(v.ADJECTIVES))
_NOUNS = list(dict.fromkeys(v.NOUNS))


def _plural(noun: str) -> str:
    if noun.endswith(("s", "x", "ch", "sh")):
        return noun + "es"
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return noun[:-1] + "ies"
    if noun in ("man", "woman"):
        return noun[:-2] + "en"
    return noun + "s"


class TitleMaker:
    """Titles shaped like a real catalog's, from a seeded generator (fast: no I/O)."""

    SEQUELS = (" 2", " 3", " II", " III", " IV", ": Part Two", ": Part III", " Returns")

    def __init__(self, rng: random.Random, surnames: list[str]) -> None:
        self.rng = rng
        self.surnames = surnames
        self.bases: list[str] = []

    def _adj(self) -> str:
        return self.rng.choice(_ADJ).capitalize()

    def _noun(self) -> str:
        return self.rng.choice(_NOUNS).capitalize()

    def _foreign(self) -> str:
        words = self.rng.choice(v.SCRIPTS)
        n = self.rng.choice((1, 1, 2, 2, 3))
        joiner = "" if words in (v.JAPANESE, v.CHINESE) and n > 1 else " "
        text = joiner.join(self.rng.choice(words) for _ in range(n))
        return text[:1].upper() + text[1:]

    def make(self) -> tuple[str, str | None]:
        """(title, original title)."""
        rng = self.rng
        r = rng.random()
        if r < 0.05 and self.bases:
            return rng.choice(self.bases[-500:]) + rng.choice(self.SEQUELS), None
        if r < 0.09:
            return self._foreign(), None
        if r < 0.12:
            return f"{self._adj()} {self._noun()}", self._foreign()
        adj, noun, other = self._adj(), self._noun(), self._noun()
        shapes = (
            lambda: noun,
            lambda: rng.choice(v.PLACES),
            lambda: f"{adj} {noun}",
            lambda: f"{adj} {noun}",
            lambda: f"The {adj} {noun}",
            lambda: f"The {adj} {noun}",
            lambda: f"The {noun}",
            lambda: f"{noun} of the {_plural(other.lower()).capitalize()}",
            lambda: f"The {noun} of {rng.choice(v.PLACES)}",
            lambda: f"{adj} {noun} of {other}",
            lambda: f"{rng.choice(self.surnames)}'s {rng.choice(v.NUMBER_WORDS)}",
            lambda: f"The {noun}'s {other}",
            lambda: f"A {noun}'s {adj} {other}",
            lambda: f"{rng.choice(v.COMPOUND_HEADS)}-{rng.choice(v.COMPOUND_TAILS)}",
            lambda: f"{noun}-{other}",
            lambda: f"{rng.randint(2, 99)} {adj} {_plural(noun.lower()).capitalize()}",
            lambda: f"{noun} {rng.randint(1900, 2100)}",
            lambda: f"The {noun} Who {rng.choice(v.VERBS_PAST).capitalize()} Too Much",
            lambda: f"The {noun} Who {rng.choice(v.VERBS_PAST).capitalize()} the {other}",
            lambda: f"Love in the Time of {noun}",
            lambda: f"Night of the {adj} {_plural(noun.lower()).capitalize()}",
            lambda: f"{noun} in {rng.choice(v.PLACES)}",
            lambda: f"{adj} and {self._adj()}",
            lambda: f"{noun} and {other}",
            lambda: f"A {noun} for the {other}",
        )
        name = rng.choice(shapes)()
        if len(self.bases) < 5000 or rng.random() < 0.1:
            self.bases.append(name)
        return name, None


@dataclass
class GenerateReport:
    titles: int
    people: int
    credits: int
    seasons: int
    episodes: int
    seconds: float


def _pareto(rng: random.Random) -> float:
    return round(min(rng.paretovariate(1.3), 10_000.0), 3)


async def _ensure_terms(conn: AsyncConnection, table: str, names: list[str]) -> list[int]:
    from models.catalog.schemas import slugify

    ids = []
    for name in names:
        row = await conn.execute(
            text(
                f"INSERT INTO {table} (slug, name) VALUES (:slug, :name) "
                f"ON CONFLICT (slug) DO UPDATE SET name = {table}.name RETURNING id"
            ),
            {"slug": slugify(name), "name": name},
        )
        ids.append(int(row.scalar_one()))
    return ids


async def _reserve_ids(conn: AsyncConnection, table: str) -> int:
    await conn.execute(text(f"LOCK TABLE {table} IN EXCLUSIVE MODE"))
    return int((await conn.execute(text(f"SELECT coalesce(max(id), 0) FROM {table}"))).scalar_one())


async def _sync_sequence(conn: AsyncConnection, table: str) -> None:
    await conn.execute(
        text(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"(SELECT coalesce(max(id), 1) FROM {table}))"
        )
    )


async def generate_catalog(
    engine: AsyncEngine,
    *,
    titles: int,
    seed: int = 42,
    people: int | None = None,
    credits_per_title: int = 10,
    famous: bool = True,
    progress: Callable[[str], None] | None = None,
) -> GenerateReport:
    """Add `titles` synthetic titles (and about titles/2 people) in one transaction."""
    say = progress or (lambda _msg: None)
    started = time.monotonic()
    rng = random.Random(seed)
    n_people = people if people is not None else max(50, titles // 2)
    async with engine.begin() as conn:
        genre_ids = dict(zip(GENRES, await _ensure_terms(conn, "genres", GENRES), strict=True))
        tag_ids = await _ensure_terms(conn, "tags", TAGS)
        category_ids = await _ensure_terms(conn, "categories", CATEGORIES)
        countries = [(c.alpha_2, c.name[:100]) for c in pycountry.countries]
        await conn.execute(
            text("INSERT INTO countries (code, name) VALUES (:code, :name) ON CONFLICT DO NOTHING"),
            [{"code": code, "name": name} for code, name in countries],
        )
        country_codes = ["US", "GB", "FR", "DE", "JP", "KR", "IN", "IT", "ES", "CA", "BR", "MX"]
        country_codes += rng.sample([c for c, _ in countries], 20)
        country_codes = list(dict.fromkeys(country_codes))  # a sampled one may be listed

        t0 = await _reserve_ids(conn, "titles")
        p0 = await _reserve_ids(conn, "people")
        s0 = await _reserve_ids(conn, "seasons")
        e0 = await _reserve_ids(conn, "episodes")
        c0 = await _reserve_ids(conn, "credits")

        say(f"making {n_people} people")
        well_known = FAMOUS if famous else []
        famous_people = sorted({p for f in well_known for p in f[5]})
        n_people = max(n_people, len(famous_people) + 50)
        # Famous people last, out of the skewed draw below: they act in their own films only.
        names: list[str] = []
        seen = set(famous_people)
        while len(names) < n_people - len(famous_people):
            name = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
            if name in seen:
                name = f"{name} {rng.choice('ABCDEFGHJKLMNPRSTW')}."
                if name in seen:
                    continue
            seen.add(name)
            names.append(name)
        names += famous_people
        person_rows = [
            (p0 + i + 1, name, None, None, None, None, "") for i, name in enumerate(names)
        ]
        person_id = {name: p0 + i + 1 for i, name in enumerate(names)}

        say(f"making {titles} titles")
        title_rows: list[tuple[Any, ...]] = []
        genre_rows: list[tuple[int, int]] = []
        tag_rows: list[tuple[int, int]] = []
        cat_rows: list[tuple[int, int]] = []
        country_rows: list[tuple[int, str]] = []
        credit_rows: list[tuple[Any, ...]] = []
        season_rows: list[tuple[Any, ...]] = []
        episode_rows: list[tuple[Any, ...]] = []
        genre_list = list(genre_ids.values())
        # Actors are drawn with a skew, so some people have long filmographies.
        n_drawn = n_people - len(famous_people)
        weights = [1.0 / (i + 10) for i in range(n_drawn)]
        cum: list[float] = []
        acc = 0.0
        maker = TitleMaker(rng, _LAST)
        for w in weights:
            acc += w
            cum.append(acc)
        for i in range(titles):
            tid = t0 + i + 1
            known = well_known[i] if i < len(well_known) else None
            if known:
                name, original, kind, year, gnames, cast = known
                popularity = 5000.0 + rng.random() * 1000
            else:
                name, original = maker.make()
                kind = "series" if rng.random() < 0.15 else "film"
                year = rng.randint(1925, 2025)
                gnames = []
                cast = []
                popularity = _pareto(rng)
            released = date(year, 1, 1) + timedelta(days=rng.randint(0, 364))
            title_rows.append(
                (
                    tid,
                    kind,
                    name,
                    original,
                    f"A {rng.choice(_ADJ)} story about a {rng.choice(_NOUNS)}.",
                    year,
                    released if rng.random() < 0.9 else None,
                    rng.randint(75, 190) if kind == "film" else rng.randint(20, 60),
                    rng.choice(AGE_RATINGS),
                    f"https://img.example.org/poster/{tid}.jpg",
                    None,
                    popularity,
                    0.0,
                    0,
                    f"gen:{seed}:{tid}",
                    "",
                )
            )
            gids = [genre_ids[g] for g in gnames] or rng.sample(genre_list, rng.randint(1, 3))
            genre_rows.extend((tid, g) for g in gids)
            tag_rows.extend((tid, t) for t in rng.sample(tag_ids, rng.randint(0, 3)))
            if rng.random() < 0.1:
                cat_rows.append((tid, rng.choice(category_ids)))
            country_rows.extend((tid, c) for c in rng.sample(country_codes, rng.randint(1, 2)))
            # Credits: the famous cast first, then a director, writers and actors.
            chosen: set[tuple[int, str]] = set()
            pos = 0
            for pname in cast:
                role = "director" if pname in _DIRECTORS else "actor"
                credit_rows.append(
                    (c0 + len(credit_rows) + 1, tid, person_id[pname], role, None, pos)
                )
                chosen.add((person_id[pname], role))
                pos += 1
            target = rng.randint(credits_per_title - 3, credits_per_title + 3)
            while pos < target:
                role = "director" if pos == 0 else "writer" if pos < 3 else "actor"
                x = rng.random() * acc
                lo, hi = 0, n_drawn - 1
                while lo < hi:
                    mid = (lo + hi) // 2
                    if cum[mid] < x:
                        lo = mid + 1
                    else:
                        hi = mid
                pid = p0 + lo + 1
                if (pid, role) in chosen:
                    continue
                chosen.add((pid, role))
                character = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}" if role == "actor" else None
                credit_rows.append((c0 + len(credit_rows) + 1, tid, pid, role, character, pos))
                pos += 1
            if kind == "series":
                for sn in range(1, rng.randint(1, 3) + 1):
                    sid = s0 + len(season_rows) + 1
                    season_rows.append((sid, tid, sn, f"Season {sn}"))
                    for en in range(1, rng.randint(6, 10) + 1):
                        episode_rows.append(
                            (
                                e0 + len(episode_rows) + 1,
                                sid,
                                en,
                                maker.make()[0],
                                rng.randint(20, 60),
                                None,
                            )
                        )

        raw = await conn.get_raw_connection()
        pg: Any = raw.driver_connection
        say(f"copying {len(person_rows)} people, {len(title_rows)} titles")
        await pg.copy_records_to_table(
            "people",
            records=person_rows,
            columns=["id", "name", "bio", "birth_date", "photo_url", "import_key", "search_name"],
        )
        await pg.copy_records_to_table(
            "titles",
            records=title_rows,
            columns=[
                "id", "kind", "title", "original_title", "description", "year", "release_date",
                "runtime_minutes", "age_rating", "poster_url", "backdrop_url", "popularity",
                "rating_avg", "rating_count", "import_key", "search_title",
            ],
        )  # fmt: skip
        say(f"copying {len(credit_rows)} credits and the title links")
        await pg.copy_records_to_table(
            "title_genres", records=genre_rows, columns=["title_id", "genre_id"]
        )
        await pg.copy_records_to_table(
            "title_tags", records=tag_rows, columns=["title_id", "tag_id"]
        )
        await pg.copy_records_to_table(
            "title_categories", records=cat_rows, columns=["title_id", "category_id"]
        )
        await pg.copy_records_to_table(
            "title_countries", records=country_rows, columns=["title_id", "country_code"]
        )
        await pg.copy_records_to_table(
            "credits",
            records=credit_rows,
            columns=["id", "title_id", "person_id", "role", "character", "position"],
        )
        await pg.copy_records_to_table(
            "seasons", records=season_rows, columns=["id", "title_id", "number", "name"]
        )
        await pg.copy_records_to_table(
            "episodes",
            records=episode_rows,
            columns=["id", "season_id", "number", "title", "runtime_minutes", "release_date"],
        )
        for table in ("titles", "people", "credits", "seasons", "episodes"):
            await _sync_sequence(conn, table)
        say("deriving search columns")
        await refresh_everything(conn)
    # The bulk update leaves dead rows and long GIN pending lists; searches are slow until
    # a vacuum cleans them, so do it now rather than wait for autovacuum.
    async with engine.connect() as conn:
        auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
        for table in (
            "titles", "people", "credits", "title_genres", "catalog_search_words",
            "catalog_search_deletes",
        ):  # fmt: skip
            await auto.execute(text(f"VACUUM ANALYZE {table}"))
    return GenerateReport(
        titles=len(title_rows),
        people=len(person_rows),
        credits=len(credit_rows),
        seasons=len(season_rows),
        episodes=len(episode_rows),
        seconds=round(time.monotonic() - started, 1),
    )


_DIRECTORS = {
    "Francis Ford Coppola", "George Lucas", "Jean-Pierre Jeunet", "James Cameron",
    "Christopher Nolan", "Martin Scorsese", "Steven Spielberg", "Quentin Tarantino",
    "Hayao Miyazaki", "Peter Jackson", "Luc Besson", "Ang Lee", "Wolfgang Petersen",
    "Fernando Meirelles", "Guillermo del Toro", "Steven Soderbergh", "Sam Raimi",
    "Eldar Ryazanov", "Andrei Tarkovsky", "Bong Joon-ho",
}  # fmt: skip
