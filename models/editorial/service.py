"""Editors' writes to the catalog, whichever door they come through: the role, one
transaction around the catalog service, the parties on removed media ended, the cache
invalidated, and the result read back as readers will see it.

It sits above the catalog and the parties, so neither imports the other and no door reaches
into parties to delete a title."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from models.accounts.service import Principal
from models.accounts.tables import Role
from models.catalog import cache, schemas
from models.catalog import service as catalog
from models.core.context import Context
from models.core.db import transaction
from models.core.errors import Forbidden
from models.core.events import Outbox
from models.moderation import audit
from models.parties import service as parties

T = TypeVar("T")


def check_editor(actor: Principal) -> None:
    if not actor.has_role(Role.editor):
        raise Forbidden(f"This needs the {Role.editor.value} role", code="forbidden")


# ---- titles, seasons, episodes -------------------------------------------------------------


async def title_out(ctx: Context, title_id: int) -> schemas.TitleDetail:
    async with ctx.sessions() as session:
        detail = await catalog.title_detail(session, title_id=title_id)
    return schemas.TitleDetail.model_validate(detail)


def _audit(session: AsyncSession, actor: Principal, action: str, kind: str, target: object) -> None:
    """Every editor's write is in the audit log, in its transaction."""
    audit.record(session, actor_id=actor.user_id, action=action, target_kind=kind, target_id=target)


async def _write_title(
    ctx: Context,
    actor: Principal,
    write: Callable[[AsyncSession], Awaitable[int]],
    action: str,
) -> schemas.TitleDetail:
    """Run a write that answers the id of the title it changed; answer that title."""
    check_editor(actor)
    async with transaction(ctx.sessions) as session:
        title_id = await write(session)
        _audit(session, actor, action, "title", title_id)
    await cache.invalidate_title(ctx, title_id)
    return await title_out(ctx, title_id)


async def _remove_media(
    ctx: Context,
    actor: Principal,
    media: dict[str, int],
    remove: Callable[[AsyncSession], Awaitable[int]],
) -> None:
    """Delete a title, season or episode (`media` names it as `lock_parties_of_media`
    takes it); the parties playing it end after the commit."""
    check_editor(actor)
    async with transaction(ctx.sessions) as session:
        party_ids: list[uuid.UUID] = await parties.lock_parties_of_media(session, **media)
        title_id = await remove(session)
        ((key, value),) = media.items()
        kind = key.removesuffix("_id")
        _audit(session, actor, f"delete_{kind}", kind, value)
    await parties.do_end_for_removed_media(ctx, party_ids=party_ids)
    await cache.invalidate_title(ctx, title_id)


async def do_create_title(
    ctx: Context, *, actor: Principal, data: schemas.TitleIn
) -> schemas.TitleDetail:
    return await _write_title(
        ctx, actor, lambda s: catalog.do_create_title(s, data=data), "create_title"
    )


async def do_update_title(
    ctx: Context, *, actor: Principal, title_id: int, patch: schemas.TitlePatch
) -> schemas.TitleDetail:
    async def write(session: AsyncSession) -> int:
        await catalog.do_update_title(session, title_id=title_id, patch=patch)
        return title_id

    return await _write_title(ctx, actor, write, "update_title")


async def do_delete_title(ctx: Context, *, actor: Principal, title_id: int) -> None:
    await _remove_media(
        ctx,
        actor,
        {"title_id": title_id},
        lambda s: catalog.do_delete_title(s, title_id=title_id),
    )


async def do_create_season(
    ctx: Context, *, actor: Principal, title_id: int, data: schemas.SeasonIn
) -> schemas.TitleDetail:
    async def write(session: AsyncSession) -> int:
        await catalog.do_create_season(session, title_id=title_id, data=data)
        return title_id

    return await _write_title(ctx, actor, write, "create_season")


async def do_update_season(
    ctx: Context, *, actor: Principal, season_id: int, patch: schemas.SeasonPatch
) -> schemas.TitleDetail:
    return await _write_title(
        ctx,
        actor,
        lambda s: catalog.do_update_season(s, season_id=season_id, patch=patch),
        "update_season",
    )


async def do_delete_season(ctx: Context, *, actor: Principal, season_id: int) -> None:
    await _remove_media(
        ctx,
        actor,
        {"season_id": season_id},
        lambda s: catalog.do_delete_season(s, season_id=season_id),
    )


async def do_create_episode(
    ctx: Context, *, actor: Principal, season_id: int, data: schemas.EpisodeIn
) -> schemas.TitleDetail:
    async def write(session: AsyncSession) -> int:
        _, title_id = await catalog.do_create_episode(session, season_id=season_id, data=data)
        return title_id

    return await _write_title(ctx, actor, write, "create_episode")


