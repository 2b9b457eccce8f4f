"""`cinema import-catalog`: dirty rows are reported, sound data lands, re-import is idempotent."""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from cinema.catalog_cli import import_catalog_command
from models.catalog.cache import NEAR_TTL
from models.catalog.importer import ImportReport, clean_row, import_catalog, parse_date
from models.catalog.tables import Credit, Person, Title
from models.core.context import Context
from models.core.settings import Settings
from tests.catalog.helpers import editor, ensure_terms, tag
from tests.conftest import ROOT, settings_env


def _cinema(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cinema.cli", *args],
        env=settings_env(settings),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _rows(label: str) -> list[Any]:
    return [
        {
            "title": f"Good Film {label}",
            "original_title": "Bon Film",
            "kind": "movie",
            "year": 2001,
            "release_date": "2001-04-25",
            "genres": ["Drama", "Comedy"],
            "tags": [label, "Heist"],
            "countries": ["France", "US"],
            "runtime_minutes": "2h 10m",
            "age_rating": "12+",
            "description": "Fine.",
            "people": [
                {"name": f"Director {label}", "role": "director"},
                {"name": f"Actor {label}", "role": "actor", "character": "Lead"},
                {"name": f"Actor {label}", "role": "Actress", "character": "Twin"},
                {"role": "actor"},
                {"name": "Somebody", "role": "gaffer"},
            ],
        },
        {"kind": "film", "year": 1999},
        {"title": 1984, "tags": [label], "release_date": "25/12/1984"},
        {"title": f"Odd Dates {label}", "release_date": "March 3, 1999", "tags": [label]},
        {
            "title": f"Dirty {label}",
            "release_date": "yesterday",
            "year": "soon",
            "genres": ["Drama", "Space Opera"],
            "countries": ["Atlantis"],
            "runtime_minutes": -5,
            "poster_url": "not a url",
            "mood": "dark",
            "tags": [label],
        },
        {"title": f"Cartoon {label}", "kind": "cartoon"},
        ["not", "an", "object"],
        {"title": "   "},
        {"title": f"Show {label}", "kind": "TV", "year": "2019", "tags": [label]},
    ]


async def test_dirty_rows_are_reported_and_sound_data_lands(
    ctx: Context, client: httpx.AsyncClient, settings: Settings, tmp_path: Path
) -> None:
    who = await editor(ctx, client)
    await ensure_terms(client, who, "genres", "Drama", "Comedy")
    label = tag()
    path = tmp_path / "catalog.jsonl"
    lines = [json.dumps(r) for r in _rows(label)]
    lines.insert(3, "{this is not json")
    lines.insert(4, "")
    path.write_text("\n".join(lines) + "\n")

    done = await asyncio.to_thread(_cinema, settings, "import-catalog", str(path), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["created"], report["updated"]) == (5, 0)
    skipped = {(p["line"], p["reason"].split(" (")[0]) for p in report["skipped_rows"]}
    assert skipped == {
        (2, "missing or empty title"),
        (4, "not valid JSON"),
        (8, "unknown kind 'cartoon'"),
        (9, "not a JSON object"),
        (10, "missing or empty title"),
    }
    warnings = "\n".join(f"{p['line']}: {p['reason']}" for p in report["warning_rows"])
    for expected in [
        "1: people[4] has no name; dropped",
        "1: people[5] has unknown role 'gaffer'; dropped",
        f"1: 'Actor {label}' listed twice as actor; first kept",
        "3: title was a number; imported as '1984'",
        "7: release_date 'yesterday' not understood; dropped",
        "7: year 'soon' is not a year; dropped",
        "7: unknown genre 'Space Opera' skipped",
        "7: unknown country 'Atlantis' skipped",
        "7: runtime_minutes -5 is not a duration; dropped",
        "7: poster_url is not an http(s) URL; dropped",
        "7: unknown field 'mood' ignored",
    ]:
        assert expected in warnings, (expected, warnings)

    listed = (await client.get("/api/v1/titles", params={"tag": label, "sort": "title"})).json()
    by_title = {i["title"]: i for i in listed["items"]}
    assert set(by_title) == {
        "1984",
        f"Dirty {label}",
        f"Good Film {label}",
        f"Odd Dates {label}",
        f"Show {label}",
    }
    assert by_title["1984"]["release_date"] == "1984-12-25" and by_title["1984"]["year"] == 1984
    assert by_title[f"Odd Dates {label}"]["release_date"] == "1999-03-03"
    assert by_title[f"Show {label}"]["kind"] == "series"
    good = (await client.get(f"/api/v1/titles/{by_title[f'Good Film {label}']['id']}")).json()
    assert good["runtime_minutes"] == 130 and good["kind"] == "film"
    assert [g["slug"] for g in good["genres"]] == ["comedy", "drama"]
    assert {c["code"] for c in good["countries"]} == {"FR", "US"}
    assert [(c["person"]["name"], c["role"], c["character"]) for c in good["credits"]] == [
        (f"Director {label}", "director", None),
        (f"Actor {label}", "actor", "Lead"),
    ]
    dirty = (await client.get(f"/api/v1/titles/{by_title[f'Dirty {label}']['id']}")).json()
    assert [g["slug"] for g in dirty["genres"]] == ["drama"] and dirty["runtime_minutes"] is None
    # Imported people are searchable at once.
    found = (await client.get("/api/v1/titles", params={"q": f"actor {label}"})).json()
    assert [i["title"] for i in found["items"]] == [f"Good Film {label}"]

    # The same file again: nothing new, the same rows updated.
    async with ctx.sessions() as session:
        before = await session.scalar(select(func.count()).select_from(Title))
        credits_before = await session.scalar(select(func.count()).select_from(Credit))
    again = await asyncio.to_thread(_cinema, settings, "import-catalog", str(path), "--json")
    report = json.loads(again.stdout)
    assert (report["created"], report["updated"], report["skipped"]) == (0, 5, 5)
    async with ctx.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Title)) == before
        assert await session.scalar(select(func.count()).select_from(Credit)) == credits_before


