"""Wire models for private messages."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from models.core.pagination import cursor_query
from models.core.text import UserText
from models.social.friends.schemas import UserBrief


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MessageIn(Input):
    to_user_id: uuid.UUID
    # Chosen by the client (a UUID is a good choice); resending it never creates a copy.
    client_msg_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")
    text: UserText = Field(min_length=1, max_length=4000)


class MessageOut(BaseModel):
    id: int
    conversation_id: int
    from_user_id: uuid.UUID
    to_user_id: uuid.UUID
    client_msg_id: str
    text: str
    created_at: datetime


class MessageEvent(MessageOut):
    """`dm:message`: a message on the "dm" stream; `cursor` is its id."""

    stream: Literal["dm"] = "dm"
    cursor: int


class HistoryQuery(Input):
    cursor: str | None = cursor_query()
    limit: int = Field(default=50, ge=1, le=200)


class ReadIn(Input):
    up_to_id: int = Field(ge=0)


class SocketReadIn(ReadIn):
    peer_user_id: uuid.UUID


class ReadOut(BaseModel):
    conversation_id: int
    peer_user_id: uuid.UUID
    last_read_message_id: int
    unread_count: int
    total_unread: int


class ReadEvent(BaseModel):
    """`dm:read`: a reader's position moved (to the peer: a read receipt)."""

    conversation_id: int
    reader_id: uuid.UUID
    last_read_message_id: int


class TypingIn(Input):
    to_user_id: uuid.UUID
    typing: bool = True


class TypingEvent(BaseModel):
    from_user_id: uuid.UUID
    typing: bool


class ConversationOut(BaseModel):
    id: int
    peer: UserBrief
    last_message: MessageOut | None
    unread_count: int
    last_read_message_id: int
    peer_last_read_message_id: int


class UnreadItem(BaseModel):
    conversation_id: int
    peer_user_id: uuid.UUID
    unread_count: int


class UnreadOut(BaseModel):
    total: int
    conversations: list[UnreadItem]
