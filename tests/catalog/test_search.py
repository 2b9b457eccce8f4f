"""Smart search: typos, prefixes, accents, people, ranking; on real PostgreSQL."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from models.core.context import Context
from tests.catalog.helpers import editor, ensure_terms, post, tag

FILMS = [
    ("The Avengers", 2012, 900.0, ["Leonardo Fakeprio"], ["action"]),
    ("Avengers: Age of Ultron", 2015, 700.0, [], ["action"]),
    ("The Godfather", 1972, 950.0, ["Marlon Brandough"], ["crime"]),
    ("The Godfather Part II", 1974, 800.0, [], ["crime"]),
    ("Star Wars", 1977, 990.0, ["Harrison Fordly"], ["science-fiction"]),
    ("Stardust Memories", 1980, 50.0, [], ["comedy"]),
    ("Amélie", 2001, 600.0, ["Audrey Tautouz"], ["comedy"]),
    ("Titanic", 1997, 980.0, ["Leonardo Fakeprio", "Kate Winsletta"], ["drama"]),
    ("Inception", 2010, 970.0, ["Leonardo Fakeprio"], ["science-fiction"]),
    ("Léon: The Professional", 1994, 500.0, ["Jean Renault"], ["crime"]),
]


async def _search(client: httpx.AsyncClient, q: str, **params: Any) -> list[str]:
    r = await client.get("/api/v1/titles", params={"q": q, **params})
    assert r.status_code == 200, r.text
    return [i["title"] for i in r.json()["items"]]


@pytest.fixture(scope="module")
async def films(ctx: Context, app: Any) -> str:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        who = await editor(ctx, client)
        await ensure_terms(client, who, "genres", "Action", "Crime", "Science Fiction", "Comedy")
        await ensure_terms(client, who, "genres", "Drama")
        label = tag()
        await ensure_terms(client, who, "tags", label)
        people: dict[str, int] = {}
        for _, _, _, cast, _ in FILMS:
            for name in cast:
                if name not in people:
                    people[name] = (await post(client, who, "/people", {"name": name}))["id"]
        for title, year, popularity, cast, genres in FILMS:
            await post(
                client,
                who,
                "/titles",
                {
                    "kind": "film",
                    "title": title,
                    "year": year,
                    "popularity": popularity,
                    "genres": genres,
                    "tags": [label],
                    "credits": [{"person_id": people[n], "role": "actor"} for n in cast],
                },
            )
        return label


async def test_typos_find_the_title(client: httpx.AsyncClient, films: str) -> None:
    assert (await _search(client, "Avngers", tag=films))[:2] == [
        "The Avengers",
        "Avengers: Age of Ultron",
    ]
    assert set((await _search(client, "godfathr", tag=films))[:2]) == {
        "The Godfather",
        "The Godfather Part II",
    }
    assert (await _search(client, "inceptoin", tag=films))[0] == "Inception"


async def test_prefix_as_typed(client: httpx.AsyncClient, films: str) -> None:
    found = await _search(client, "star w", tag=films)
    assert found[0] == "Star Wars"
    assert "Amélie" not in found
    # A prefix of a word matches too, and exact-prefix titles rank first.
    assert (await _search(client, "stard", tag=films))[0] == "Stardust Memories"


async def test_accents_and_case(client: httpx.AsyncClient, films: str) -> None:
    assert (await _search(client, "amelie", tag=films))[0] == "Amélie"
    assert (await _search(client, "AMÉLIE", tag=films))[0] == "Amélie"
    assert (await _search(client, "leon", tag=films))[0] == "Léon: The Professional"


async def test_people_find_their_films(client: httpx.AsyncClient, films: str) -> None:
    found = await _search(client, "fakeprio", tag=films)
    assert found == ["Titanic", "Inception", "The Avengers"]  # by popularity
    # A typo in a name and a first name + last name both work.
    assert set(await _search(client, "fakepro", tag=films)) == set(found)
    assert await _search(client, "kate winsletta", tag=films) == ["Titanic"]


async def test_genre_words_match(client: httpx.AsyncClient, films: str) -> None:
    found = await _search(client, "crime", tag=films)
    assert set(found) == {"The Godfather", "The Godfather Part II", "Léon: The Professional"}


async def test_exact_before_prefix_before_other(client: httpx.AsyncClient, films: str) -> None:
    # "the godfather" is exact for one title and a prefix of another, more popular or not.
    assert (await _search(client, "the godfather", tag=films))[:2] == [
        "The Godfather",
        "The Godfather Part II",
    ]


async def test_search_combines_with_filters(client: httpx.AsyncClient, films: str) -> None:
    assert await _search(client, "fakeprio", tag=films, year_from=2000) == [
        "Inception",
        "The Avengers",
    ]
    assert await _search(client, "fakeprio", tag=films, genre="drama") == ["Titanic"]


async def test_search_pages_with_cursor(client: httpx.AsyncClient, films: str) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"q": "the", "tag": films, "limit": 2}
        if cursor:
            params["cursor"] = cursor
        body = (await client.get("/api/v1/titles", params=params)).json()
        seen += [i["title"] for i in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen))
    assert set(seen) >= {"The Avengers", "The Godfather", "Léon: The Professional"}


async def test_nonsense_and_empty_queries(client: httpx.AsyncClient, films: str) -> None:
    assert await _search(client, "qqxxzzvv", tag=films) == []
    assert await _search(client, "!!!", tag=films) == []
    bad = await client.get("/api/v1/titles", params={"q": "x" * 201})
    assert bad.status_code == 422
    relevance = await client.get("/api/v1/titles", params={"sort": "relevance"})
    assert relevance.status_code == 422


async def test_one_character_queries(client: httpx.AsyncClient, films: str) -> None:
    """A lone one-letter word has no text-search terms (it would match half the dictionary);
    the empty title query was sent to PostgreSQL as "''", a tsquery syntax error (500)."""
    assert "Titanic" in await _search(client, "t", tag=films)
    assert await _search(client, "0", tag=films) == []
    found = await _search(client, "a:*", tag=films)  # punctuation is not syntax: "a"
    assert "Amélie" in found and {title[0] for title in found} == {"A"}


async def test_some_words_when_no_title_has_all(client: httpx.AsyncClient, films: str) -> None:
    # "professionnal" is too far from anything, but "leon" still finds the film.
    assert (await _search(client, "leon professionnal zzzz", tag=films))[0] == (
        "Léon: The Professional"
    )


async def test_broad_words_walk_by_popularity(
    client: httpx.AsyncClient, ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A word many titles have is searched by walking titles by popularity; the page is the
    same as the one the text index gives, and the estimates that choose it are right."""
    from sqlalchemy import text

    from models.catalog import browse, schemas
    from models.catalog.search import ParsedQuery, parse_query

    # No digits in the word: one ending in "20" shares a trigram with "20" and made
    # "<word> 20" closer to the query than "<word> 21" (a flaky order).
    word = tag().translate(str.maketrans("0123456789", "ghijklmnop"))
    who = await editor(ctx, client)
    for i in range(10, 22):  # titles of one length: equally close to the query
        await post(
            client,
            who,
            "/titles",
            {"kind": "film", "title": f"{word.title()} {i}", "popularity": float(i)},
        )
    async with ctx.sessions() as session:
        await session.execute(text("ANALYZE titles"))
        await session.commit()
    async with ctx.sessions() as session:
        exact = await parse_query(session, word)
        typo = await parse_query(session, word[:-1] + "q" + " " + word[:3])
        # All words but one, from three words on: the fallback's estimate.
        some = await parse_query(session, f"{word} {word} zzqqxx")
    assert exact.matches == 12 and exact.titles >= 12
    assert typo.matches >= 12  # the corrected word's titles, and the prefix typed so far
    assert some.matches == 0 and some.loosened().matches == 12
    assert not exact.matches_many(300) or exact.titles < 12  # too few titles here to walk

    async def page(q: schemas.TitleQuery) -> list[Any]:
        async with ctx.sessions() as session:
            body = await browse.list_titles(session, q)
        return [i["title"] for i in body["items"]] + [body["next_cursor"] is not None]

    query = schemas.TitleQuery.model_validate({"q": word.upper(), "limit": 5})
    by_index = await page(query)
    monkeypatch.setattr(ParsedQuery, "matches_many", lambda self, n: True)
    by_walk = await page(query)
    assert by_walk == by_index
    assert by_walk[:5] == [f"{word.title()} {i}" for i in (21, 20, 19, 18, 17)]


