"""Wire models for parties: one source for socket payloads, HTTP bodies and the docs."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, model_validator

from models.core.pagination import cursor_query
from models.core.schema_rules import exactly_one_of
from models.parties.state import SLOW_MODE_MAX_S, Admission, ControlMode, Phase

MAX_POSITION_MS = 48 * 3600 * 1000
MAX_CHAT_CHARS = 500
MAX_ID = 2**63 - 1  # ids are bigints

RttMs = Annotated[int, Field(ge=0, le=60_000, description="Measured round trip to the server")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _MediaChoice(_In):
    model_config = ConfigDict(json_schema_extra=exactly_one_of("title_id", "episode_id"))
    title_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    episode_id: int | None = Field(default=None, ge=1, le=MAX_ID)

    @model_validator(mode="after")
    def _exactly_one(self) -> _MediaChoice:
        if (self.title_id is None) == (self.episode_id is None):
            raise ValueError("give exactly one of title_id or episode_id")
        return self


class CreatePartyIn(_MediaChoice):
    capacity: int | None = Field(default=None, ge=2, le=1000)
    control_mode: ControlMode = ControlMode.HOST_ONLY


class JoinPartyIn(_In):
    model_config = ConfigDict(json_schema_extra=exactly_one_of("party_id", "invite_code"))
    party_id: uuid.UUID | None = None
    invite_code: str | None = Field(default=None, min_length=4, max_length=16)
    rtt_ms: RttMs | None = None
    chat_after: int | None = Field(
        default=None, ge=0, description="Chat cursor already seen: send only newer messages"
    )
    password: str | None = Field(
        default=None, max_length=128, description="The room password, if it has one"
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> JoinPartyIn:
        if (self.party_id is None) == (self.invite_code is None):
            raise ValueError("give exactly one of party_id or invite_code")
        return self


class PartyRefIn(_In):
    party_id: uuid.UUID


class SeekIn(PartyRefIn):
    position_ms: int = Field(ge=0, le=MAX_POSITION_MS)


class RateIn(PartyRefIn):
    rate: float = Field(ge=0.25, le=4.0)


class ReadinessIn(PartyRefIn):
    rtt_ms: RttMs | None = None


class RttIn(PartyRefIn):
    rtt_ms: RttMs


class WaitForMeIn(PartyRefIn):
    enabled: bool


class ChatIn(PartyRefIn):
    text: str = Field(min_length=1, max_length=MAX_CHAT_CHARS)
    client_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="Idempotency key: a retried send with the same id is stored once",
    )
    reply_to_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="A message of this party's chat to quote"
    )


class ChatEditIn(PartyRefIn):
    message_id: int = Field(ge=1, le=MAX_ID)
    text: str = Field(min_length=1, max_length=MAX_CHAT_CHARS)


class ChatMessageRefIn(PartyRefIn):
    message_id: int = Field(ge=1, le=MAX_ID)


class ChatReactIn(PartyRefIn):
    message_id: int = Field(ge=1, le=MAX_ID)
    emoji: str = Field(min_length=1, max_length=16)
    on: bool = Field(default=True, description="false takes your reaction back")


class ReactIn(PartyRefIn):
    emoji: str = Field(min_length=1, max_length=16)


class MemberRefIn(PartyRefIn):
    user_id: uuid.UUID


class ControlModeIn(PartyRefIn):
    mode: ControlMode


class MediaIn(_MediaChoice):
    party_id: uuid.UUID


class MediaItemIn(_MediaChoice):
    """A film, or an episode (a series title means its first episode)."""


MAX_QUEUE_ADD = 50


class QueueItemsIn(_In):
    """Films, episodes and/or a playlist to append (HTTP: the party is in the path)."""

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": ["items"], "properties": {"items": {"minItems": 1}}},
                {"required": ["playlist_id"], "properties": {"playlist_id": {"type": "integer"}}},
            ]
        }
    )
    items: list[MediaItemIn] = Field(default_factory=list, max_length=MAX_QUEUE_ADD)
    playlist_id: int | None = Field(
        default=None,
        ge=1,
        le=MAX_ID,
        description="A playlist you may see: its titles, in its order",
    )

    @model_validator(mode="after")
    def _something(self) -> QueueItemsIn:
        if not self.items and self.playlist_id is None:
            raise ValueError("give items, a playlist_id, or both")
        return self


class QueueAddIn(QueueItemsIn):
    party_id: uuid.UUID


class QueueItemRefIn(PartyRefIn):
    item_id: int = Field(ge=1, le=MAX_ID)


class QueueMoveIn(QueueItemRefIn):
    index: int = Field(ge=0, le=MAX_ID, description="The item's new place in the queue, from 0")


class AutoplayIn(PartyRefIn):
    enabled: bool = Field(
        description="A series goes on with its next episode when the queue is empty (on by default)"
    )


class CatchUpIn(PartyRefIn):
    position_ms: int = Field(ge=0, le=MAX_POSITION_MS, description="Where your player is")
    at_server_ms: int = Field(
        ge=0, description="The server time (by your clock model) at which it was there"
    )
    rate: float = Field(
        default=0.0, ge=0, le=4.0, description="0 if stalled or paused, else the rate it plays at"
    )


class KnockIn(_In):
    model_config = ConfigDict(json_schema_extra=exactly_one_of("party_id", "invite_code"))
    party_id: uuid.UUID | None = None
    invite_code: str | None = Field(default=None, min_length=4, max_length=16)
    password: str | None = Field(default=None, max_length=128)

    @model_validator(mode="after")
    def _exactly_one(self) -> KnockIn:
        if (self.party_id is None) == (self.invite_code is None):
            raise ValueError("give exactly one of party_id or invite_code")
        return self


class PreviewIn(_In):
    invite_code: str = Field(min_length=4, max_length=16)


class AdmitIn(PartyRefIn):
    user_id: uuid.UUID
    admit: bool = True


class CohostIn(PartyRefIn):
    user_id: uuid.UUID
    enabled: bool = True


class MuteIn(PartyRefIn):
    user_id: uuid.UUID
    muted: bool = True


class RoomIn(PartyRefIn):
    admission: Admission | None = Field(
        default=None, description="open, or knock: those not invited knock and are admitted"
    )
    slow_mode_s: int | None = Field(
        default=None, ge=0, le=SLOW_MODE_MAX_S, description="One message per member this often"
    )
    listed: bool | None = Field(
        default=None, description="Host: friends see the party and may join it (off by default)"
    )
    password: str | None = Field(
        default=None, max_length=128, description="A room password; empty removes it"
    )


class TimeSyncIn(_In):
    t0: float = Field(allow_inf_nan=False, description="Client clock at send (echoed back)")


class InviteIn(_In):
    user_id: uuid.UUID


class ChatPageQuery(_In):
    cursor: str | None = cursor_query()
    limit: int = Field(default=50, ge=1, le=200)


class ChatPostIn(_In):
    text: str = Field(min_length=1, max_length=MAX_CHAT_CHARS)
    client_id: str | None = Field(default=None, min_length=1, max_length=64)
    reply_to_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="A message of this party's chat to quote"
    )


# HTTP commands: one route, one discriminated union (the socket has one event per command).
class PlayCmd(_In):
    type: Literal["play"]


class PauseCmd(_In):
    type: Literal["pause"]


class SeekCmd(_In):
    type: Literal["seek"]
    position_ms: int = Field(ge=0, le=MAX_POSITION_MS)


class RateCmd(_In):
    type: Literal["rate"]
    rate: float = Field(ge=0.25, le=4.0)


class TransferHostCmd(_In):
    type: Literal["transfer_host"]
    user_id: uuid.UUID


class KickCmd(_In):
    type: Literal["kick"]
    user_id: uuid.UUID


class ControlModeCmd(_In):
    type: Literal["control_mode"]
    mode: ControlMode


class EndCmd(_In):
    type: Literal["end"]


class QueueRemoveCmd(_In):
    type: Literal["queue_remove"]
    item_id: int = Field(ge=1, le=MAX_ID)


class QueueMoveCmd(_In):
    type: Literal["queue_move"]
    item_id: int = Field(ge=1, le=MAX_ID)
    index: int = Field(ge=0, le=MAX_ID)


class QueueAcceptCmd(_In):
    type: Literal["queue_accept"]
    item_id: int = Field(ge=1, le=MAX_ID)


class NextCmd(_In):
    type: Literal["next"]


class AutoplayCmd(_In):
    type: Literal["autoplay"]
    enabled: bool


CommandUnion = Annotated[
    PlayCmd
    | PauseCmd
    | SeekCmd
    | RateCmd
    | TransferHostCmd
    | KickCmd
    | ControlModeCmd
    | EndCmd
    | QueueRemoveCmd
    | QueueMoveCmd
    | QueueAcceptCmd
    | NextCmd
    | AutoplayCmd,
    Field(discriminator="type"),
]


class CommandIn(RootModel[CommandUnion]):
    """One playback or moderation command, by its `type`."""


# --- out --------------------------------------------------------------------------------------


class MediaOut(BaseModel):
    kind: Literal["title", "episode"]
    id: int
    duration_ms: int | None


class MemberOut(BaseModel):
    user_id: str
    joined_at_ms: int
    connected: bool
    ready: bool
    catching_up: bool = Field(description="Not waited for until the member's next ready")
    waits: bool = Field(description="False when the member opted out of being waited for")
    catch_up_until_ms: int | None = Field(
        default=None, description="Catching up by rate: back on the timeline at this server time"
    )


class QueueItemOut(BaseModel):
    id: int
    media: MediaOut
    added_by: str
    accepted: bool = Field(
        description="False: a member's proposal, waiting for someone in control to accept it "
        "(advancing skips it)"
    )


class MemberChangeOut(BaseModel):
    op: Literal["upsert", "remove"]
    user_id: str
    member: MemberOut | None = None
    reason: Literal["left", "kicked", "expired"] | None = None


class PartyStateOut(BaseModel):
    party_id: str
    version: int = Field(description="Drop any state older than the one you have")
    phase: Phase
    playing: bool
    position_ms: int
    anchor_server_ms: int = Field(
        description="Server time at which position_ms holds; while playing, the position at "
        "server time t >= anchor is position_ms + (t - anchor) * rate (before: position_ms)"
    )
    rate: float
    media: MediaOut
    host_id: str
    control_mode: ControlMode
    waiting_for: list[str]
    waiting_screens: dict[str, list[str]] = Field(
        default_factory=dict,
        description="For each member in waiting_for, which of their screens the party waits "
        "for: the socket ids (socket.io's socket.id), so a screen knows whether it is the one "
        "(a member with a phone ready and a TV loading is waited for until the TV is ready)",
    )
    wait_deadline_ms: int | None
    capacity: int
    members_version: int = Field(description="Version at which the member list last changed")
    members: list[MemberOut] | None = Field(
        default=None,
        description="The whole list: in snapshots, and when members_version changes in a "
        "party of up to 50",
    )
    members_delta: list[MemberChangeOut] | None = Field(
        default=None,
        description="Bigger parties: the members changed (and those gone) since "
        "members_base_version, to apply to your list if it is at that version or newer. "
        "Otherwise (or if members_version is newer than yours and neither field is present) "
        "ask party:snapshot",
    )
    members_base_version: int | None = None
    cause: str | None = Field(
        default=None,
        description="The command that made this version (member changes sent together: the "
        "newest of them; `members` when that one was made by another process)",
    )
    by: str | None = Field(default=None, description="Who gave that command")
    server_ms: int = Field(description="Server time when this was sent")
    ended_reason: str | None = None
    cohosts: list[str] = Field(
        default_factory=list, description="Co-hosts: control playback and run the room"
    )
    admission: Admission = Admission.OPEN
    has_password: bool = False
    knocking: list[str] = Field(
        default_factory=list, description="Waiting to be admitted by the host or a co-host"
    )
    muted: list[str] = Field(default_factory=list, description="Members who may not chat")
    slow_mode_s: int = Field(default=0, description="One message per member this often")
    listed: bool = Field(default=False, description="The host's friends see the party")
    queue_version: int = Field(
        default=0, description="Version at which the queue (or autoplay, up next) last changed"
    )
    queue: list[QueueItemOut] | None = Field(
        default=None,
        description="The queue: in snapshots, queue acks, and when queue_version changes",
    )
    autoplay: bool = Field(
        default=True, description="A series goes on with its next episode when the queue is empty"
    )
    up_next: MediaOut | None = Field(
        default=None, description="What the party moves to when this media ends (preload it)"
    )
    ends_at_ms: int | None = Field(
        default=None,
        description="While playing: the server time this media ends (when up_next is set, the "
        "party moves on then; everyone loads it and it starts at one scheduled instant)",
    )


class ChatQuoteOut(BaseModel):
    """The message a reply answers, as it is now (deleted: no text)."""

    id: int
    user_id: str
    username: str
    text: str = Field(description="Its first 200 characters")
    deleted: bool


class ChatReactionOut(BaseModel):
    emoji: str
    count: int
    user_ids: list[str]


class ChatMessageOut(BaseModel):
    stream: str = Field(description="'party_chat:<party_id>'")
    cursor: int = Field(
        description="Its place on the stream: a message edited, deleted or reacted to comes "
        "again (same id, newer cursor): replace the one you have"
    )
    id: int
    party_id: str
    user_id: str
    username: str
    text: str = Field(description="Empty once deleted for everyone")
    client_id: str | None
    created_at: str
    edited_at: str | None = Field(default=None, description="Set once edited: show 'edited'")
    deleted: bool = False
    reply_to: ChatQuoteOut | None = None
    reactions: list[ChatReactionOut] = Field(default_factory=list)


class SnapshotOut(BaseModel):
    state: PartyStateOut
    invite_code: str
    chat: list[ChatMessageOut]
    chat_truncated: bool = Field(
        description="More messages were missed than sent here: refetch over HTTP"
    )


class CreatedOut(BaseModel):
    party_id: str
    invite_code: str
    state: PartyStateOut


class TimeSyncOut(BaseModel):
    t0: float
    t1: int = Field(description="Server clock when the request arrived (ms)")
    t2: int = Field(description="Server clock when the answer left (ms)")


class ReactionOut(BaseModel):
    party_id: str
    user_id: str
    emoji: str
    server_ms: int
    position_ms: int | None = Field(
        default=None, description="Where in the media it happened (kept for replays)"
    )


class CatchUpPlanOut(BaseModel):
    mode: Literal["rate", "seek", "none"] = Field(
        description="rate: play at `rate` from start to until, then back to the party's rate "
        "and party:ready; seek: go to rejoin_position_ms as of start_server_ms; none: drift "
        "correction is enough"
    )
    start_server_ms: int
    from_position_ms: int
    rate: float
    until_server_ms: int
    rejoin_position_ms: int


class CatchUpOut(BaseModel):
    plan: CatchUpPlanOut
    state: PartyStateOut


class LeftOut(BaseModel):
    party_id: str
    reason: Literal["left", "kicked", "expired", "ended"]


class ChatAckOut(BaseModel):
    message: ChatMessageOut


class PartyPreviewOut(BaseModel):
    party_id: str
    media: MediaOut
    host_id: str
    members: int
    capacity: int
    full: bool = False
    phase: Phase
    admission: Admission = Field(
        default=Admission.OPEN, description="knock: party:knock, then join once admitted"
    )
    password_required: bool = Field(
        default=False, description="Joining by the code asks for the room password"
    )
    knock: Literal["member", "admitted", "waiting", "turned_away"] | None = Field(
        default=None,
        description="Your knock, as it stands: waiting for an answer, admitted (join now), "
        "turned_away, or member (in already); none: you have not knocked. A knocker who was "
        "offline when party:admission came knocks again (or previews) to learn the answer.",
    )


class FriendPartyOut(PartyPreviewOut):
    host_username: str
    media_name: str


class FriendPartiesOut(BaseModel):
    items: list[FriendPartyOut]


class AdmissionOut(BaseModel):
    party_id: str
    admitted: bool = Field(description="True: join now (party:join); False: not let in")
    reason: Literal["admitted", "turned_away", "room_open", "ended"] = Field(
        default="admitted",
        description="admitted or turned_away by the host or a co-host; room_open: the room "
        "stopped asking people to knock, so join now (with the password if it has one); "
        "ended: the party ended while you waited",
    )


class ChatPageOut(BaseModel):
    items: list[ChatMessageOut]
    next_cursor: str | None = None


class ReplayQuery(_MediaChoice):
    """Which media of the party to replay, and the window of it."""

    from_ms: int = Field(default=0, ge=0, le=MAX_POSITION_MS, description="From this position")
    to_ms: int | None = Field(default=None, ge=0, le=MAX_POSITION_MS, description="Up to this one")
    limit: int = Field(default=200, ge=1, le=500)
    cursor: str | None = cursor_query()


class ReplayListQuery(_MediaChoice):
    pass


class ReplayItemOut(BaseModel):
    kind: Literal["chat", "reaction"]
    id: int
    position_ms: int = Field(description="Where in the media it happened")
    user_id: str
    username: str
    text: str | None = Field(default=None, description="chat: the message as it is now")
    edited: bool = False
    emoji: str | None = Field(default=None, description="reaction: the emoji")


class ReplayOut(BaseModel):
    party_id: str
    items: list[ReplayItemOut]
    next_from_ms: int | None = Field(
        default=None,
        description="More in the window: the position the next page starts at (to know how far "
        "you have); ask for it with next_cursor, which neither repeats nor skips an item",
    )
    next_cursor: str | None = Field(
        default=None,
        description="More in the window: the same query with cursor=this gives the next page",
    )


class PartyReplayOut(BaseModel):
    party_id: str
    started_at: str
    ended_at: str | None
    friends: list[str] = Field(description="Usernames of your friends who were in it")
    chat_count: int
    reaction_count: int


class PartyReplaysOut(BaseModel):
    items: list[PartyReplayOut]
