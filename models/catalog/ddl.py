"""Database functions the catalog's search relies on (created by migration catalog_0001).

`unaccent()` is only STABLE (its dictionary could change), so it cannot appear in an index
or a generated value directly; the IMMUTABLE wrapper pins the dictionary, which makes that
promise true. `cinema_norm()` is the one normalization every search path uses: unaccented,
lower case, punctuation folded to single spaces ("Amélie" -> "amelie", "Spider-Man" ->
"spider man").
"""

from __future__ import annotations

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
    AS $$ SELECT btrim(regexp_replace(lower(cinema_unaccent($1)), '[^[:alnum:]]+', ' ', 'g')) $$
    """,
)

DROP_FUNCTIONS = (
    "DROP FUNCTION IF EXISTS cinema_norm(text)",
    "DROP FUNCTION IF EXISTS cinema_unaccent(text)",
)
