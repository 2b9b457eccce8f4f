"""Favorites and playlists: ordered items, visibility, shares with friends."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from sqlalchemy import and_, delete, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.accounts.tables import User
from models.catalog.tables import Title
from models.core.clock import now
from models.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from models.core.pagination import InvalidCursor, Page, decode_cursor, encode_cursor
from models.social import policy
from models.social.friends.schemas import UserBrief
from models.social.lists.schemas import (
    FavoriteOut,
    ItemOut,
    PlaylistDetail,
    PlaylistIn,
    PlaylistOut,
    PlaylistPatch,
    ShareOut,
    TitleBrief,
)
from models.social.lists.tables import (
    Favorite,
    Playlist,
    PlaylistItem,
    PlaylistShare,
    ShareRight,
    Visibility,
)
from models.social.paging import id_cursor, next_id_cursor
from models.social.policy import Actor, Relation
from models.social.relations import access_user, relation

MAX_ITEMS = 1000
MAX_PLAYLISTS = 500
Need = Literal["view", "edit", "manage", "delete"]


async def access_title(session: AsyncSession, *, title_id: int) -> Title:
    title = await session.get(Title, title_id)
    if title is None:
        raise NotFound("No such title", code="title_not_found")
    return title


def _title(t: Title) -> TitleBrief:
    return TitleBrief.model_validate(t)


# Favorites ---------------------------------------------------------------------------------


async def do_add_favorite(session: AsyncSession, *, actor: Actor, title_id: int) -> FavoriteOut:
    title = await access_title(session, title_id=title_id)
    await session.execute(
        insert(Favorite).values(user_id=actor.user_id, title_id=title_id).on_conflict_do_nothing()
    )
    created = await session.scalar(
        select(Favorite.created_at).where(
            Favorite.user_id == actor.user_id, Favorite.title_id == title_id
        )
    )
    assert created is not None
    return FavoriteOut(title=_title(title), created_at=created)


async def do_remove_favorite(session: AsyncSession, *, actor: Actor, title_id: int) -> None:
    result = await session.execute(
        delete(Favorite).where(Favorite.user_id == actor.user_id, Favorite.title_id == title_id)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        raise NotFound("This title is not in your favorites", code="favorite_not_found")


async def list_favorites(
    session: AsyncSession, *, actor: Actor, cursor: str | None, limit: int
) -> Page[FavoriteOut]:
    """Newest first. Favorites are private to their owner."""
    q = (
        select(Favorite.created_at, Title)
        .join(Title, Title.id == Favorite.title_id)
        .where(Favorite.user_id == actor.user_id)
        .order_by(Favorite.created_at.desc(), Favorite.title_id.desc())
        .limit(limit + 1)
    )
    if cursor is not None:
        c = decode_cursor(cursor)
        try:
            at, tid = datetime.fromisoformat(str(c["t"])), int(c["k"])
        except (KeyError, ValueError, TypeError) as exc:
            raise InvalidCursor() from exc
        q = q.where(func.row(Favorite.created_at, Favorite.title_id) < func.row(at, tid))
    rows = (await session.execute(q)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return Page[FavoriteOut](
        items=[FavoriteOut(title=_title(t), created_at=at) for at, t in rows],
        next_cursor=encode_cursor({"t": rows[-1][0].isoformat(), "k": rows[-1][1].id})
        if more
        else None,
    )


# Playlists: access ---------------------------------------------------------------------------


async def _share_of(
    session: AsyncSession, playlist_id: int, user_id: uuid.UUID | None
) -> ShareRight | None:
    if user_id is None:
        return None
    return await session.scalar(
        select(PlaylistShare.right).where(
            PlaylistShare.playlist_id == playlist_id, PlaylistShare.user_id == user_id
        )
    )


async def access_playlist(
    session: AsyncSession, *, actor: Actor, playlist_id: int, need: Need, lock: bool = False
) -> tuple[Playlist, Relation, ShareRight | None]:
    """Load a playlist the actor may `need`; one they may not even see is "not found"."""
    q = select(Playlist).where(Playlist.id == playlist_id)
    if lock:
        q = q.with_for_update()
    pl = await session.scalar(q)
    if pl is None:
        raise NotFound("No such playlist", code="playlist_not_found")
    rel = await relation(session, actor_id=actor.user_id, other_id=pl.owner_id)
    share = await _share_of(session, pl.id, actor.user_id)
    if not policy.can_view_playlist(actor, rel, pl.visibility, share):
        raise NotFound("No such playlist", code="playlist_not_found")
    allowed = {
        "view": True,
        "edit": policy.can_edit_playlist_items(actor, rel, share),
        "manage": policy.can_manage_playlist(actor, rel),
        "delete": policy.can_delete_playlist(actor, rel),
    }[need]
    if not allowed:
        raise Forbidden(f"You may not {need} this playlist", code="forbidden")
    return pl, rel, share


def _access(rel: Relation, share: ShareRight | None) -> Literal["owner", "edit", "view"]:
    if rel.is_self:
        return "owner"
    return "edit" if share == ShareRight.edit else "view"


async def _owners(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, UserBrief]:
    users = await session.scalars(select(User).where(User.id.in_(set(ids))))
    return {
        u.id: UserBrief(id=u.id, username=u.username, display_name=u.display_name) for u in users
    }


def _out(pl: Playlist, owner: UserBrief, access: Literal["owner", "edit", "view"]) -> PlaylistOut:
    return PlaylistOut(
        id=pl.id,
        owner=owner,
        name=pl.name,
        description=pl.description,
        visibility=pl.visibility,
        item_count=pl.item_count,
        access=access,
        created_at=pl.created_at,
        updated_at=pl.updated_at,
    )


async def _detail(
    session: AsyncSession, pl: Playlist, access: Literal["owner", "edit", "view"]
) -> PlaylistDetail:
    rows = (
        await session.execute(
            select(PlaylistItem, Title)
            .join(Title, Title.id == PlaylistItem.title_id)
            .where(PlaylistItem.playlist_id == pl.id)
            .order_by(PlaylistItem.position, PlaylistItem.id)
            # Positions were just shifted by bulk updates: read them, not the identity map.
            .execution_options(populate_existing=True)
        )
    ).all()
    owner = (await _owners(session, [pl.owner_id]))[pl.owner_id]
    base = _out(pl, owner, access)
    return PlaylistDetail(
        **base.model_dump(),
        items=[
            ItemOut(
                id=i.id,
                title=_title(t),
                position=i.position,
                added_by=i.added_by,
                created_at=i.created_at,
            )
            for i, t in rows
        ],
    )


# Playlists: use cases ------------------------------------------------------------------------


async def do_create_playlist(
    session: AsyncSession, *, actor: Actor, data: PlaylistIn
) -> PlaylistDetail:
    assert actor.user_id is not None
    count = await session.scalar(
        select(func.count()).select_from(Playlist).where(Playlist.owner_id == actor.user_id)
    )
    if (count or 0) >= MAX_PLAYLISTS:
        raise Conflict(f"At most {MAX_PLAYLISTS} playlists per user", code="too_many_playlists")
    pl = Playlist(
        owner_id=actor.user_id,
        name=data.name,
        description=data.description,
        visibility=data.visibility,
        item_count=0,
    )
    session.add(pl)
    await session.flush()
    await session.refresh(pl)
    return await _detail(session, pl, "owner")


async def get_playlist(session: AsyncSession, *, actor: Actor, playlist_id: int) -> PlaylistDetail:
    pl, rel, share = await access_playlist(
        session, actor=actor, playlist_id=playlist_id, need="view"
    )
    return await _detail(session, pl, _access(rel, share))


async def do_update_playlist(
    session: AsyncSession, *, actor: Actor, playlist_id: int, data: PlaylistPatch
) -> PlaylistDetail:
    pl, rel, share = await access_playlist(
        session, actor=actor, playlist_id=playlist_id, need="manage", lock=True
    )
    fields = data.model_dump(exclude_unset=True)
    if "name" in fields and fields["name"] is None:
        raise InvalidInput("name cannot be null", code="invalid_input")
    if "visibility" in fields and fields["visibility"] is None:
        raise InvalidInput("visibility cannot be null", code="invalid_input")
    for key, value in fields.items():
        setattr(pl, key, value)
    pl.updated_at = now()
    await session.flush()
    return await _detail(session, pl, _access(rel, share))


async def do_delete_playlist(session: AsyncSession, *, actor: Actor, playlist_id: int) -> None:
    pl, _, _ = await access_playlist(
        session, actor=actor, playlist_id=playlist_id, need="delete", lock=True
    )
    await session.delete(pl)
    await session.flush()


async def _touch(session: AsyncSession, pl: Playlist, delta: int) -> None:
    pl.item_count += delta
    pl.updated_at = now()
    await session.flush()


async def do_add_item(
    session: AsyncSession, *, actor: Actor, playlist_id: int, title_id: int, position: int | None
) -> PlaylistDetail:
    pl, rel, share = await access_playlist(
        session, actor=actor, playlist_id=playlist_id, need="edit", lock=True
    )
    await access_title(session, title_id=title_id)
    if pl.item_count >= MAX_ITEMS:
        raise Conflict(f"A playlist holds at most {MAX_ITEMS} titles", code="playlist_full")
    if await session.scalar(
        select(exists().where(PlaylistItem.playlist_id == pl.id, PlaylistItem.title_id == title_id))
    ):
        raise Conflict("This title is already in the playlist", code="already_in_playlist")
    pos = pl.item_count if position is None else min(position, pl.item_count)
    await session.execute(
        update(PlaylistItem)
        .where(PlaylistItem.playlist_id == pl.id, PlaylistItem.position >= pos)
        .values(position=PlaylistItem.position + 1)
    )
    session.add(
        PlaylistItem(playlist_id=pl.id, title_id=title_id, position=pos, added_by=actor.user_id)
    )
    await _touch(session, pl, +1)
    return await _detail(session, pl, _access(rel, share))


async def _item(session: AsyncSession, pl: Playlist, item_id: int) -> PlaylistItem:
    item = await session.scalar(
        select(PlaylistItem).where(PlaylistItem.id == item_id, PlaylistItem.playlist_id == pl.id)
    )
    if item is None:
        raise NotFound("No such item in this playlist", code="item_not_found")
    return item


async def do_remove_item(
    session: AsyncSession, *, actor: Actor, playlist_id: int, item_id: int
) -> PlaylistDetail:
    pl, rel, share = await access_playlist(
        session, actor=actor, playlist_id=playlist_id, need="edit", lock=True
    )
    item = await _item(session, pl, item_id)
    pos = item.position
    await session.delete(item)
    await session.flush()
    await session.execute(
        update(PlaylistItem)
        .where(PlaylistItem.playlist_id == pl.id, PlaylistItem.position > pos)
        .values(position=PlaylistItem.position - 1)
    )
    await _touch(session, pl, -1)
    return await _detail(session, pl, _access(rel, share))


async def do_move_item(
    session: AsyncSession, *, actor: Actor, playlist_id: int, item_id: int, position: int
) -> PlaylistDetail:
    pl, rel, share = await access_playlist(
        session, actor=actor, playlist_id=playlist_id, need="edit", lock=True
    )
    item = await _item(session, pl, item_id)
    old, new = item.position, min(position, pl.item_count - 1)
    if new < old:
        await session.execute(
            update(PlaylistItem)
            .where(
                PlaylistItem.playlist_id == pl.id,
                PlaylistItem.position >= new,
                PlaylistItem.position < old,
            )
            .values(position=PlaylistItem.position + 1)
        )
    elif new > old:
        await session.execute(
            update(PlaylistItem)
            .where(
                PlaylistItem.playlist_id == pl.id,
                PlaylistItem.position > old,
                PlaylistItem.position <= new,
            )
            .values(position=PlaylistItem.position - 1)
        )
    await session.execute(
        update(PlaylistItem).where(PlaylistItem.id == item.id).values(position=new)
    )
    await _touch(session, pl, 0)
    return await _detail(session, pl, _access(rel, share))


# Shares --------------------------------------------------------------------------------------


async def do_share(
    session: AsyncSession, *, actor: Actor, playlist_id: int, user_id: uuid.UUID, right: ShareRight
) -> ShareOut:
    pl, _, _ = await access_playlist(
        session, actor=actor, playlist_id=playlist_id, need="manage", lock=True
    )
    target = await access_user(session, user_id=user_id)
    rel = await relation(session, actor_id=actor.user_id, other_id=user_id)
    if rel.is_self:
        raise InvalidInput("You own this playlist", code="self_share")
    if not policy.can_share_playlist_with(actor, rel):
        raise Forbidden("Playlists can be shared with friends only", code="not_friends")
    stmt = insert(PlaylistShare).values(playlist_id=pl.id, user_id=user_id, right=right)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[PlaylistShare.playlist_id, PlaylistShare.user_id],
            set_={"right": stmt.excluded.right},
        )
    )
    created = await session.scalar(
        select(PlaylistShare.created_at).where(
            PlaylistShare.playlist_id == pl.id, PlaylistShare.user_id == user_id
        )
    )
    assert created is not None
    return ShareOut(
        user=UserBrief(id=target.id, username=target.username, display_name=target.display_name),
        right=right,
        created_at=created,
    )


async def do_unshare(
    session: AsyncSession, *, actor: Actor, playlist_id: int, user_id: uuid.UUID
) -> None:
    pl, _, _ = await access_playlist(
        session, actor=actor, playlist_id=playlist_id, need="manage", lock=True
    )
    result = await session.execute(
        delete(PlaylistShare).where(
            PlaylistShare.playlist_id == pl.id, PlaylistShare.user_id == user_id
        )
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        raise NotFound("This playlist is not shared with this user", code="share_not_found")


async def list_shares(session: AsyncSession, *, actor: Actor, playlist_id: int) -> Page[ShareOut]:
    pl, _, _ = await access_playlist(session, actor=actor, playlist_id=playlist_id, need="manage")
    rows = (
        await session.execute(
            select(PlaylistShare, User)
            .join(User, User.id == PlaylistShare.user_id)
            .where(PlaylistShare.playlist_id == pl.id)
            .order_by(PlaylistShare.created_at)
        )
    ).all()
    return Page[ShareOut](
        items=[
            ShareOut(
                user=UserBrief(id=u.id, username=u.username, display_name=u.display_name),
                right=s.right,
                created_at=s.created_at,
            )
            for s, u in rows
        ]
    )


async def revoke_shares_between(session: AsyncSession, a: uuid.UUID, b: uuid.UUID) -> None:
    owned_by = select(Playlist.id).where(Playlist.owner_id == a).scalar_subquery()
    owned_by_b = select(Playlist.id).where(Playlist.owner_id == b).scalar_subquery()
    await session.execute(
        delete(PlaylistShare).where(
            or_(
                and_(PlaylistShare.user_id == b, PlaylistShare.playlist_id.in_(owned_by)),
                and_(PlaylistShare.user_id == a, PlaylistShare.playlist_id.in_(owned_by_b)),
            )
        )
    )


# Playlist lists ------------------------------------------------------------------------------


async def _page(
    session: AsyncSession,
    rows: list[tuple[Playlist, Literal["owner", "edit", "view"]]],
    limit: int,
) -> Page[PlaylistOut]:
    more = len(rows) > limit
    rows = rows[:limit]
    owners = await _owners(session, [p.owner_id for p, _ in rows])
    return Page[PlaylistOut](
        items=[_out(p, owners[p.owner_id], a) for p, a in rows],
        next_cursor=next_id_cursor(rows[-1][0].id if more else None),
    )


async def list_my_playlists(
    session: AsyncSession, *, actor: Actor, cursor: str | None, limit: int
) -> Page[PlaylistOut]:
    q = (
        select(Playlist)
        .where(Playlist.owner_id == actor.user_id)
        .order_by(Playlist.id.desc())
        .limit(limit + 1)
    )
    before = id_cursor(cursor)
    if before is not None:
        q = q.where(Playlist.id < before)
    return await _page(session, [(p, "owner") for p in await session.scalars(q)], limit)


async def list_shared_with_me(
    session: AsyncSession, *, actor: Actor, cursor: str | None, limit: int
) -> Page[PlaylistOut]:
    """Playlists friends shared with me, newest first."""
    q = (
        select(Playlist, PlaylistShare.right)
        .join(PlaylistShare, PlaylistShare.playlist_id == Playlist.id)
        .where(PlaylistShare.user_id == actor.user_id)
        .order_by(Playlist.id.desc())
        .limit(limit + 1)
    )
    before = id_cursor(cursor)
    if before is not None:
        q = q.where(Playlist.id < before)
    rows = (await session.execute(q)).all()
    return await _page(
        session, [(p, "edit" if r == ShareRight.edit else "view") for p, r in rows], limit
    )


async def list_user_playlists(
    session: AsyncSession, *, actor: Actor, owner_id: uuid.UUID, cursor: str | None, limit: int
) -> Page[PlaylistOut]:
    """Another user's playlists that the actor may see (the same rule as can_view_playlist)."""
    await access_user(session, user_id=owner_id)
    rel = await relation(session, actor_id=actor.user_id, other_id=owner_id)
    q = select(Playlist).where(Playlist.owner_id == owner_id)
    if not (rel.is_self or actor.is_admin):
        visible = Playlist.visibility == Visibility.public
        if actor.user_id is not None and not rel.blocked_by_other:
            shared = exists().where(
                PlaylistShare.playlist_id == Playlist.id, PlaylistShare.user_id == actor.user_id
            )
            visible = or_(visible, shared)
            if rel.friends:
                visible = or_(visible, Playlist.visibility == Visibility.friends)
        q = q.where(visible)
    before = id_cursor(cursor)
    if before is not None:
        q = q.where(Playlist.id < before)
    pls = list((await session.scalars(q.order_by(Playlist.id.desc()).limit(limit + 1))).all())
    shares = (
        dict(
            (
                await session.execute(
                    select(PlaylistShare.playlist_id, PlaylistShare.right).where(
                        PlaylistShare.user_id == actor.user_id,
                        PlaylistShare.playlist_id.in_([p.id for p in pls]),
                    )
                )
            ).all()
        )
        if actor.user_id is not None
        else {}
    )
    return await _page(session, [(p, _access(rel, shares.get(p.id))) for p in pls], limit)
