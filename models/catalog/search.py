"""Smart search in PostgreSQL alone: weighted tsvector, trigram typo correction, unaccent.

Each title carries two derived columns:
- `search_title`: `cinema_norm(title)`, for exact/prefix ranking, trigram similarity and the
  title sort;
- `search_vector`: title and original title (weight A), genres, tags and categories (B), and
  the principal people credited (C), normalized the same way.

A query is normalized by the same SQL function, split into words, and each word of three or
more letters is widened with its closest words of the catalog's dictionary
(`catalog_search_words`, trigram GIN), which is what makes "avngers" find "Avengers" and
"dicapro" find "DiCaprio". Every word also matches as a prefix ("star w" finds "Star Wars").
Candidates are ranked: exact title, then title prefix, then a title-word match, then other
matches; within a tier by closeness (trigram word similarity to the title), then popularity.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from models.core.db import transaction
from models.core.events import Outbox
from models.core.jobs import Job

MAX_WORDS = 6
# People in a title's search document: the first credits (director, writers, leads), so a
# name finds the films someone is known for rather than every bit part.
PRINCIPAL_CREDITS = 6
# Closest dictionary words considered per query word, and how close they must be.
ALTERNATIVES = 3
MIN_SIMILARITY = 0.25
CLOSE_TO_BEST = 0.05
# Dictionary words whose title counts estimate how many titles a typed prefix matches.
PREFIX_WORDS = 100

_DOC_SQL = """
    setweight(to_tsvector('simple',
        cinema_norm(t.title || ' ' || coalesce(t.original_title, ''))), 'A')
    || setweight(to_tsvector('simple', cinema_norm(coalesce((
        SELECT string_agg(g.name, ' ') FROM title_genres tg JOIN genres g ON g.id = tg.genre_id
        WHERE tg.title_id = t.id), '') || ' ' || coalesce((
        SELECT string_agg(x.name, ' ') FROM title_tags tt JOIN tags x ON x.id = tt.tag_id
        WHERE tt.title_id = t.id), '') || ' ' || coalesce((
        SELECT string_agg(c.name, ' ') FROM title_categories tc JOIN categories c
            ON c.id = tc.category_id WHERE tc.title_id = t.id), ''))), 'B')
    || setweight(to_tsvector('simple', cinema_norm(coalesce((
        SELECT string_agg(p.name, ' ') FROM credits cr JOIN people p ON p.id = cr.person_id
        WHERE cr.title_id = t.id AND cr.position < :principal), ''))), 'C')