# Titles as real catalogs write them: apostrophes, hyphens, numerals, other scripts.
REAL = [
    ("Ocean's Eleven", None, 2001, 800.0),
    ("Spider-Man", None, 2002, 900.0),
    ("Rocky", None, 1976, 700.0),
    ("Rocky II", None, 1979, 600.0),
    ("Rocky III", None, 1982, 500.0),
    ("Space Oddity", None, 1999, 100.0),
    ("American Sisters", None, 2004, 90.0),
    ("Ирония судьбы, или С лёгким паром!", None, 1976, 300.0),
    ("Crouching Tiger, Hidden Dragon", "卧虎藏龙", 2000, 400.0),
    ("Сталкер", None, 1979, 200.0),
    ("The Dark River", None, 1990, 50.0),
    ("The Park Ranger", None, 1991, 60.0),
]


@pytest.fixture(scope="module")
async def real(ctx: Context, app: Any) -> str:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        who = await editor(ctx, client)
        label = tag()
        await ensure_terms(client, who, "tags", label)
        for title, original, year, popularity in REAL:
            await post(
                client,
                who,
                "/titles",
                {
                    "kind": "film",
                    "title": title,
                    "original_title": original,
                    "year": year,
                    "popularity": popularity,
                    "tags": [label],
                },
            )
        return label


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("spcae oddity", "Space Oddity"),  # two adjacent letters swapped
        ("americn sisters", "American Sisters"),  # a letter dropped
        ("american sistes", "American Sisters"),
        ("oecan's eleven", "Ocean's Eleven"),  # a slip inside a word with an apostrophe
        ("oceans eleven", "Ocean's Eleven"),
        ("ocean's", "Ocean's Eleven"),
        ("oceans", "Ocean's Eleven"),
        ("spiderman", "Spider-Man"),
        ("spider man", "Spider-Man"),
        ("spidreman", "Spider-Man"),
        ("rocky 2", "Rocky II"),
        ("rocky three", "Rocky III"),
        ("the drak river", "The Dark River"),
        ("the dark rievr", "The Dark River"),
        ("ирония судьбы", "Ирония судьбы, или С лёгким паром!"),  # its own script
        ("ирония судбы", "Ирония судьбы, или С лёгким паром!"),  # with a typo
        ("ironiya sudby", "Ирония судьбы, или С лёгким паром!"),  # transliterated
        ("ironia sudby", "Ирония судьбы, или С лёгким паром!"),
        ("stalker", "Сталкер"),
        ("卧虎藏龙", "Crouching Tiger, Hidden Dragon"),
        ("wo hu cang long", "Crouching Tiger, Hidden Dragon"),
    ],
)
async def test_everyday_slips_find_the_title(
    client: httpx.AsyncClient, real: str, query: str, expected: str
) -> None:
    assert expected in (await _search(client, query, tag=real))[:3]