async def do_update_episode(
    ctx: Context, *, actor: Principal, episode_id: int, patch: schemas.EpisodePatch
) -> schemas.TitleDetail:
    return await _write_title(
        ctx,
        actor,
        lambda s: catalog.do_update_episode(s, episode_id=episode_id, patch=patch),
        "update_episode",
    )


async def do_delete_episode(ctx: Context, *, actor: Principal, episode_id: int) -> None:
    await _remove_media(
        ctx,
        actor,
        {"episode_id": episode_id},
        lambda s: catalog.do_delete_episode(s, episode_id=episode_id),
    )


# ---- everything else: genres, tags, categories, people, collections ------------------------
# Not about one title: the whole catalog cache moves on.


async def _write_catalog(
    ctx: Context,
    actor: Principal,
    write: Callable[[AsyncSession], Awaitable[T]],
    action: str,
    kind: str,
    target: object = None,
) -> T:
    """`target`: what the write changed, or None for the id it answers (a new row)."""
    check_editor(actor)
    async with transaction(ctx.sessions) as session:
        result = await write(session)
        made = target
        if made is None:  # a new row: the write answers its id, or the row as a dict
            made = result.get("id") if isinstance(result, dict) else result
        _audit(session, actor, action, kind, made)
    await cache.invalidate_catalog(ctx)
    return result


async def do_create_term(
    ctx: Context, *, actor: Principal, field: str, data: schemas.TermIn
) -> schemas.Term:
    out = await _write_catalog(
        ctx, actor, lambda s: catalog.do_create_term(s, field=field, data=data), "create", field
    )
    return schemas.Term.model_validate(out)


async def do_update_term(
    ctx: Context,
    outbox: Outbox,
    *,
    actor: Principal,
    field: str,
    term_id: int,
    patch: schemas.TermPatch,
) -> schemas.Term:
    out = await _write_catalog(
        ctx,
        actor,
        lambda s: catalog.do_update_term(s, outbox, field=field, term_id=term_id, patch=patch),
        "update",
        field,
        term_id,
    )
    return schemas.Term.model_validate(out)


async def do_delete_term(
    ctx: Context, outbox: Outbox, *, actor: Principal, field: str, term_id: int
) -> None:
    await _write_catalog(
        ctx,
        actor,
        lambda s: catalog.do_delete_term(s, outbox, field=field, term_id=term_id),
        "delete",
        field,
        term_id,
    )


async def person_out(ctx: Context, person_id: int) -> schemas.PersonDetail:
    async with ctx.sessions() as session:
        detail = await catalog.person_detail(session, person_id=person_id)
    return schemas.PersonDetail.model_validate(detail)


async def do_create_person(
    ctx: Context, *, actor: Principal, data: schemas.PersonIn
) -> schemas.PersonDetail:
    person_id = await _write_catalog(
        ctx, actor, lambda s: catalog.do_create_person(s, data=data), "create_person", "person"
    )
    return await person_out(ctx, person_id)


async def do_update_person(
    ctx: Context, outbox: Outbox, *, actor: Principal, person_id: int, patch: schemas.PersonPatch
) -> schemas.PersonDetail:
    await _write_catalog(
        ctx,
        actor,
        lambda s: catalog.do_update_person(s, outbox, person_id=person_id, patch=patch),
        "update_person",
        "person",
        person_id,
    )
    return await person_out(ctx, person_id)


async def do_delete_person(
    ctx: Context, outbox: Outbox, *, actor: Principal, person_id: int
) -> None:
    await _write_catalog(
        ctx,
        actor,
        lambda s: catalog.do_delete_person(s, outbox, person_id=person_id),
        "delete_person",
        "person",
        person_id,
    )


async def collection_out(ctx: Context, collection_id: int) -> schemas.CollectionDetail:
    async with ctx.sessions() as session:
        detail = await catalog.collection_detail(session, ref=str(collection_id))
    return schemas.CollectionDetail.model_validate(detail)


async def do_create_collection(
    ctx: Context, *, actor: Principal, data: schemas.CollectionIn
) -> schemas.CollectionDetail:
    collection_id = await _write_catalog(
        ctx,
        actor,
        lambda s: catalog.do_create_collection(s, data=data),
        "create_collection",
        "collection",
    )
    return await collection_out(ctx, collection_id)


async def do_update_collection(
    ctx: Context, *, actor: Principal, ref: str, patch: schemas.CollectionPatch
) -> schemas.CollectionDetail:
    collection_id = await _write_catalog(
        ctx,
        actor,
        lambda s: catalog.do_update_collection(s, ref=ref, patch=patch),
        "update_collection",
        "collection",
    )
    return await collection_out(ctx, collection_id)


async def do_delete_collection(ctx: Context, *, actor: Principal, ref: str) -> None:
    await _write_catalog(
        ctx,
        actor,
        lambda s: catalog.do_delete_collection(s, ref=ref),
        "delete_collection",
        "collection",
        ref,
    )