"""

_REFRESH_SOME = text(
    f"""
    UPDATE titles AS t
    SET search_title = cinema_norm(t.title), search_vector = {_DOC_SQL}
    WHERE t.id = ANY(CAST(:ids AS bigint[]))
    """
)

_REFRESH_ALL = text(
    f"UPDATE titles AS t SET search_title = cinema_norm(t.title), search_vector = {_DOC_SQL}"
)

_ADD_WORDS = text(
    """
    INSERT INTO catalog_search_words (word, ndoc)
    SELECT word, ndoc FROM ts_stat(
        'SELECT search_vector FROM titles WHERE id = ANY('''
        || CAST(:ids AS text) || '''::bigint[])')
    ON CONFLICT (word) DO UPDATE SET ndoc = catalog_search_words.ndoc + excluded.ndoc
    """
)

_REBUILD_WORDS = (
    text("DELETE FROM catalog_search_words"),
    text(
        "INSERT INTO catalog_search_words (word, ndoc) "
        "SELECT word, ndoc FROM ts_stat('SELECT search_vector FROM titles')"
    ),
)

_PEOPLE_SOME = text(
    "UPDATE people SET search_name = cinema_norm(name) WHERE id = ANY(CAST(:ids AS bigint[]))"
)
_PEOPLE_ALL = text("UPDATE people SET search_name = cinema_norm(name)")


async def refresh_titles(db: AsyncSession | AsyncConnection, title_ids: Sequence[int]) -> None:
    """Recompute the search columns of these titles and add their words to the dictionary."""
    ids = sorted(set(title_ids))
    if not ids:
        return
    await db.execute(_REFRESH_SOME, {"ids": ids, "principal": PRINCIPAL_CREDITS})
    # ndoc is a popularity hint for corrections, so an approximate count is enough.
    await db.execute(_ADD_WORDS, {"ids": "{" + ",".join(str(i) for i in ids) + "}"})


# A rename that touches more titles than this (a genre on a tenth of the catalog) refreshes
# their search documents in a job, REFRESH_BATCH titles per transaction, instead of making
# the editor wait seconds while every one of those title rows is locked against ratings.
SYNC_REFRESH_LIMIT = 500
REFRESH_BATCH = 1000


async def refresh_titles_soon(
    db: AsyncSession | AsyncConnection, outbox: Outbox, title_ids: Sequence[int]
) -> None:
    """Now, in the writer's transaction, for a few titles; else queue `refresh_title_search`
    (after the commit). Until it has run, search finds these titles by their old words."""
    ids = sorted(set(title_ids))
    if len(ids) <= SYNC_REFRESH_LIMIT:
        await refresh_titles(db, ids)
    else:
        outbox.enqueue(Job.refresh_title_search, title_ids=ids)


async def refresh_titles_in_batches(
    sessions: async_sessionmaker[AsyncSession], title_ids: Sequence[int]
) -> None:
    """The job's side: one short transaction per batch."""
    ids = sorted(set(title_ids))
    for start in range(0, len(ids), REFRESH_BATCH):
        async with transaction(sessions) as session:
            await refresh_titles(session, ids[start : start + REFRESH_BATCH])


async def refresh_people(db: AsyncSession | AsyncConnection, person_ids: Sequence[int]) -> None:
    ids = sorted(set(person_ids))
    if ids:
        await db.execute(_PEOPLE_SOME, {"ids": ids})


async def refresh_everything(db: AsyncSession | AsyncConnection) -> None:
    """Bulk form for imports and the generator: every title, person and dictionary word."""
    await db.execute(_PEOPLE_ALL)
    await db.execute(_REFRESH_ALL, {"principal": PRINCIPAL_CREDITS})
    for stmt in _REBUILD_WORDS:
        await db.execute(stmt)


# Each word with its closest dictionary words, but only when the word itself is not in the
# dictionary (for the last word: is no word's prefix, since the user may still be typing).
# Each word and correction comes with how many titles have it (`ndoc`; for the last word, the
# titles of the first PREFIX_WORDS words it starts), so the page query can tell a word that
# matches a handful of titles from one that matches a tenth of the catalog.
_EXPAND = text(
    """
    SELECT q.qn, q.titles, x.tok, x.last, ARRAY(
        SELECT w.word || ' ' || similarity(w.word, x.tok) || ' ' || w.ndoc
        FROM catalog_search_words w
        WHERE length(x.tok) >= 3 AND w.word % x.tok
          AND similarity(w.word, x.tok) >= :min_sim
          AND NOT EXISTS (
            SELECT 1 FROM catalog_search_words e
            WHERE e.word = x.tok OR (x.last AND e.word LIKE x.tok || '%'))
        ORDER BY similarity(w.word, x.tok) DESC, w.ndoc DESC, w.word
        LIMIT :alts) AS alts,
      CASE WHEN x.last THEN (
          SELECT coalesce(sum(p.ndoc), 0) FROM (
            SELECT e.ndoc FROM catalog_search_words e
            WHERE e.word LIKE x.tok || '%' ORDER BY e.word LIMIT :prefix_words) AS p)
        ELSE coalesce((SELECT e.ndoc FROM catalog_search_words e WHERE e.word = x.tok), 0)
      END AS ndoc
    -- Plan this transaction's statements for their own parameters (see browse.custom_plans);
    -- set here to save a round trip.
    FROM (SELECT cinema_norm(:q) AS qn,
                 (SELECT reltuples FROM pg_class WHERE oid = 'titles'::regclass) AS titles,
                 set_config('plan_cache_mode', 'force_custom_plan', true) AS plans) AS q
    LEFT JOIN LATERAL (
        SELECT tok, ord, ord = max(ord) OVER () AS last FROM (
            SELECT tok, ord FROM regexp_split_to_table(q.qn, ' ') WITH ORDINALITY AS s(tok, ord)
            WHERE tok <> '' ORDER BY ord LIMIT :max_words
        ) AS limited
    ) AS x ON true
    ORDER BY x.ord
    """
)


@dataclass(frozen=True)
class ParsedQuery:
    """A query ready for SQL: its normal form and two tsquery texts (any field / title)."""

    normalized: str
    tsquery: str
    title_tsquery: str
    # The same words joined by OR: the fallback when no title has all of them.
    any_tsquery: str = ""
    any_title_tsquery: str = ""
    # About how many titles match `tsquery` (at most), and how many titles there are: from
    # the dictionary's counts and the table's statistics, 0 when unknown.
    matches: int = 0
    any_matches: int = 0
    titles: int = 0

    @property
    def empty(self) -> bool:
        return not self.normalized

    @property
    def can_loosen(self) -> bool:
        return self.any_tsquery != self.tsquery

    def loosened(self) -> ParsedQuery:
        return replace(
            self,
            tsquery=self.any_tsquery,
            title_tsquery=self.any_title_tsquery,
            matches=self.any_matches,
        )

    def matches_many(self, candidates: int) -> bool:
        """Whether walking titles by popularity finds `candidates` matches sooner than
        visiting every match: the walk reads about candidates * titles / matches rows, the
        index search `matches` rows, so the walk wins past sqrt(candidates * titles)."""
        return self.titles > 0 and self.matches * self.matches > candidates * self.titles


def _tsquery(
    words: list[tuple[str, bool, list[str]]], weight: str = "", joiner: str = " & "
) -> str:
    groups = []
    for word, last, alts in words:
        if last and len(word) < 2:
            # "star w": a one-letter prefix matches half the dictionary; the ranking's
            # title-prefix tier still puts "Star Wars" first.
            continue
        suffix = (":*" if last else ":") + weight
        terms = [f"'{word}'{suffix.rstrip(':')}"] + [
            f"'{a}'{(':' + weight) if weight else ''}" for a in alts
        ]
        groups.append("(" + " | ".join(terms) + ")")
    return joiner.join(groups)


def _closest(alternatives: list[str]) -> list[tuple[str, int]]:
    """The best corrections only, with their title counts: each extra one widens the
    search (and slows it) a lot."""
    scored = [(w, float(sim), int(n)) for w, sim, n in (a.rsplit(" ", 2) for a in alternatives)]
    if not scored:
        return []
    best = scored[0][1]
    return [(w, n) for w, sim, n in scored if sim >= best - CLOSE_TO_BEST]


async def parse_query(db: AsyncSession | AsyncConnection, q: str) -> ParsedQuery:
    """Normalize and widen a user's query with typo corrections (one SQL round trip)."""
    rows = (
        await db.execute(
            _EXPAND,
            {
                "q": q,
                "min_sim": MIN_SIMILARITY,
                "alts": ALTERNATIVES,
                "max_words": MAX_WORDS,
                "prefix_words": PREFIX_WORDS,
            },
        )
    ).all()
    normalized = rows[0].qn if rows else ""
    # cinema_norm leaves letters and digits only, so the words are safe tsquery lexemes;
    # the quotes keep words such as "and" or "or" literal.
    words = [(r.tok, bool(r.last), r.ndoc, _closest(r.alts)) for r in rows if r.tok]
    groups = [(tok, last, [w for w, _ in alts]) for tok, last, _, alts in words]
    # A title has every word: at most as many as the rarest word (with its corrections).
    # A title has some word: at most the sum.
    counts = [
        int(ndoc) + sum(n for _, n in alts)
        for tok, last, ndoc, alts in words
        if not (last and len(tok) < 2)
    ]
    return ParsedQuery(
        normalized=normalized or "",
        tsquery=_tsquery(groups),
        title_tsquery=_tsquery(groups, "A"),
        any_tsquery=_tsquery(groups, joiner=" | "),
        any_title_tsquery=_tsquery(groups, "A", joiner=" | "),
        matches=min(counts, default=0),
        any_matches=sum(counts),
        titles=max(0, int(rows[0].titles or 0)) if rows else 0,
    )
