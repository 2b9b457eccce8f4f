"""Smart search in PostgreSQL alone: weighted tsvector, typo tolerance, unaccent.

Each title carries three derived columns:
- `search_title`: `cinema_norm(title)`, for exact/prefix ranking, trigram similarity and the
  title sort;
- `search_latin`: a Latin transliteration where the title is in another script;
- `search_vector`: title, original title, their transliteration and their hyphenated words
  joined ("Spider-Man" also as "spiderman") (weight A), genres, tags and categories (B),
  and the principal people credited (C), normalized the same way.

A query is normalized by the same SQL function and split into words. Every word of three
letters or more is widened with the dictionary words (`catalog_search_words`) within its
typo budget (`typos.py`: one typo from 4 letters, two from 9; insertions, deletions,
substitutions and adjacent transpositions), found by equality on the dictionary's deletion
neighbourhood (`catalog_search_deletes`, SymSpell) and checked in Python. A word with none
falls back to its closest words by trigram similarity ("midnite" -> "midnight"). Two
adjacent words also match as one ("spider man" -> "spiderman"), numbers as their Roman
numerals and names ("rocky 2" -> "Rocky II"), and the last word as a prefix ("star w").
A title must have every word; failing that (three words or more), all words but one; and
failing that the answer is empty with "did you mean" suggestions, never unrelated titles.
Candidates are ranked: exact title, then title prefix, then a title-word match, then other
matches; within a tier by closeness (trigram similarity to the title), then popularity.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from itertools import combinations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from models.catalog import typos
from models.catalog.latin import latin_form
from models.core.db import transaction
from models.core.events import Outbox
from models.core.jobs import Job

MAX_WORDS = 6
# People in a title's search document: the first credits (director, writers, leads), so a
# name finds the films someone is known for rather than every bit part.
PRINCIPAL_CREDITS = 6
# Dictionary words within the typo budget kept per query word: the fewest typos, then the
# most common. A word the dictionary has keeps fewer (it was probably meant as typed).
CORRECTIONS = 4
NEIGHBOURS = 2
# Dictionary words one lookup may return per query word before they are checked.
NEAR_LIMIT = 200
# Words beyond the typo budget: the closest dictionary words by trigram similarity.
ALTERNATIVES = 3
MIN_SIMILARITY = 0.25
CLOSE_TO_BEST = 0.05
# ... and how close they must be to be searched, not only suggested ("stalker" is not
# "walker", 0.36; "midnite" is "midnight", 0.42).
SEARCH_SIMILARITY = 0.4
# Dictionary words whose title counts estimate how many titles a typed prefix matches.
PREFIX_WORDS = 100

# Numbers as titles write them: "rocky 2" finds "Rocky II", "ocean's 11" "Ocean's Eleven".
# Single-letter numerals (i, v, x) are left out: they are words too.
_NUMBER_WORDS = (
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty"
).split()
_ROMAN = "i ii iii iv v vi vii viii ix x xi xii xiii xiv xv xvi xvii xviii xix xx".split()
EQUIVALENTS: dict[str, tuple[str, ...]] = {}
for _n in range(2, 21):
    _forms = (str(_n), *(f for f in (_ROMAN[_n - 1], _NUMBER_WORDS[_n - 1]) if len(f) > 1))
    for _f in _forms:
        EQUIVALENTS[_f] = tuple(x for x in _forms if x != _f)

# Depth of a dictionary word's deletion neighbourhood: its typo budget (typos.budget).
_WORD_DEPTH = (
    f"CASE WHEN length(w.word) >= {typos.TWO_TYPOS_FROM} THEN 2 "
    f"WHEN length(w.word) >= {typos.ONE_TYPO_FROM} THEN 1 ELSE -1 END"
)

# Title words as people may type them: hyphenated words also joined ("Spider-Man" as
# "spiderman"), words with an apostrophe also split ("Ocean's" as "ocean", "d'Amélie" as
# "amelie"); cinema_norm itself joins them ("oceans").
_APOSTROPHES = "''`\u00b4\u2018\u2019\u02bc"
_BOTH = "(t.title || ' ' || coalesce(t.original_title, ''))"
_VARIANTS = f"""CASE WHEN {_BOTH} ~ '[{_APOSTROPHES}-]' THEN
        ' ' || regexp_replace({_BOTH}, '([[:alnum:]])-(?=[[:alnum:]])', '\\1', 'g')
        || ' ' || regexp_replace({_BOTH}, '[{_APOSTROPHES}]', ' ', 'g')
    ELSE '' END"""

_DOC_SQL = f"""
    setweight(to_tsvector('simple', cinema_norm(
        {_BOTH} || ' ' || t.search_latin || {_VARIANTS})), 'A')
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