async def test_a_word_typed_as_another_real_word(client: httpx.AsyncClient, real: str) -> None:
    """A typo can make another word of the catalog ("park"): the river is still found."""
    assert (await _search(client, "the park river", tag=real))[0] == "The Dark River"


async def test_no_match_is_empty_with_suggestions(client: httpx.AsyncClient, real: str) -> None:
    r = await client.get("/api/v1/titles", params={"q": "spcae odditty zzqx", "tag": real})
    body = r.json()
    # Two of three words still find it: "all words but one".
    assert [i["title"] for i in body["items"]] == ["Space Oddity"]
    r = await client.get("/api/v1/titles", params={"q": "rokcy zzqqxxw", "tag": real})
    body = r.json()
    assert body["items"] == [] and body["next_cursor"] is None
    assert body["did_you_mean"] and body["did_you_mean"][0].lower().startswith("rocky")
    # Nothing close at all: empty, no filler and nothing to suggest.
    body = (await client.get("/api/v1/titles", params={"q": "qqxxzzvv", "tag": real})).json()
    assert body == {"items": [], "next_cursor": None, "did_you_mean": []}
    # A page that found titles suggests nothing.
    body = (await client.get("/api/v1/titles", params={"q": "rocky", "tag": real})).json()
    assert body["items"] and body["did_you_mean"] == []
