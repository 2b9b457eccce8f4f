"""Favorites, and playlists with ordered items, visibility and shares."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Enum,
    ForeignKey,
    Identity,
    Index,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.core.db import Base, Timestamped


class Favorite(Timestamped, Base):
    __tablename__ = "favorites"
    __table_args__ = (Index("ix_favorites_user_created", "user_id", "created_at"),)

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    title_id: Mapped[int] = mapped_column(
        ForeignKey("titles.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Visibility(enum.StrEnum):
    private = "private"
    friends = "friends"
    public = "public"


class ShareRight(enum.StrEnum):
    view = "view"
    edit = "edit"


class Playlist(Timestamped, Base):
    __tablename__ = "playlists"
    __table_args__ = (
        Index("ix_playlists_owner_id", "owner_id", "id"),
        CheckConstraint("item_count >= 0", name="item_count_nonneg"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    visibility: Mapped[Visibility] = mapped_column(
        Enum(Visibility, name="playlist_visibility", native_enum=False, length=16),
        default=Visibility.private,
    )
    item_count: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class PlaylistItem(Base):
    """Positions are dense 0..n-1; item changes lock the playlist row, so they never race."""

    __tablename__ = "playlist_items"
    __table_args__ = (
        UniqueConstraint("playlist_id", "title_id", name="uq_playlist_items_title"),
        Index("ix_playlist_items_order", "playlist_id", "position"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    playlist_id: Mapped[int] = mapped_column(ForeignKey("playlists.id", ondelete="CASCADE"))
    title_id: Mapped[int] = mapped_column(ForeignKey("titles.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    added_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class PlaylistShare(Timestamped, Base):
    __tablename__ = "playlist_shares"

    playlist_id: Mapped[int] = mapped_column(
        ForeignKey("playlists.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    right: Mapped[ShareRight] = mapped_column(
        Enum(ShareRight, name="playlist_share_right", native_enum=False, length=8)
    )
