"""A viewer's track preferences, per account and per title, and which tracks to start with.

Players choose tracks themselves, on each device and in each watch party, without asking
the server (a party member switching to French moves nobody else). The server only
remembers what a viewer prefers and says where to start.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.catalog.tables import Title
from models.core.errors import NotFound
from models.media import languages
from models.media.schemas import (
    PreferencesIn,
    PreferencesOut,
    StartTracks,
    TitleChoiceIn,
    TitleChoiceOut,
)
from models.media.tables import PlaybackPreferences, TitleTrackChoice


@dataclass(frozen=True)
class Prefs:
    audio_languages: tuple[str, ...] = ()
    subtitle_languages: tuple[str, ...] = ()
    subtitles: str = "auto"  # auto | always | off
    audio_description: bool = False
    captions: bool = False


@dataclass(frozen=True)
class Choice:
    audio_language: str | None = None
    audio_kind: str | None = None
    subtitle_language: str | None = None
    subtitle_kind: str | None = None
    subtitles_off: bool = False


def _best(tracks: list[dict[str, Any]], language: str, kinds: list[str]) -> dict[str, Any] | None:
    """The track in `language` (exact tag first, then same primary language) whose kind
    comes first in `kinds`."""
    candidates = [t for t in tracks if languages.matches(language, t.get("language"))]
    for kind in kinds:
        exact = [t for t in candidates if t["kind"] == kind and t.get("language") == language]
        loose = [t for t in candidates if t["kind"] == kind]
        if exact or loose:
            return (exact or loose)[0]
    return None


def choose(
    audio: list[dict[str, Any]],
    text: list[dict[str, Any]],
    prefs: Prefs,
    choice: Choice | None,
) -> StartTracks:
    """Which audio and text track to start with (tracks as in asset.tracks).

    Audio: what the viewer chose for this title, else their languages in order, else the
    default track. Text: what they chose for this title, else by their subtitle setting:
    `auto` shows subtitles when the audio is in none of their audio languages and only
    forced ones otherwise; `always` shows them; `off` shows forced ones only (signs and
    foreign dialogue are part of the film).
    """
    audio_kinds = ["description", "main"] if prefs.audio_description else ["main"]
    picked: dict[str, Any] | None = None
    if choice and choice.audio_language:
        picked = _best(audio, choice.audio_language, [choice.audio_kind or "main", *audio_kinds])
    for lang in prefs.audio_languages:
        picked = picked or _best(audio, lang, audio_kinds)
    picked = picked or next((t for t in audio if t["default"]), audio[0] if audio else None)
    audio_lang = picked.get("language") if picked else None

    full = ["captions", "subtitles"] if prefs.captions else ["subtitles", "captions"]
    text_pick: dict[str, Any] | None = None
    if choice and choice.subtitles_off:
        text_pick = None
    elif choice and choice.subtitle_language:
        text_pick = _best(text, choice.subtitle_language, [choice.subtitle_kind or full[0], *full])
    else:
        understood = audio_lang is not None and any(
            languages.matches(lang, audio_lang) for lang in prefs.audio_languages
        )
        show_full = prefs.subtitles == "always" or (
            prefs.subtitles == "auto" and not understood and bool(prefs.subtitle_languages)
        )
        for lang in prefs.subtitle_languages:
            if text_pick:
                break
            text_pick = _best(text, lang, full) if show_full else None
        if text_pick is None and audio_lang:
            # Forced subtitles in the audio's language: what the film shows everyone.
            text_pick = _best(text, audio_lang, ["forced"])
        if text_pick is None and not show_full:
            text_pick = next((t for t in text if t["default"] and t["kind"] == "forced"), None)
    return StartTracks(
        audio_track_id=int(picked["id"]) if picked else None,
        text_track_id=int(text_pick["id"]) if text_pick else None,
    )


# --- stored preferences --------------------------------------------------------------------


async def load(
    session: AsyncSession, *, user_id: uuid.UUID, title_id: int
) -> tuple[Prefs, Choice | None]:
    row = await session.get(PlaybackPreferences, user_id)
    prefs = (
        Prefs(
            audio_languages=tuple(row.audio_languages),
            subtitle_languages=tuple(row.subtitle_languages),
            subtitles=row.subtitles,
            audio_description=row.audio_description,
            captions=row.captions,
        )
        if row
        else Prefs()
    )
    c = await session.get(TitleTrackChoice, (user_id, title_id))
    choice = (
        Choice(
            audio_language=c.audio_language,
            audio_kind=c.audio_kind,
            subtitle_language=c.subtitle_language,
            subtitle_kind=c.subtitle_kind,
            subtitles_off=c.subtitles_off,
        )
        if c
        else None
    )
    return prefs, choice


def _prefs_out(row: PlaybackPreferences | None) -> PreferencesOut:
    if row is None:
        return PreferencesOut()
    return PreferencesOut(
        audio_languages=row.audio_languages,
        subtitle_languages=row.subtitle_languages,
        subtitles=row.subtitles,
        audio_description=row.audio_description,
        captions=row.captions,
    )


async def get_preferences(session: AsyncSession, *, user_id: uuid.UUID) -> PreferencesOut:
    return _prefs_out(await session.get(PlaybackPreferences, user_id))


async def do_set_preferences(
    session: AsyncSession, *, user_id: uuid.UUID, prefs: PreferencesIn
) -> PreferencesOut:
    values = {"user_id": user_id, **prefs.model_dump()}
    await session.execute(
        insert(PlaybackPreferences)
        .values(**values)
        .on_conflict_do_update(index_elements=["user_id"], set_=prefs.model_dump())
    )
    return _prefs_out(await session.get(PlaybackPreferences, user_id, populate_existing=True))


def _choice_out(title_id: int, row: TitleTrackChoice | None) -> TitleChoiceOut:
    if row is None:
        return TitleChoiceOut(title_id=title_id)
    return TitleChoiceOut(
        title_id=title_id,
        audio_language=row.audio_language,
        audio_kind=row.audio_kind,
        subtitle_language=row.subtitle_language,
        subtitle_kind=row.subtitle_kind,
        subtitles_off=row.subtitles_off,
    )


async def get_title_choice(
    session: AsyncSession, *, user_id: uuid.UUID, title_id: int
) -> TitleChoiceOut:
    return _choice_out(title_id, await session.get(TitleTrackChoice, (user_id, title_id)))


async def do_set_title_choice(
    session: AsyncSession, *, user_id: uuid.UUID, title_id: int, choice: TitleChoiceIn
) -> TitleChoiceOut:
    values = {"user_id": user_id, "title_id": title_id, **choice.model_dump()}
    await session.execute(
        insert(TitleTrackChoice)
        .values(**values)
        .on_conflict_do_update(index_elements=["user_id", "title_id"], set_=choice.model_dump())
    )
    row = await session.get(TitleTrackChoice, (user_id, title_id), populate_existing=True)
    return _choice_out(title_id, row)


async def do_forget_title_choice(
    session: AsyncSession, *, user_id: uuid.UUID, title_id: int
) -> None:
    gone = await session.execute(
        delete(TitleTrackChoice)
        .where(TitleTrackChoice.user_id == user_id, TitleTrackChoice.title_id == title_id)
        .returning(TitleTrackChoice.title_id)
    )
    if gone.scalar_one_or_none() is None:
        raise NotFound("No choice for this title", code="not_found")


async def title_exists(session: AsyncSession, *, title_id: int) -> None:
    if (await session.execute(select(Title.id).where(Title.id == title_id))).first() is None:
        raise NotFound("No such title", code="title_not_found")