async def test_json_array_and_human_report(
    ctx: Context, client: httpx.AsyncClient, settings: Settings, tmp_path: Path
) -> None:
    label = tag()
    path = tmp_path / "catalog.json"
    rows = [
        {"title": f"Array One {label}", "external_id": f"x-{label}-1", "tags": [label]},
        {"title": f"Array Two {label}", "external_id": f"x-{label}-2", "tags": [label]},
        {"title": f"Array One, renamed {label}", "external_id": f"x-{label}-1", "tags": [label]},
    ]
    path.write_text(json.dumps(rows, indent=2))
    done = await asyncio.to_thread(_cinema, settings, "import-catalog", str(path))
    assert done.returncode == 0, done.stderr
    assert "3 rows: 2 created, 0 updated, 0 skipped, 1 warnings" in done.stdout
    assert "later line wins" in done.stdout
    titles = (await client.get("/api/v1/titles", params={"tag": label, "sort": "title"})).json()
    assert [i["title"] for i in titles["items"]] == [
        f"Array One, renamed {label}",
        f"Array Two {label}",
    ]


async def test_unreadable_files(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def run(path: Path) -> int:
        args = argparse.Namespace(file=str(path), json=False)
        return import_catalog_command(settings, args)

    assert await asyncio.to_thread(run, tmp_path / "no") == 2
    assert "no such file" in capsys.readouterr().err
    garbage = tmp_path / "garbage.json"
    garbage.write_text("[1, 2,")
    assert await asyncio.to_thread(run, garbage) == 2
    assert "neither JSON Lines nor a JSON array" in capsys.readouterr().err


def test_date_parsing() -> None:
    assert parse_date("2001-04-25")[0] is not None
    assert str(parse_date("12/25/2001")[0]) == "2001-12-25"
    assert str(parse_date("05/06/2001")[0]) == "2001-06-05"
    assert str(parse_date("3 March 1999")[0]) == "1999-03-03"
    assert parse_date("1999") == (None, 1999)
    assert parse_date("1999-07") == (None, 1999)
    assert parse_date("31/02/2001") == (None, None)
    assert parse_date(None) == (None, None)


def test_clean_row_keeps_what_is_sound() -> None:
    report = ImportReport()
    row = clean_row(1, {"title": "X", "year": 2001.0, "runtime_minutes": "95 min"}, report)
    assert row is not None and row.values["year"] == 2001 and row.values["runtime_minutes"] == 95
    assert row.key == "film|x|2001"
    assert clean_row(2, {"title": ["a"]}, report) is None
    assert report.skipped_count == 1 and report.warning_count == 0
    nul = clean_row(3, {"title": "Nu\u0000ll", "people": [{"name": "A\u0000"}]}, report)
    assert nul is not None and nul.values["title"] == "Null" and nul.people
    assert nul.people[0].name == "A" and report.warning_count == 1


async def test_namesakes_with_ids_stay_two_people(ctx: Context, tmp_path: Path) -> None:
    label = tag()
    name = f"John Smith {label}"

    def film(n: int, **person: Any) -> dict[str, Any]:
        return {
            "title": f"Film {n} {label}",
            "external_id": f"{label}-{n}",
            "people": [{"name": name, "role": "actor", **person}],
        }

    path = tmp_path / "namesakes.jsonl"
    path.write_text(
        "\n".join(
            json.dumps(r)
            for r in (
                film(1, external_id="nm-1"),
                film(2, external_id="nm-2"),
                film(3, external_id="nm-1", character="Again"),  # the first one, again
                film(4),  # no id: matched by name, a third person
                film(5),
            )
        )
    )
    for _ in range(2):  # a second import changes nothing
        report = await import_catalog(ctx.sessions, path)
        assert report.skipped == []
        async with ctx.sessions() as session:
            credits = (
                await session.execute(
                    select(Title.title, Credit.person_id)
                    .join(Credit, Credit.title_id == Title.id)
                    .join(Person, Person.id == Credit.person_id)
                    .where(Person.name == name)
                    .order_by(Title.title)
                )
            ).all()
        by_title = {t.split()[1]: p for t, p in credits}
        assert len(by_title) == 5 and len(set(by_title.values())) == 3
        assert by_title["1"] == by_title["3"] != by_title["2"]
        assert by_title["4"] == by_title["5"] not in (by_title["1"], by_title["2"])


def test_dates_as_real_data_sets_write_them() -> None:
    assert parse_date("Jun 12 1998") == (date(1998, 6, 12), None)
    assert parse_date("12 June 1998") == (date(1998, 6, 12), None)
    assert parse_date("Fri, 12 Jun 1998") == (date(1998, 6, 12), None)
    # ISO is never read day-first (python-dateutil with dayfirst=True would say May 4th).
    assert parse_date("2001-04-05") == (date(2001, 4, 5), None)
    assert parse_date("2001/04/05") == (date(2001, 4, 5), None)
    assert parse_date("2001-04-05T21:30:00+02:00") == (date(2001, 4, 5), None)
    assert parse_date("June 1998") == (None, 1998)  # no day: the year is what is sure
    assert parse_date("June 12") == (None, None)  # no year: nothing
    assert parse_date("soon") == (None, None)


async def test_standard_genres_synonyms_and_new_ones(
    ctx: Context, client: httpx.AsyncClient, settings: Settings, tmp_path: Path
) -> None:
    label = tag()
    path = tmp_path / "genres.jsonl"
    rows = [
        # The standard list is seeded; sources' names for the same genres are synonyms.
        {"title": f"A {label}", "genres": ["Action", "Western", "Sci-Fi", "Made for TV"]},
        {"title": f"B {label}", "genres": ["Comedies", "Kids", "Horror"]},
        {"title": f"C {label}", "genres": [f"Film-Noir {label}"], "release_date": "Jun 12 1998"},
        {"title": f"D {label}", "genres": [f"Film-Noir {label}"], "release_date": "nope"},
        # Tags in other scripts get transliterated slugs, so two of them never merge.
        {"title": f"E {label}", "tags": [label, "Боевик", "Комедия", "時代劇"]},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows))
    done = await asyncio.to_thread(_cinema, settings, "import-catalog", str(path), "--json")
    report = json.loads(done.stdout)
    groups = {g["reason"]: g for g in report["warnings_by_reason"]}
    noir = groups["unknown genre … skipped"]
    assert noir["count"] == 2 and noir["values"] == {f"Film-Noir {label}": 2}
    assert [e["line"] for e in noir["examples"]] == [3, 4]
    assert groups["release_date … not understood; dropped"]["count"] == 1

    async def genres_of(name: str) -> list[str]:
        found = (await client.get("/api/v1/titles", params={"q": f"{name} {label}"})).json()
        item = next(i for i in found["items"] if i["title"] == f"{name} {label}")
        return sorted(g["slug"] for g in item["genres"])

    assert await genres_of("A") == ["action", "science-fiction", "tv-movie", "western"]
    assert await genres_of("B") == ["comedy", "family", "horror"]
    c = (await client.get("/api/v1/titles", params={"q": f"C {label}"})).json()["items"][0]
    assert c["release_date"] == "1998-06-12"
    tags = {t["slug"]: t["name"] for t in (await client.get("/api/v1/tags")).json()["items"]}
    assert tags["boevik"] == "Боевик" and tags["komediia"] == "Комедия"

    # --create-genres: an unknown genre is created once, and the human report says so.
    done = await asyncio.to_thread(
        _cinema, settings, "import-catalog", str(path), "--create-genres"
    )
    assert done.returncode == 0, done.stderr
    assert f"genres created: Film-Noir {label}" in done.stdout
    # The import ran in another process: this one's near cache catches up within NEAR_TTL.
    await asyncio.sleep(NEAR_TTL["list"])
    assert f"film-noir-{label}" in await genres_of("C")
    assert "unknown genre" not in done.stdout
