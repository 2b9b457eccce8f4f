"""Wire models for private messages."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from models.core.pagination import cursor_query
from models.core.text import TEXT_PATTERN, UserText, clean_text
from models.social.friends.schemas import UserBrief
from models.social.messages.images import ImageType


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


MAX_ID = 2**63 - 1
QUOTE_CHARS = 200  # how much of the replied-to message a reply carries


def _optional_text(value: str) -> str:
    """UserText, or nothing at all (a card or an image alone)."""
    return "" if value == "" else clean_text(value)


MessageText = Annotated[
    str,
    AfterValidator(_optional_text),
    Field(json_schema_extra={"pattern": f"(?:{TEXT_PATTERN})|^$"}),
]


class MessageIn(Input):
    to_user_id: uuid.UUID
    # Chosen by the client (a UUID is a good choice); resending it never creates a copy.
    client_msg_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")
    text: MessageText = Field(
        default="",
        max_length=4000,
        description="May be empty when the message shares a title or an image",
    )
    reply_to_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="A message of this conversation to quote"
    )
    title_id: int | None = Field(
        default=None,
        ge=1,
        le=MAX_ID,
        description="A title to share as a card (a link to this site's /titles/<id> in the "
        "text shares it too)",
    )
    attachment_id: uuid.UUID | None = Field(
        default=None, description="An image you uploaded (POST /message-attachments), unused"
    )
    # Text, a title or an image: at least one (the validator below says it in words).
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "anyOf": [
                {"properties": {"text": {"minLength": 1}}, "required": ["text"]},
                {"properties": {"title_id": {"type": "integer"}}, "required": ["title_id"]},
                {
                    "properties": {"attachment_id": {"type": "string"}},
                    "required": ["attachment_id"],
                },
            ]
        },
    )

    @model_validator(mode="after")
    def _something(self) -> MessageIn:
        if not self.text and self.title_id is None and self.attachment_id is None:
            raise ValueError("A message needs text, a title or an image")
        return self


class MessageEditIn(Input):
    text: UserText = Field(min_length=1, max_length=4000)


class SocketEditIn(MessageEditIn):
    message_id: int = Field(ge=1, le=MAX_ID)


class SocketMessageRefIn(Input):
    message_id: int = Field(ge=1, le=MAX_ID)


class ReactionIn(Input):
    emoji: str = Field(min_length=1, max_length=16, description="One emoji")
    on: bool = Field(default=True, description="false takes your reaction back")


class SocketReactionIn(ReactionIn):
    message_id: int = Field(ge=1, le=MAX_ID)


class QuoteOut(BaseModel):
    """The message a reply answers, as it is now (deleted: no text)."""

    id: int
    from_user_id: uuid.UUID
    text: str = Field(description=f"Its first {QUOTE_CHARS} characters")
    deleted: bool


class TitleCardOut(BaseModel):
    """A title shared in a message, as this reader may see it: nothing of a title they may
    not see (above a child's maturity limit, or deleted from the catalog) but that it is not
    available."""

    title_id: int
    available: bool
    reason: Literal["maturity_restricted", "removed"] | None = Field(
        default=None, description="Why it is not available"
    )
    kind: Literal["film", "series"] | None = None
    name: str | None = None
    year: int | None = None
    poster_url: str | None = None
    playable: bool = Field(
        default=False, description="A published video (a film) or episode (a series) to play"
    )


class AttachmentOut(BaseModel):
    """An image of a message; its URLs are signed for this reader and expire (fetch the
    message again for new ones)."""

    id: uuid.UUID
    content_type: ImageType
    width: int
    height: int
    size_bytes: int
    url: str
    thumb_url: str
    thumb_width: int
    thumb_height: int
    expires_at: datetime


class UploadedOut(BaseModel):
    """An uploaded image, ready to send with a message (attachment_id); only you see it."""

    id: uuid.UUID
    content_type: ImageType
    width: int
    height: int
    size_bytes: int
    thumb_url: str
    thumb_width: int
    thumb_height: int
    expires_at: datetime


class ReactionCountOut(BaseModel):
    emoji: str
    count: int
    user_ids: list[uuid.UUID]


class MessageOut(BaseModel):
    id: int
    conversation_id: int
    from_user_id: uuid.UUID
    to_user_id: uuid.UUID
    client_msg_id: str
    text: str = Field(description="Empty once deleted for everyone")
    created_at: datetime
    edited_at: datetime | None = Field(default=None, description="Set once edited: show 'edited'")
    deleted: bool = False
    reply_to: QuoteOut | None = None
    reactions: list[ReactionCountOut] = Field(default_factory=list)
    title: TitleCardOut | None = None
    attachment: AttachmentOut | None = Field(
        default=None, description="None once the message is deleted: the image is gone"
    )


class MessageEvent(MessageOut):
    """`dm:message`: a message on the "dm" stream, new or changed (edited, deleted, reacted
    to: the same id again, with a newer cursor; replace what you have)."""

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