# Titles with a character outside ASCII (multi-byte) may need a transliteration; those that
# had one may need it cleared.
_LATIN_ROWS = """
    SELECT id, title, original_title FROM titles
    WHERE ({where}) AND (search_latin <> ''
        OR octet_length(title || coalesce(original_title, ''))
           <> char_length(title || coalesce(original_title, '')))
"""
_LATIN_SOME = text(_LATIN_ROWS.format(where="id = ANY(CAST(:ids AS bigint[]))"))
_LATIN_ALL = text(_LATIN_ROWS.format(where="true"))
_SET_LATIN = text(
    """
    UPDATE titles AS t SET search_latin = cinema_norm(v.latin)
    FROM unnest(CAST(:ids AS bigint[]), CAST(:latins AS text[])) AS v(id, latin)
    WHERE t.id = v.id AND t.search_latin IS DISTINCT FROM cinema_norm(v.latin)
    """
)

_ADD_WORDS = text(
    f"""
    WITH added AS (
        INSERT INTO catalog_search_words (word, ndoc)
        SELECT word, ndoc FROM ts_stat(
            'SELECT search_vector FROM titles WHERE id = ANY('''
            || CAST(:ids AS text) || '''::bigint[])')
        ON CONFLICT (word) DO UPDATE SET ndoc = catalog_search_words.ndoc + excluded.ndoc
        RETURNING word, (xmax = 0) AS inserted
    )
    INSERT INTO catalog_search_deletes (key, word)
    SELECT k, w.word FROM added AS w, cinema_deletes(w.word, {_WORD_DEPTH}) AS k
    WHERE w.inserted
    ON CONFLICT DO NOTHING
    """
)

_REBUILD_WORDS = (
    text("DELETE FROM catalog_search_deletes"),
    text("DELETE FROM catalog_search_words"),
    text(
        "INSERT INTO catalog_search_words (word, ndoc) "
        "SELECT word, ndoc FROM ts_stat('SELECT search_vector FROM titles')"
    ),
    text(
        "INSERT INTO catalog_search_deletes (key, word) SELECT k, w.word "
        f"FROM catalog_search_words AS w, cinema_deletes(w.word, {_WORD_DEPTH}) AS k"
    ),
)

_PEOPLE_SOME = text(
    "UPDATE people SET search_name = cinema_norm(name) WHERE id = ANY(CAST(:ids AS bigint[]))"
)
_PEOPLE_ALL = text("UPDATE people SET search_name = cinema_norm(name)")


async def _fill_latin(db: AsyncSession | AsyncConnection, ids: Sequence[int] | None) -> None:
    stmt = _LATIN_ALL if ids is None else _LATIN_SOME
    rows = (await db.execute(stmt, {"ids": list(ids or [])})).all()
    if rows:
        await db.execute(
            _SET_LATIN,
            {
                "ids": [r.id for r in rows],
                "latins": [latin_form(r.title, r.original_title) for r in rows],
            },
        )


