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
candidates a key finds are then checked on the whole word. It is PL/pgSQL for speed: the
same in one SQL statement (three generate_series) took about 15 ms a word, this 0.1 ms.
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
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE STRICT ROWS 30
    AS $$
    DECLARE
        p text := left(word, {PREFIX});
        n integer := length(left(word, {PREFIX}));
        one text;
        keys text[] := ARRAY[left(word, {PREFIX})];
    BEGIN
        IF depth < 0 THEN
            RETURN;
        END IF;
        FOR i IN 1..n LOOP
            EXIT WHEN depth < 1;
            one := overlay(p PLACING '' FROM i FOR 1);
            keys := keys || one;
            FOR j IN i..n - 1 LOOP
                EXIT WHEN depth < 2;
                keys := keys || overlay(one PLACING '' FROM j FOR 1);
            END LOOP;
        END LOOP;
        RETURN QUERY SELECT DISTINCT unnest(keys);
    END
    $$
    """,
)

DROP_FUNCTIONS = (
    "DROP FUNCTION IF EXISTS cinema_deletes(text, integer)",
    "DROP FUNCTION IF EXISTS cinema_norm(text)",
    "DROP FUNCTION IF EXISTS cinema_unaccent(text)",
)
