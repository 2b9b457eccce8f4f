"""Age ratings as ages: what family controls compare a child's maturity limit with.

The catalog keeps ratings as written ("12+", "PG-13", "TV-MA", "FSK 16", "15"); each title's
`min_age` is derived from it in PostgreSQL (a generated column, so every writer, the importers'
COPY included, gets it) by `cinema_min_age()`, the function below (created by migration
catalog_0004, which holds a frozen copy). A rating it cannot read (none, "NR",
"Unrated") gives no age, and a child sees only titles whose age is known and within the limit.
"""

from __future__ import annotations

import re

from models.core.errors import Forbidden

# Systems whose ratings carry no age, by name (US film and TV, UK, a few common ones); any
# other rating with a number is that age ("12+", "FSK 16", "15", "-12"), at most 21.
_NAMED = {
    0: ("G", "U", "TV-Y", "TV-G", "ALL", "E", "L", "AL", "TP", "UC"),
    7: ("TV-Y7", "TV-Y7-FV"),
    10: ("PG", "TV-PG"),
    13: ("PG-13", "12A", "12PG"),
    14: ("TV-14",),
    17: ("R", "TV-MA"),
    18: ("NC-17", "X", "XXX", "R18", "R-18", "RESTRICTED"),
}


def _sql() -> str:
    norm = "upper(btrim(age_rating))"
    whens = " ".join(
        f"WHEN {norm} IN ({', '.join(repr(r) for r in ratings)}) THEN {age}"
        for age, ratings in _NAMED.items()
    )
    return (
        f"CASE {whens} "
        "WHEN age_rating ~ '[0-9]' THEN "
        "least(substring(age_rating from '([0-9]{1,2})')::integer, 21) END"
    )


MIN_AGE_FUNCTION = (
    "CREATE OR REPLACE FUNCTION cinema_min_age(age_rating text) RETURNS smallint "
    f"LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT ({_sql()})::smallint $$"
)
# The generated column's expression (models/catalog/tables.py).
MIN_AGE_SQL = "cinema_min_age(age_rating)"

_BY_NAME = {r: age for age, ratings in _NAMED.items() for r in ratings}
_DIGITS = re.compile(r"[0-9]{1,2}")


def rating_age(rating: str | None) -> int | None:
    """The age a rating says, as cinema_min_age() computes it (kept equal by a test)."""
    if rating is None:
        return None
    named = _BY_NAME.get(rating.strip().upper())
    if named is not None:
        return named
    found = _DIGITS.search(rating)
    return min(int(found.group()), 21) if found else None


def allowed(min_age: int | None, max_age: int | None) -> bool:
    """May a viewer with this limit (None: no limit) see a title of this age?"""
    return max_age is None or (min_age is not None and min_age <= max_age)


def check_allowed(min_age: int | None, max_age: int | None) -> None:
    """Refuse a title above a child's limit, by id (lists leave it out instead)."""
    if not allowed(min_age, max_age):
        raise Forbidden(
            "This title is above your account's maturity limit; ask a parent",
            code="maturity_restricted",
        )
