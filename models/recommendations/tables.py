"""Recommendations: title-to-title similarity (computed by a scheduled job) and the titles
a user asked never to be recommended."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Float, ForeignKey, Index, SmallInteger, func, text
from sqlalchemy.orm import Mapped, mapped_column

from models.core.db import Base


class TitleSimilarity(Base):
    """The most similar titles of each title, best first (`rank` 0..K-1), rebuilt by
    `compute_similar_titles`: "more like this" is one index range read."""

    __tablename__ = "title_similarity"
    __table_args__ = (Index("ix_title_similarity_similar", "similar_id"),)

    title_id: Mapped[int] = mapped_column(
        ForeignKey("titles.id", ondelete="CASCADE"), primary_key=True
    )
    rank: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    similar_id: Mapped[int] = mapped_column(ForeignKey("titles.id", ondelete="CASCADE"))
    score: Mapped[float] = mapped_column(Float)
    # How much of the score the audience overlap gives (the rest: genres, people, era...).
    audience: Mapped[float] = mapped_column(Float, server_default=text("0"))
    computed_at: Mapped[datetime] = mapped_column(server_default=func.now())


class HiddenTitle(Base):
    """ "Not interested": never recommended to this user again (until they undo it)."""

    __tablename__ = "recommendation_hidden"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    title_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("titles.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
