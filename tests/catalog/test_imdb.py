"""`cinema import-imdb`: IMDb's published TSV files (written here, small, in their exact
format) staged with COPY, filtered, upserted; a second run changes nothing."""

from __future__ import annotations

import asyncio
import gzip
import io
import json
import random
from pathlib import Path
from typing import Any

import httpx

from cinema.catalog_cli import TerminalProgress
from models.core.settings import Settings
from tests.catalog.test_import import _cinema

N = "\\N"


def _tsv(path: Path, header: str, rows: list[tuple[Any, ...]], *, gz: bool = False) -> None:
    body = header + "\n" + "".join("\t".join(str(v) for v in r) + "\n" for r in rows)
    if gz:
        path.with_name(path.name + ".gz").write_bytes(gzip.compress(body.encode()))
    else:
        path.write_text(body, encoding="utf-8")


def _dataset(folder: Path) -> dict[str, str]:
    """Four titles to import, four the filters leave out; ids unique to this run."""
    run = str(random.randrange(10**6, 10**7))
    t = {k: f"tt{run}{i:02d}" for i, k in enumerate(
        ["good", "blade", "show", "pilot", "second", "nonum", "obscure", "short", "adult",
         "old", "mini"])}  # fmt: skip
    people = ["blondie", "tuco", "leone", "morricone", "ford", "fancher", "cranston", "gunn"]
    n = {k: f"nm{run}{i:02d}" for i, k in enumerate(people)}
    quiz = f"Game-Show {run}"
    _tsv(
        folder / "title.basics.tsv",
        "tconst\ttitleType\tprimaryTitle\toriginalTitle\tisAdult\tstartYear\tendYear\t"
        "runtimeMinutes\tgenres",
        [
            (
                t["good"],
                "movie",
                "The Good, the Bad and the Ugly",
                "Il buono, il brutto, il cattivo",
                0,
                1966,
                N,
                178,
                "Adventure,Western",
            ),
            (
                t["blade"],
                "movie",
                'Blade "Runner" \\ Cut',
                'Blade "Runner" \\ Cut',
                0,
                1982,
                N,
                117,
                "Action,Drama,Sci-Fi",
            ),
            (
                t["show"],
                "tvSeries",
                "Breaking Glass",
                "Breaking Glass",
                0,
                2008,
                2013,
                49,
                f"Crime,Drama,{quiz}",
            ),
            (t["pilot"], "tvEpisode", "Pilot", "Pilot", 0, 2008, N, 58, "Crime,Drama"),
            (
                t["second"],
                "tvEpisode",
                "Cat's in the Bag",
                "Cat's in the Bag",
                0,
                2008,
                N,
                48,
                "Drama",
            ),
            (t["nonum"], "tvEpisode", "Lost Episode", "Lost Episode", 0, N, N, N, N),
            (t["obscure"], "movie", "Obscure Film", "Obscure Film", 0, 1999, N, 90, "Drama"),
            (t["short"], "short", "A Short", "A Short", 0, 2000, N, 5, "Short"),
            (t["adult"], "movie", "Adult Film", "Adult Film", 1, 2000, N, 90, "Adult"),
            (t["old"], "movie", "Old Film", "Old Film", 0, 1920, N, 60, "Drama"),
            (
                t["mini"],
                "tvMiniSeries",
                "Ирония судьбы",
                "Ирония судьбы",
                0,
                1976,
                N,
                184,
                "Comedy,Romance",
            ),
        ],
        gz=True,
    )
    _tsv(
        folder / "title.ratings.tsv",
        "tconst\taverageRating\tnumVotes",
        [
            (t["good"], 8.8, 850000),
            (t["blade"], 8.1, 800000),
            (t["show"], 9.5, 2100000),
            (t["obscure"], 6.1, 12),
            (t["short"], 7.0, 5000),
            (t["adult"], 5.0, 9000),
            (t["old"], 7.0, 4000),
            (t["mini"], 8.2, 60000),
        ],
    )
    _tsv(
        folder / "title.episode.tsv",
        "tconst\tparentTconst\tseasonNumber\tepisodeNumber",
        [
            (t["pilot"], t["show"], 1, 1),
            (t["second"], t["show"], 1, 2),
            (t["nonum"], t["show"], N, N),
        ],
        gz=True,
    )
    _tsv(
        folder / "title.principals.tsv",
        "tconst\tordering\tnconst\tcategory\tjob\tcharacters",
        [
            (t["good"], 1, n["blondie"], "actor", N, '["Blondie"]'),
            (t["good"], 2, n["tuco"], "actor", N, '["Tuco", "The Ugly"]'),
            (t["good"], 3, n["leone"], "director", N, N),
            (t["good"], 4, n["morricone"], "composer", N, N),
            (t["blade"], 1, n["ford"], "actor", N, '["Rick Deckard"]'),
            (t["blade"], 2, n["fancher"], "writer", "screenplay", N),
            (t["blade"], 3, n["gunn"], "actress", N, '["Nobody"]'),  # not in name.basics
            (t["show"], 1, n["cranston"], "actor", N, '["Walter White"]'),
            (t["obscure"], 1, n["blondie"], "actor", N, N),
        ],
    )
    _tsv(
        folder / "name.basics.tsv",
        "nconst\tprimaryName\tbirthYear\tdeathYear\tprimaryProfession\tknownForTitles",
        [
            (n["blondie"], f"Clint Eastwood {run}", 1930, N, "actor,director", t["good"]),
            (n["tuco"], f"Eli Wallach {run}", 1915, 2014, "actor", t["good"]),
            (n["leone"], f"Sergio Leone {run}", 1929, 1989, "director,writer", t["good"]),
            (n["morricone"], f"Ennio Morricone {run}", 1928, 2020, "composer", t["good"]),
            (n["ford"], f"Harrison Ford {run}", 1942, N, "actor", t["blade"]),
            (n["fancher"], f"Hampton Fancher {run}", 1938, N, "writer", t["blade"]),
            (n["cranston"], f"Bryan Cranston {run}", 1956, N, "actor", t["show"]),
        ],
    )
    return {**t, "run": run, "quiz": quiz}