async def refresh_titles(db: AsyncSession | AsyncConnection, title_ids: Sequence[int]) -> None:
    """Recompute the search columns of these titles and add their words to the dictionary."""
    ids = sorted(set(title_ids))
    if not ids:
        return
    await _fill_latin(db, ids)
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
    await _fill_latin(db, None)
    await db.execute(_REFRESH_ALL, {"principal": PRINCIPAL_CREDITS})
    for stmt in _REBUILD_WORDS:
        await db.execute(stmt)


# Each typed word with: how many titles have it (for the last word: the titles of the first
# PREFIX_WORDS words it starts, since the user may still be typing); the dictionary words
# sharing a key of its deletion neighbourhood (checked against the typo budget in Python);
# and how many titles have it joined with the next word ("spider man" -> "spiderman").
_TYPED_DEPTH = (
    f"CASE WHEN length(x.tok) >= {typos.TWO_TYPOS_FROM - 2} THEN 2 "
    f"WHEN length(x.tok) >= {typos.SHORTEST_TYPED} THEN 1 ELSE -1 END"
)
_EXPAND = text(
    f"""
    SELECT q.qn, q.titles, x.tok, x.last, x.next,
      coalesce((SELECT e.ndoc FROM catalog_search_words e WHERE e.word = x.tok), 0) AS exact,
      ARRAY(
        SELECT w.word || ' ' || w.ndoc
        FROM (SELECT DISTINCT d.word FROM catalog_search_deletes d
              WHERE d.key = ANY(ARRAY(SELECT cinema_deletes(x.tok, {_TYPED_DEPTH})))) AS n
        JOIN catalog_search_words w ON w.word = n.word
        WHERE w.word <> x.tok
        ORDER BY w.ndoc DESC, w.word
        LIMIT :near_limit) AS near,
      CASE WHEN x.last THEN (
          SELECT coalesce(sum(p.ndoc), 0) FROM (
            SELECT e.ndoc FROM catalog_search_words e
            WHERE e.word LIKE x.tok || '%' ORDER BY e.word LIMIT :prefix_words) AS p)
        ELSE coalesce((SELECT e.ndoc FROM catalog_search_words e WHERE e.word = x.tok), 0)
      END AS ndoc,
      coalesce((SELECT e.ndoc FROM catalog_search_words e WHERE e.word = x.tok || x.next), 0)
        AS joined
    -- Plan this transaction's statements for their own parameters (see browse.custom_plans);
    -- set here to save a round trip.
    FROM (SELECT cinema_norm(:q) AS qn,
                 (SELECT reltuples FROM pg_class WHERE oid = 'titles'::regclass) AS titles,
                 set_config('plan_cache_mode', 'force_custom_plan', true) AS plans) AS q
    LEFT JOIN LATERAL (
        SELECT tok, ord, ord = max(ord) OVER () AS last, lead(tok) OVER (ORDER BY ord) AS next
        FROM (
            SELECT tok, ord FROM regexp_split_to_table(q.qn, ' ') WITH ORDINALITY AS s(tok, ord)
            WHERE tok <> '' ORDER BY ord LIMIT :max_words
        ) AS limited
    ) AS x ON true
    ORDER BY x.ord
    """
)

# Words the dictionary lacks and no word within their typo budget resembles ("midnite"):
# their closest words by trigram similarity, asked only for them (a second round trip, rare).
_GUESSES = text(
    """
    SELECT x.tok, ARRAY(
        SELECT w.word || ' ' || similarity(w.word, x.tok) || ' ' || w.ndoc
        FROM catalog_search_words w
        WHERE w.word % x.tok AND similarity(w.word, x.tok) >= :min_sim
        ORDER BY similarity(w.word, x.tok) DESC, w.ndoc DESC, w.word
        LIMIT :alts) AS alts
    FROM unnest(CAST(:words AS text[])) AS x(tok)
    """
)


