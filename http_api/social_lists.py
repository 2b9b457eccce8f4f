"""Favorites and playlists: ordered items, visibility, shares with friends."""

from __future__ import annotations

from http_api.routing import Api, Call
from http_api.social_common import actor_of, int_param, user_param
from models.core.pagination import Page
from models.social.friends.schemas import PageQuery
from models.social.lists import service
from models.social.lists.schemas import (
    FavoriteOut,
    ItemIn,
    MoveIn,
    PlaylistDetail,
    PlaylistIn,
    PlaylistOut,
    PlaylistPatch,
    ShareIn,
    ShareOut,
)

api = Api(tags=["social: lists"])


@api.get("/favorites", query=PageQuery, response=Page[FavoriteOut])
async def list_favorites(call: Call) -> Page[FavoriteOut]:
    """My favorite titles, newest first."""
    async with call.ctx.sessions() as session:
        return await service.list_favorites(
            session, actor=actor_of(call), cursor=call.query.cursor, limit=call.query.limit
        )


@api.put("/favorites/{title_id}", response=FavoriteOut, errors=(404,))
async def add_favorite(call: Call) -> FavoriteOut:
    """Add a title to my favorites (adding twice is harmless)."""
    async with call.transaction() as session:
        return await service.do_add_favorite(
            session, actor=actor_of(call), title_id=int_param(call, "title_id")
        )


@api.delete("/favorites/{title_id}", status=204, errors=(404,))
async def remove_favorite(call: Call) -> None:
    """Remove a title from my favorites."""
    async with call.transaction() as session:
        await service.do_remove_favorite(
            session, actor=actor_of(call), title_id=int_param(call, "title_id")
        )


@api.post("/playlists", body=PlaylistIn, response=PlaylistDetail, status=201, errors=(409,))
async def create_playlist(call: Call) -> PlaylistDetail:
    """Create a playlist (private unless said otherwise)."""
    async with call.transaction() as session:
        return await service.do_create_playlist(session, actor=actor_of(call), data=call.body)


@api.get("/playlists", query=PageQuery, response=Page[PlaylistOut])
async def my_playlists(call: Call) -> Page[PlaylistOut]:
    """My playlists, newest first."""
    async with call.ctx.sessions() as session:
        return await service.list_my_playlists(
            session, actor=actor_of(call), cursor=call.query.cursor, limit=call.query.limit
        )


@api.get("/playlists/shared-with-me", query=PageQuery, response=Page[PlaylistOut])
async def shared_with_me(call: Call) -> Page[PlaylistOut]:
    """Playlists friends shared with me, with my right on each."""
    async with call.ctx.sessions() as session:
        return await service.list_shared_with_me(
            session, actor=actor_of(call), cursor=call.query.cursor, limit=call.query.limit
        )


@api.get(
    "/users/{user_id}/playlists",
    query=PageQuery,
    response=Page[PlaylistOut],
    auth="optional",
    errors=(404, 422),
)
async def user_playlists(call: Call) -> Page[PlaylistOut]:
    """Someone's playlists that I may see."""
    async with call.ctx.sessions() as session:
        return await service.list_user_playlists(
            session,
            actor=actor_of(call),
            owner_id=user_param(call),
            cursor=call.query.cursor,
            limit=call.query.limit,
        )


@api.get("/playlists/{playlist_id:int}", response=PlaylistDetail, auth="optional", errors=(404,))
async def get_playlist(call: Call) -> PlaylistDetail:
    """A playlist with its items in order (if I may see it)."""
    async with call.ctx.sessions() as session:
        return await service.get_playlist(
            session, actor=actor_of(call), playlist_id=int_param(call, "playlist_id")
        )


@api.patch(
    "/playlists/{playlist_id:int}",
    body=PlaylistPatch,
    response=PlaylistDetail,
    errors=(403, 404, 422),
)
async def update_playlist(call: Call) -> PlaylistDetail:
    """Rename, describe or change the visibility (owner only)."""
    async with call.transaction() as session:
        return await service.do_update_playlist(
            session,
            actor=actor_of(call),
            playlist_id=int_param(call, "playlist_id"),
            data=call.body,
        )


@api.delete("/playlists/{playlist_id:int}", status=204, errors=(403, 404))
async def delete_playlist(call: Call) -> None:
    """Delete a playlist (owner, or an admin)."""
    async with call.transaction() as session:
        await service.do_delete_playlist(
            session, actor=actor_of(call), playlist_id=int_param(call, "playlist_id")
        )


@api.post(
    "/playlists/{playlist_id}/items",
    body=ItemIn,
    response=PlaylistDetail,
    status=201,
    errors=(403, 404, 409),
)
async def add_item(call: Call) -> PlaylistDetail:
    """Insert a title at a position (default: the end). Owner or edit share."""
    async with call.transaction() as session:
        return await service.do_add_item(
            session,
            actor=actor_of(call),
            playlist_id=int_param(call, "playlist_id"),
            title_id=call.body.title_id,
            position=call.body.position,
        )


@api.delete("/playlists/{playlist_id}/items/{item_id}", response=PlaylistDetail, errors=(403, 404))
async def remove_item(call: Call) -> PlaylistDetail:
    """Remove an item; those after it move up."""
    async with call.transaction() as session:
        return await service.do_remove_item(
            session,
            actor=actor_of(call),
            playlist_id=int_param(call, "playlist_id"),
            item_id=int_param(call, "item_id"),
        )


@api.post(
    "/playlists/{playlist_id}/items/{item_id}/move",
    body=MoveIn,
    response=PlaylistDetail,
    errors=(403, 404),
)
async def move_item(call: Call) -> PlaylistDetail:
    """Move an item to a new position (0-based); the others shift."""
    async with call.transaction() as session:
        return await service.do_move_item(
            session,
            actor=actor_of(call),
            playlist_id=int_param(call, "playlist_id"),
            item_id=int_param(call, "item_id"),
            position=call.body.position,
        )


@api.get("/playlists/{playlist_id}/shares", response=Page[ShareOut], errors=(403, 404))
async def list_shares(call: Call) -> Page[ShareOut]:
    """Who the playlist is shared with (owner only)."""
    async with call.ctx.sessions() as session:
        return await service.list_shares(
            session, actor=actor_of(call), playlist_id=int_param(call, "playlist_id")
        )


@api.put(
    "/playlists/{playlist_id}/shares/{user_id}",
    body=ShareIn,
    response=ShareOut,
    errors=(403, 404, 422),
)
async def share(call: Call) -> ShareOut:
    """Share with a friend, with view or edit rights (owner only)."""
    async with call.transaction() as session:
        return await service.do_share(
            session,
            actor=actor_of(call),
            playlist_id=int_param(call, "playlist_id"),
            user_id=user_param(call),
            right=call.body.right,
        )


@api.delete("/playlists/{playlist_id}/shares/{user_id}", status=204, errors=(403, 404, 422))
async def unshare(call: Call) -> None:
    """Stop sharing with someone (owner only)."""
    async with call.transaction() as session:
        await service.do_unshare(
            session,
            actor=actor_of(call),
            playlist_id=int_param(call, "playlist_id"),
            user_id=user_param(call),
        )