async def test_imdb_datasets_import_and_reimport(
    client: httpx.AsyncClient, settings: Settings, tmp_path: Path
) -> None:
    ids = _dataset(tmp_path)
    args = ["import-imdb", str(tmp_path), "--min-votes", "100", "--year-from", "1950", "--json"]
    done = await asyncio.to_thread(_cinema, settings, *args)
    assert done.returncode == 0, done.stderr
    assert "\r" not in done.stderr  # no progress line when piped
    report = json.loads(done.stdout)
    assert (report["rows"], report["created"], report["updated"]) == (4, 4, 0)
    assert (report["seasons"], report["episodes"]) == (1, 2)
    assert report["staged"]["title.principals"] == 8  # the picked titles' lines only
    reasons = {g["reason"]: g for g in report["warnings_by_reason"]}
    assert reasons["unknown genre … skipped"]["values"] == {ids["quiz"]: 1}
    assert reasons["credit of a person name.basics lacks; skipped"]["count"] == 1
    assert reasons["episode without a season or episode number; skipped"]["count"] == 1

    async def find(q: str) -> dict[str, Any]:
        found = (await client.get("/api/v1/titles", params={"q": q})).json()["items"]
        return (await client.get(f"/api/v1/titles/{found[0]['id']}")).json()  # type: ignore[no-any-return]

    good = await find(f"clint eastwood {ids['run']}")
    assert good["title"] == "The Good, the Bad and the Ugly"
    assert good["original_title"] == "Il buono, il brutto, il cattivo"
    assert (good["year"], good["runtime_minutes"]) == (1966, 178)
    assert [g["slug"] for g in good["genres"]] == ["adventure", "western"]
    assert [(c["person"]["name"].rsplit(" ", 1)[0], c["role"], c["character"])
            for c in good["credits"]] == [
        ("Clint Eastwood", "actor", "Blondie"),
        ("Eli Wallach", "actor", "Tuco / The Ugly"),
        ("Sergio Leone", "director", None),
    ]  # fmt: skip
    blade = await find(f"harrison ford {ids['run']}")
    assert blade["title"] == 'Blade "Runner" \\ Cut'  # quotes and backslashes are text
    assert sorted(g["slug"] for g in blade["genres"]) == ["action", "drama", "science-fiction"]
    show = await find(f"bryan cranston {ids['run']}")
    assert show["kind"] == "series" and show["popularity"] == 2100000
    assert [(s["number"], [e["title"] for e in s["episodes"]]) for s in show["seasons"]] == [
        (1, ["Pilot", "Cat's in the Bag"])
    ]
    irony = (await client.get("/api/v1/titles", params={"q": "ironiya sudby"})).json()
    assert "Ирония судьбы" in [i["title"] for i in irony["items"]]

    again = await asyncio.to_thread(_cinema, settings, *args, "--create-genres")
    report = json.loads(again.stdout)
    assert (report["created"], report["updated"], report["credits"]) == (0, 4, 6)
    assert report["genres_created"] == [ids["quiz"]]
    show = await find(f"bryan cranston {ids['run']}")
    assert len(show["credits"]) == 1 and len(show["seasons"][0]["episodes"]) == 2
    assert ids["quiz"] in [g["name"] for g in show["genres"]]


async def test_missing_files_and_bad_kinds(settings: Settings, tmp_path: Path) -> None:
    done = await asyncio.to_thread(_cinema, settings, "import-imdb", str(tmp_path))
    assert done.returncode == 2 and "title.basics.tsv(.gz)" in done.stderr
    _dataset(tmp_path)
    done = await asyncio.to_thread(
        _cinema, settings, "import-imdb", str(tmp_path), "--kinds", "movie,podcast"
    )
    assert done.returncode == 2 and "--kinds takes" in done.stderr
    (tmp_path / "title.ratings.tsv").write_text("tconst\trating\n")
    done = await asyncio.to_thread(_cinema, settings, "import-imdb", str(tmp_path))
    assert done.returncode == 2 and "unexpected columns" in done.stderr


def test_progress_on_a_terminal_only() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    shown = Tty()
    progress = TerminalProgress(shown)
    progress("title.basics.tsv.gz", 50, 100, 12_345)
    progress.end()
    assert "12,345 rows" in shown.getvalue() and "50%" in shown.getvalue()
    assert "ETA" in shown.getvalue()
    piped = io.StringIO()
    TerminalProgress(piped)("title.basics.tsv.gz", 50, 100, 12_345)
    assert piped.getvalue() == ""