@dataclass(frozen=True)
class ParsedQuery:
    """A query ready for SQL: its normal form and two tsquery texts (any field / title)."""

    normalized: str
    tsquery: str
    title_tsquery: str
    # All words but one (a query of three words or more): the fallback when no title has
    # every word.
    any_tsquery: str = ""
    any_title_tsquery: str = ""
    # About how many titles match `tsquery` (at most), and how many titles there are: from
    # the dictionary's counts and the table's statistics, 0 when unknown.
    matches: int = 0
    any_matches: int = 0
    titles: int = 0
    # The query with each word the dictionary lacks replaced by its closest word (left out
    # when nothing is close), when that changes anything: a "did you mean" candidate.
    corrected: str = ""
    # The same with the words nothing is close to kept: what the user most likely meant,
    # which ranking compares titles with ("cihld" is closer to "Child City" than to "Child";
    # "child" is not). '' when it is the query itself.
    meant: str = ""

    @property
    def empty(self) -> bool:
        return not self.normalized

    @property
    def can_loosen(self) -> bool:
        return bool(self.any_tsquery) and self.any_tsquery != self.tsquery

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


@dataclass(frozen=True)
class Word:
    """A typed word with what also counts as it, and about how many titles have any."""

    typed: str
    last: bool = False
    # Corrections within the typo budget (else the closest by trigrams), numerals.
    alternatives: tuple[str, ...] = ()
    count: int = 0
    # This word and the next typed as one ("spider man" -> "spiderman"), and its count.
    joined: str = ""
    joined_count: int = 0

    @property
    def searchable(self) -> bool:
        # "star w": a one-letter prefix matches half the dictionary; the ranking's
        # title-prefix tier still puts "Star Wars" first. A number is a word ("rocky 2").
        return not (self.last and len(self.typed) < 2 and self.typed not in EQUIVALENTS)


def _terms(word: Word, weight: str) -> str:
    w = f":{weight}" if weight else ""
    prefix = word.last and len(word.typed) > 1  # a lone digit is a number, not a prefix
    first = f"'{word.typed}':*{weight}" if prefix else f"'{word.typed}'{w}"
    return " | ".join([first] + [f"'{a}'{w}" for a in word.alternatives])


def groups(words: Sequence[Word], weight: str = "") -> list[str]:
    """One tsquery group per word; two adjacent words and their joined form share one."""
    out: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word.joined and i + 1 < len(words):
            nxt = words[i + 1]
            w = f":{weight}" if weight else ""
            both = f"({_terms(word, weight)})"
            if nxt.searchable:
                both += f" & ({_terms(nxt, weight)})"
            out.append(f"({both} | '{word.joined}'{w})")
            i += 2
            continue
        if word.searchable:
            out.append(f"({_terms(word, weight)})")
        i += 1
    return out


def all_but_one(parts: Sequence[str]) -> str:
    """Titles with every group but one, for three groups or more ('' otherwise: with two,
    one word alone is too little to stand for the query)."""
    if len(parts) < 3:
        return ""
    return " | ".join(
        "(" + " & ".join(combo) + ")" for combo in combinations(parts, len(parts) - 1)
    )


def corrections(typed: str, known: bool, near: Sequence[str]) -> list[tuple[str, int]]:
    """Dictionary words ("word ndoc") within the typo budget of the typed word: the fewest
    typos first, then the most common; fewer of them when the dictionary has the word."""
    found = []
    for entry in near:
        word, ndoc = entry.rsplit(" ", 1)
        d = typos.within_budget(typed, word)
        if d is not None:
            found.append((d, -int(ndoc), word))
    found.sort()
    return [(word, -neg) for _, neg, word in found[: NEIGHBOURS if known else CORRECTIONS]]


def _closest(alternatives: Sequence[str]) -> list[tuple[str, int, float]]:
    """The best trigram corrections only, with their title counts and similarity: each
    extra one widens the search (and slows it) a lot."""
    scored = [(w, int(n), float(sim)) for w, sim, n in (a.rsplit(" ", 2) for a in alternatives)]
    if not scored:
        return []
    best = scored[0][2]
    return [(w, n, sim) for w, n, sim in scored if sim >= best - CLOSE_TO_BEST]


