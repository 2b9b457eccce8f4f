"""What database failures mean for the client when they are not bugs."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from models.core.context import Context
from models.core.db import transaction
from models.core.errors import Conflict, InvalidInput, from_backend


async def test_a_reference_deleted_meanwhile_is_a_conflict(ctx: Context) -> None:
    # What a write sees when what it checked a moment ago was deleted before its insert.
    with pytest.raises(IntegrityError) as caught:
        async with transaction(ctx.sessions) as session:
            await session.execute(
                text("INSERT INTO title_genres (title_id, genre_id) VALUES (:t, :g)"),
                {"t": 2**62, "g": 2**62},
            )
    translated = from_backend(caught.value)
    assert isinstance(translated, Conflict) and translated.status == 409
    assert translated.to_dict()["error"]["code"] == "gone_meanwhile"


async def test_other_integrity_errors_stay_bugs_and_bad_values_are_input(ctx: Context) -> None:
    with pytest.raises(IntegrityError) as caught:
        async with transaction(ctx.sessions) as session:
            await session.execute(text("INSERT INTO genres (slug, name) VALUES (NULL, 'x')"))
    assert from_backend(caught.value) is None  # a NOT NULL violation is our mistake: a 500
    # The server refuses a value, or asyncpg refuses to encode a parameter: bad input.
    with pytest.raises(DBAPIError) as bad:
        async with transaction(ctx.sessions) as session:
            await session.execute(text("SELECT CAST('not a number' AS integer)"))
    assert isinstance(from_backend(bad.value), InvalidInput)
    with pytest.raises(DBAPIError) as unencodable:
        async with transaction(ctx.sessions) as session:
            await session.execute(text("SELECT CAST(:v AS bigint)"), {"v": 2**70})
    assert isinstance(from_backend(unencodable.value), InvalidInput)
