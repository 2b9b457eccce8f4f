"""catalog: typo-tolerant search (deletion neighbourhood), apostrophes, transliteration

Revision ID: catalog_0002
Revises: catalog_0001
Create Date: 2026-12-05

cinema_norm now drops apostrophes inside words ("Ocean's" -> "oceans"); titles get a Latin
transliteration (`search_latin`) and their hyphenated words joined in the search document;
the dictionary gets its deletion neighbourhood (`catalog_search_deletes`). Every title's
search columns and the dictionary are recomputed (about a minute per 100k titles).
"""

import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from anyascii import anyascii

revision: str = "catalog_0002"
down_revision: str | Sequence[str] | None = "catalog_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of models/catalog/ddl.py and search.py as of this revision.
NORM = """
    CREATE OR REPLACE FUNCTION cinema_norm(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$ SELECT btrim(regexp_replace(
        regexp_replace(lower(cinema_unaccent($1)), '([[:alnum:]])[''`\u00b4\u2018\u2019\u02bc]+(?=[[:alnum:]])',
                       '\\1', 'g'),
        '[^[:alnum:]]+', ' ', 'g')) $$
"""
OLD_NORM = """
    CREATE OR REPLACE FUNCTION cinema_norm(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$ SELECT btrim(regexp_replace(lower(cinema_unaccent($1)), '[^[:alnum:]]+', ' ', 'g')) $$
"""
DELETES = """
    CREATE OR REPLACE FUNCTION cinema_deletes(word text, depth integer) RETURNS SETOF text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE STRICT ROWS 30
    AS $$
    DECLARE
        p text := left(word, 7);
        n integer := length(left(word, 7));
        one text;
        keys text[] := ARRAY[left(word, 7)];
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
"""
_OTHER_FIELDS = """
    || setweight(to_tsvector('simple', cinema_norm(coalesce((
        SELECT string_agg(g.name, ' ') FROM title_genres tg JOIN genres g ON g.id = tg.genre_id
        WHERE tg.title_id = t.id), '') || ' ' || coalesce((
        SELECT string_agg(x.name, ' ') FROM title_tags tt JOIN tags x ON x.id = tt.tag_id
        WHERE tt.title_id = t.id), '') || ' ' || coalesce((
        SELECT string_agg(c.name, ' ') FROM title_categories tc JOIN categories c
            ON c.id = tc.category_id WHERE tc.title_id = t.id), ''))), 'B')
    || setweight(to_tsvector('simple', cinema_norm(coalesce((
        SELECT string_agg(p.name, ' ') FROM credits cr JOIN people p ON p.id = cr.person_id
        WHERE cr.title_id = t.id AND cr.position < 6), ''))), 'C')
"""
_BOTH = "(t.title || ' ' || coalesce(t.original_title, ''))"
REFRESH = (
    f"""
    UPDATE titles AS t SET search_title = cinema_norm(t.title), search_vector =
    setweight(to_tsvector('simple', cinema_norm(
        {_BOTH} || ' ' || t.search_latin || CASE WHEN {_BOTH} ~ '[''`\u00b4\u2018\u2019\u02bc-]' THEN
        ' ' || regexp_replace({_BOTH}, '([[:alnum:]])-(?=[[:alnum:]])', '\\1', 'g')
        || ' ' || regexp_replace({_BOTH}, '[''`\u00b4\u2018\u2019\u02bc]', ' ', 'g')
    ELSE '' END)), 'A')
    """
    + _OTHER_FIELDS
)
OLD_REFRESH = (
    """
    UPDATE titles AS t SET search_title = cinema_norm(t.title), search_vector =
    setweight(to_tsvector('simple',
        cinema_norm(t.title || ' ' || coalesce(t.original_title, ''))), 'A')
    """
    + _OTHER_FIELDS
)
WORD_DEPTH = "CASE WHEN length(w.word) >= 9 THEN 2 WHEN length(w.word) >= 4 THEN 1 ELSE -1 END"
REBUILD = (
    "DELETE FROM catalog_search_words",
    "INSERT INTO catalog_search_words (word, ndoc) "
    "SELECT word, ndoc FROM ts_stat('SELECT search_vector FROM titles')",
)
DELETES_REBUILD = (
    "INSERT INTO catalog_search_deletes (key, word) SELECT k, w.word "
    f"FROM catalog_search_words AS w, cinema_deletes(w.word, {WORD_DEPTH}) AS k"
)


def _foreign(ch: str) -> bool:
    return ch.isalpha() and not ch.isascii() and not unicodedata.name(ch, "").startswith("LATIN")


def _latin(text: str) -> str:
    out: list[str] = []
    han: list[str] = []
    for ch in text + " ":
        if unicodedata.name(ch, "").startswith(("CJK UNIFIED", "CJK COMPATIBILITY IDEOGRAPH")):
            han.append(anyascii(ch).lower())
            continue
        if han:
            out.append(" " + " ".join(han) + " " + "".join(han) + " ")
            han.clear()
        out.append(anyascii(ch).lower() if _foreign(ch) else ch)
    return " ".join("".join(out).split())


def upgrade() -> None:
    bind = op.get_bind()
    op.execute(NORM)
    op.execute(DELETES)
    op.add_column(
        "titles",
        sa.Column("search_latin", sa.Text(), server_default=sa.text("''"), nullable=False),
    )
    op.create_table(
        "catalog_search_deletes",
        sa.Column("key", sa.Text(collation="C"), nullable=False),
        sa.Column("word", sa.Text(collation="C"), nullable=False),
        sa.PrimaryKeyConstraint("key", "word", name=op.f("pk_catalog_search_deletes")),
    )
    rows = bind.execute(
        sa.text(
            "SELECT id, title, original_title FROM titles "
            "WHERE octet_length(title || coalesce(original_title, '')) "
            "<> char_length(title || coalesce(original_title, ''))"
        )
    ).all()
    updates = [
        {"id": r.id, "latin": " ".join(_latin(t) for t in (r.title, r.original_title) if t)}
        for r in rows
        if any(_foreign(ch) for ch in r.title + (r.original_title or ""))
    ]
    if updates:
        bind.execute(
            sa.text("UPDATE titles SET search_latin = cinema_norm(:latin) WHERE id = :id"),
            updates,
        )
    op.execute(REFRESH)
    for stmt in REBUILD:
        op.execute(stmt)
    op.execute(DELETES_REBUILD)


def downgrade() -> None:
    op.drop_table("catalog_search_deletes")
    op.drop_column("titles", "search_latin")
    op.execute("DROP FUNCTION IF EXISTS cinema_deletes(text, integer)")
    op.execute(OLD_NORM)
    op.execute(OLD_REFRESH)
    for stmt in REBUILD:
        op.execute(stmt)