async def parse_query(db: AsyncSession | AsyncConnection, q: str) -> ParsedQuery:
    """Normalize and widen a user's query with typo corrections (one SQL round trip; two
    when a word is beyond every typo budget)."""
    params = {
        "q": q,
        "near_limit": NEAR_LIMIT,
        "max_words": MAX_WORDS,
        "prefix_words": PREFIX_WORDS,
    }
    every = (await db.execute(_EXPAND, params)).all()
    normalized = every[0].qn if every else ""
    titles = int(every[0].titles or 0) if every else 0
    rows = [r for r in every if r.tok]
    known = [bool(r.exact) or bool(r.last and r.ndoc) for r in rows]
    # A lone word the dictionary has ("river") is searched as typed: its neighbours would
    # only add titles after the exact ones (at the cost of visiting them all); with other
    # words beside it, a neighbour may be the word meant ("the park river").
    fixes = [
        [] if r.exact and len(rows) == 1 else corrections(r.tok, bool(r.exact), r.near)
        for r in rows
    ]
    lost = [r.tok for r, k, f in zip(rows, known, fixes, strict=True) if not (k or f)]
    guessed: dict[str, list[tuple[str, int, float]]] = {}
    if lost:
        found = await db.execute(
            _GUESSES, {"words": lost, "min_sim": MIN_SIMILARITY, "alts": ALTERNATIVES}
        )
        guessed = {tok: _closest(alts) for tok, alts in found}
    words: list[Word] = []
    corrected: list[str] = []
    meant: list[str] = []
    for r, is_known, fixed in zip(rows, known, fixes, strict=True):
        guesses = guessed.get(r.tok, [])
        if not fixed:  # beyond the typo budget, only words very like it ("midnite")
            fixed = [(w, n) for w, n, sim in guesses if sim >= SEARCH_SIMILARITY]
        meant.append(fixed[0][0] if fixed and not is_known else r.tok)
        if is_known or fixed or guesses:  # a word nothing resembles is left out of a suggestion
            corrected.append(r.tok if is_known else (fixed or guesses)[0][0])
        alternatives = [w for w, _ in fixed]
        alternatives += [e for e in EQUIVALENTS.get(r.tok, ()) if e not in alternatives]
        words.append(
            Word(
                typed=r.tok,
                last=bool(r.last),
                alternatives=tuple(alternatives),
                count=int(r.ndoc) + sum(n for _, n in fixed),
                joined=r.tok + r.next if r.joined else "",
                joined_count=int(r.joined),
            )
        )
    # Words past MAX_WORDS are not searched but still tell titles apart ("... part 2").
    tail = normalized.split()[len(rows) :]
    return parsed(normalized, words, titles, " ".join(corrected + tail), " ".join(meant + tail))


def parsed(
    normalized: str, words: Sequence[Word], titles: int, corrected: str = "", meant: str = ""
) -> ParsedQuery:
    """The tsquery texts of these words. cinema_norm leaves letters and digits only, so the
    words are safe tsquery lexemes; the quotes keep words such as "and" or "or" literal."""
    any_field = groups(words)
    title_only = groups(words, "A")
    counts = [w.count + w.joined_count for w in words if w.searchable]
    # A title has every word: at most as many as the rarest word (with its corrections).
    # A title has all words but one: at most the sum over the n ways to leave one out, each
    # at most its rarest word (the second rarest when the rarest is left out).
    ordered = sorted(counts)
    return ParsedQuery(
        normalized=normalized or "",
        tsquery=" & ".join(any_field),
        title_tsquery=" & ".join(title_only),
        any_tsquery=all_but_one(any_field),
        any_title_tsquery=all_but_one(title_only),
        matches=min(counts, default=0),
        any_matches=ordered[1] + (len(ordered) - 1) * ordered[0] if len(any_field) >= 3 else 0,
        titles=max(0, titles),
        corrected=corrected if corrected and corrected != normalized else "",
        meant=meant if meant and meant != normalized else "",
    )
