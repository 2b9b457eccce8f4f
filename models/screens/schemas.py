"""Wire models for "my screens": one user's devices, remote control and handing playback over."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from models.core.schema_rules import exactly_one_of
from models.core.text import UserLine

MAX_ID = 2**63 - 1
MAX_POSITION_MS = 48 * 3600 * 1000


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScreenRegisterIn(_In):
    device_id: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9._:-]+$",
        description="Stable per device (kept by the app); a new socket of it replaces the old",
    )
    name: UserLine = Field(min_length=1, max_length=60, description="'Living-room TV'")
    kind: Literal["tv", "phone", "tablet", "laptop", "browser", "other"] = "other"
    rtt_ms: int | None = Field(default=None, ge=0, le=60_000)


class ScreenOut(BaseModel):
    device_id: str
    name: str
    kind: str
    this: bool = Field(description="The screen of the socket asking")
    socket_id: str = Field(
        description="Its socket (socket.io's socket.id), as party:state's waiting_screens names "
        "it ('waiting for your other screen, the TV')"
    )


class ScreensOut(BaseModel):
    screens: list[ScreenOut]


class ScreenCommandIn(_In):
    to_device_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")
    action: Literal[
        "play", "pause", "seek", "volume", "audio_track", "subtitle_track", "stop", "join_party"
    ]
    position_ms: int | None = Field(default=None, ge=0, le=MAX_POSITION_MS)
    volume: float | None = Field(default=None, ge=0, le=1)
    track: str | None = Field(
        default=None, max_length=64, description="audio_track / subtitle_track: the track id"
    )
    party_id: uuid.UUID | None = Field(
        default=None,
        description="join_party: the party that screen joins (my screens in one party play in "
        "lockstep); party:join still decides",
    )

    @model_validator(mode="after")
    def _needs(self) -> ScreenCommandIn:
        if self.action == "seek" and self.position_ms is None:
            raise ValueError("seek needs position_ms")
        if self.action == "volume" and self.volume is None:
            raise ValueError("volume needs volume")
        if self.action == "join_party" and self.party_id is None:
            raise ValueError("join_party needs party_id")
        return self


class ScreenCommandOut(BaseModel):
    """`screen:command`, to the screen it is for."""

    from_device_id: str | None
    action: str
    position_ms: int | None = None
    volume: float | None = None
    track: str | None = None
    party_id: uuid.UUID | None = None


class ScreenStatusIn(_In):
    title_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    episode_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    position_ms: int = Field(ge=0, le=MAX_POSITION_MS)
    playing: bool
    volume: float | None = Field(default=None, ge=0, le=1)
    audio_track: str | None = Field(
        default=None, max_length=64, description="The audio track playing (its id)"
    )
    subtitle_track: str | None = Field(
        default=None, max_length=64, description="The subtitle track shown (its id; '0' off)"
    )


class ScreenStatusOut(BaseModel):
    """`screen:status`, to the user's other screens: what one of them plays now."""

    device_id: str
    title_id: int | None
    episode_id: int | None
    position_ms: int
    playing: bool
    volume: float | None
    audio_track: str | None = None
    subtitle_track: str | None = None
    server_ms: int


class ScreenGoneOut(BaseModel):
    """`screen:gone`, to the user's other screens: this one closed (or its process died)."""

    device_id: str


class HandoffIn(_In):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra=exactly_one_of("title_id", "episode_id")
    )
    to_device_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")
    title_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    episode_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    position_ms: int = Field(ge=0, le=MAX_POSITION_MS, description="Where this screen is")
    at_server_ms: int = Field(ge=0, description="The server time (your clock model) it was there")
    playing: bool = True
    rate: float = Field(default=1.0, ge=0.25, le=4.0)

    @model_validator(mode="after")
    def _one(self) -> HandoffIn:
        if (self.title_id is None) == (self.episode_id is None):
            raise ValueError("give exactly one of title_id or episode_id")
        return self


class HandoffOut(BaseModel):
    """`screen:handoff`, to both screens: at `anchor_server_ms` the source stops and the target
    shows `position_ms` (playing from there if `playing`): the same frame, handed over."""

    role: Literal["source", "target"]
    from_device_id: str
    to_device_id: str
    title_id: int | None
    episode_id: int | None
    position_ms: int
    anchor_server_ms: int
    playing: bool
    rate: float
