"""Database functions the catalog's search relies on (created by migrations catalog_0001 and
catalog_0002; the migrations hold frozen copies of these texts).

`unaccent()` is only STABLE (its dictionary could change), so it cannot appear in an index
or a generated value directly; the IMMUTABLE wrapper pins the dictionary, which makes that
promise true. `cinema_norm()` is the one normalization every search path uses: unaccented,
lower case, apostrophes inside a word dropped, other punctuation folded to single spaces
("Amélie" -> "amelie", "Ocean's" -> "oceans", "Spider-Man" -> "spider man").

`cinema_deletes(word, depth)` is the deletion neighbourhood of a word (SymSpell): the word's
first PREFIX letters with up to `depth` letters deleted. Two words within `depth` edits
(insertions, deletions, substitutions, adjacent transpositions) of each other share one of
these keys, so a typo is looked up by equality in an index instead of by a scan. Only the
first PREFIX letters count, which bounds the keys per word (at most 29 at depth 2); the
candidates a key finds are then checked on the whole word.
"""

from __future__ import annotations

PREFIX = 7

EXTENSIONS = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE EXTENSION IF NOT EXISTS unaccent",
)

# Where the unaccent extension lives, so the wrapper does not depend on search_path.
UNACCENT_SCHEMA = (
    "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'unaccent'"
)

FUNCTIONS = (
    """
    CREATE OR REPLACE FUNCTION cinema_unaccent(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$ SELECT {schema}.unaccent('{schema}.unaccent'::regdictionary, $1) $$
    """,
    """
    CREATE OR REPLACE FUNCTION cinema_norm(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$ SELECT btrim(regexp_replace(
        regexp_replace(lower(cinema_unaccent($1)),
                       '([[:alnum:]])[''`\u00b4\u2018\u2019\u02bc]+(?=[[:alnum:]])', '\\1', 'g'),
        '[^[:alnum:]]+', ' ', 'g')) $$
    """,
    f"""
    CREATE OR REPLACE FUNCTION cinema_deletes(word text, depth integer) RETURNS SETOF text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$
        SELECT p.w FROM (SELECT left(word, {PREFIX}) AS w) AS p WHERE depth >= 0
        UNION
        SELECT overlay(p.w PLACING '' FROM i FOR 1)
        FROM (SELECT left(word, {PREFIX}) AS w) AS p, generate_series(1, length(p.w)) AS i
        WHERE depth >= 1
        UNION
        SELECT overlay(overlay(p.w PLACING '' FROM j FOR 1) PLACING '' FROM i FOR 1)
        FROM (SELECT left(word, {PREFIX}) AS w) AS p, generate_series(1, length(p.w)) AS i,
             generate_series(i + 1, length(p.w)) AS j
        WHERE depth >= 2
    $$
    """,
)

DROP_FUNCTIONS = (
    "DROP FUNCTION IF EXISTS cinema_deletes(text, integer)",
    "DROP FUNCTION IF EXISTS cinema_norm(text)",
    "DROP FUNCTION IF EXISTS cinema_unaccent(text)",
)
