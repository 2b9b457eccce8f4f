"""Import titles from JSON Lines (one title per line) or a JSON array.

Rows are cleaned one by one (`clean_row`, pure): what is sound is imported, what is not is
reported with its line and reason: a row without a usable title or with an unknown kind is
skipped; a bad field (odd date, unknown genre or country, negative runtime, credit without a
name) is dropped with a warning and the rest of the row is kept. Titles are matched on
`external_id` when given, else on kind + normalized title + year, so importing the same file
twice creates no duplicates: the second run updates the same rows. People are matched on their
`external_id` when the credit gives one (two namesakes stay two people), else on their
normalized name.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import orjson
import pycountry
from dateutil import parser as dateutil_parser
from sqlalchemy import delete, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.catalog.search import refresh_people, refresh_titles
from models.catalog.tables import (
    Category,
    Country,
    Credit,
    Genre,
    Person,
    Tag,
    Title,
    TitleCategory,
    TitleCountry,
    TitleGenre,
    TitleTag,
)
from models.catalog.taxonomy import genre_slug, slugify

BATCH = 500
MAX_PROBLEMS = 1000

KNOWN_FIELDS = {
    "external_id", "title", "original_title", "kind", "year", "release_date", "genres", "tags",
    "categories", "countries", "runtime_minutes", "age_rating", "description", "people",
    "poster_url", "backdrop_url", "popularity",
}  # fmt: skip
KINDS = {
    "film": "film", "movie": "film", "feature": "film", "series": "series", "tv": "series",
    "show": "series", "tv series": "series", "tv show": "series", "serial": "series",
}  # fmt: skip
ROLES = {
    "actor": "actor", "actress": "actor", "cast": "actor", "director": "director",
    "writer": "writer", "screenplay": "writer", "screenwriter": "writer",
}  # fmt: skip
_URL = re.compile(r"^https?://\S+$")


_VALUE = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|\[\d+\]|-?\b\d+(?:\.\d+)?\b")
EXAMPLES = 3
TOP_VALUES = 5
MAX_VALUES = 1000


@dataclass
class Problem:
    line: int
    title: str | None
    reason: str

    def __str__(self) -> str:
        name = f" ({self.title!r})" if self.title else ""
        return f"line {self.line}{name}: {self.reason}"

    @property
    def kind(self) -> str:
        """The reason without its values, so alike problems group ("unknown genre … skipped")."""
        return _VALUE.sub("…", self.reason)

    @property
    def value(self) -> str | None:
        """The first quoted value of the reason (the unknown genre, the odd date)."""
        for found in _VALUE.finditer(self.reason):
            if found.group()[:1] in "'\"":
                return found.group()[1:-1]
        return None


@dataclass
class ProblemGroup:
    """One reason: how often, its most frequent values, and a few examples."""

    kind: str
    count: int = 0
    values: Counter[str] = field(default_factory=Counter)
    examples: list[Problem] = field(default_factory=list)

    def add(self, problem: Problem) -> None:
        self.count += 1
        value = problem.value
        if value is not None and (value in self.values or len(self.values) < MAX_VALUES):
            self.values[value] += 1
        if len(self.examples) < EXAMPLES:
            self.examples.append(problem)

    def as_dict(self) -> dict[str, Any]:
        return {
            "reason": self.kind,
            "count": self.count,
            "values": dict(self.values.most_common(TOP_VALUES)),
            "examples": [p.__dict__ for p in self.examples],
        }

    def __str__(self) -> str:
        values = ", ".join(f"{v!r} {n:,}" for v, n in self.values.most_common(TOP_VALUES))
        more = len(self.values) - TOP_VALUES
        if more > 0:
            values += f" and {more:,} more"
        examples = ", ".join(
            f"line {p.line}" + (f" {p.title!r}" if p.title else "") for p in self.examples
        )
        detail = f"{values}; e.g. {examples}" if values else f"e.g. {examples}"
        return f"{self.kind}: {self.count:,} ({detail})"


def _grouped(groups: dict[str, ProblemGroup], problem: Problem) -> None:
    kind = problem.kind
    group = groups.get(kind)
    if group is None:
        group = groups[kind] = ProblemGroup(kind)
    group.add(problem)


@dataclass
class CleanCredit:
    name: str
    role: str
    character: str | None
    external_id: str | None = None

    @property
    def key(self) -> str:
        """How imports recognise this person again: their id in the source, else the name."""
        return person_key(name=self.name, external_id=self.external_id)


@dataclass
class CleanTitle:
    line: int
    key: str
    values: dict[str, Any]
    genres: list[str] | None = None
    tags: list[str] | None = None
    categories: list[str] | None = None
    countries: list[str] | None = None
    people: list[CleanCredit] | None = None


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    skipped: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    skipped_count: int = 0
    warning_count: int = 0
    skipped_groups: dict[str, ProblemGroup] = field(default_factory=dict)
    warning_groups: dict[str, ProblemGroup] = field(default_factory=dict)
    genres_created: list[str] = field(default_factory=list)

    def skip(self, problem: Problem) -> None:
        self.skipped_count += 1
        _grouped(self.skipped_groups, problem)
        if len(self.skipped) < MAX_PROBLEMS:
            self.skipped.append(problem)

    def warn(self, problem: Problem) -> None:
        self.warning_count += 1
        _grouped(self.warning_groups, problem)
        if len(self.warnings) < MAX_PROBLEMS:
            self.warnings.append(problem)

    def warn_many(self, problem: Problem, count: int) -> None:
        """One problem that `count` rows share (set-based imports count, not list, them)."""
        self.warn(problem)
        self.warning_count += count - 1
        group = self.warning_groups[problem.kind]
        group.count += count - 1
        if problem.value is not None:
            group.values[problem.value] += count - 1

    def as_dict(self) -> dict[str, Any]:
        def by_count(groups: dict[str, ProblemGroup]) -> list[dict[str, Any]]:
            return [g.as_dict() for g in sorted(groups.values(), key=lambda g: -g.count)]

        return {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "skipped": self.skipped_count,
            "warnings": self.warning_count,
            "genres_created": self.genres_created,
            "skipped_by_reason": by_count(self.skipped_groups),
            "warnings_by_reason": by_count(self.warning_groups),
            "skipped_rows": [p.__dict__ for p in self.skipped],
            "warning_rows": [p.__dict__ for p in self.warnings],
        }

    def lines(self) -> list[str]:
        """The human report: totals, then each reason once with its count and examples."""
        out = [
            f"{self.rows:,} rows: {self.created:,} created, {self.updated:,} updated, "
            f"{self.skipped_count:,} skipped, {self.warning_count:,} warnings"
        ]
        if self.genres_created:
            out.append(f"genres created: {', '.join(self.genres_created)}")
        for label, groups in (("skipped", self.skipped_groups), ("warnings", self.warning_groups)):
            if groups:
                out.append(f"{label}:")
                out += [f"  {g}" for g in sorted(groups.values(), key=lambda g: -g.count)]
        return out


def norm_key(value: str) -> str:
    """Accent- and case-insensitive words, for matching people and titles between imports."""
    ascii_value = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", (ascii_value or value).lower())
    return " ".join(words) or value.strip().lower()


def read_records(path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, parsed value or the JSON error) for each record of the file."""
    with path.open("rb") as f:
        head = f.read(4096).lstrip()
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:].lstrip()
    if head.startswith(b"["):
        data = orjson.loads(path.read_bytes().removeprefix(b"\xef\xbb\xbf"))
        yield from enumerate(data, start=1)
        return
    with path.open("rb") as f:
        for n, raw in enumerate(f, start=1):
            line = raw.strip().removeprefix(b"\xef\xbb\xbf")
            if not line:
                continue
            try:
                yield n, orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                yield n, exc


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*\d{1,6}\s*", value):
        return int(value)
    return None


_NO_DAY = (datetime(1, 1, 1), datetime(2, 2, 2))  # noqa: DTZ001 (calendar defaults)


def parse_date(value: Any) -> tuple[date | None, int | None]:
    """A date (or only a year) from the common ways people write dates: ISO first (never
    read day-first: 2001-04-05 is April 5th), then python-dateutil with the day first where
    the order is open (05/06/2001 is 5 June; 12/25/2001 can only be December)."""
    if isinstance(value, int) and 1870 <= value <= 2200:
        return None, value
    if not isinstance(value, str):
        return None, None
    s = value.strip()
    if re.fullmatch(r"\d{4}", s):
        return None, int(s)
    m = re.fullmatch(r"(\d{4})-(\d{1,2})", s)
    if m:
        return None, int(m.group(1))
    found: date | None = None
    for iso in (date.fromisoformat, lambda t: datetime.fromisoformat(t).date()):
        try:
            found = iso(s)
            break
        except ValueError:
            continue
    if found is None:
        year_first = re.fullmatch(r"\d{4}[./]\d{1,2}[./]\d{1,2}", s) is not None
        try:
            a, b = (
                dateutil_parser.parse(s, default=d, dayfirst=not year_first, yearfirst=year_first)
                for d in _NO_DAY
            )
        except (ValueError, OverflowError):
            return None, None
        if a.year != b.year:  # no year in it ("June 12")
            return None, None
        if (a.month, a.day) != (b.month, b.day):  # a month or only a year ("June 1998")
            return (None, a.year) if 1870 <= a.year <= 2200 else (None, None)
        found = a.date()
    if not 1870 <= found.year <= 2200:
        return None, None
    return found, None


def _runtime(value: Any) -> int | None:
    n = _int(value)
    if n is None and isinstance(value, str):
        s = value.strip().lower()
        m = re.fullmatch(r"(\d+)\s*(?:min|mins|minutes|m)\.?", s)
        if m:
            n = int(m.group(1))
        m = re.fullmatch(r"(\d+)\s*h(?:ours?)?\s*(?:(\d+)\s*(?:min|mins|minutes|m)?)?", s)
        if m:
            n = int(m.group(1)) * 60 + int(m.group(2) or 0)
    return n if n is not None and 1 <= n <= 10_000 else None


def _names(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list):
        return None
    return [s for v in value if (s := _text(v))]


def _country(value: str) -> tuple[str, str] | None:
    try:
        c = pycountry.countries.lookup(value)
    except LookupError:
        return None
    return c.alpha_2, c.name[:100]


def person_key(*, name: str, external_id: str | None) -> str:
    # Normalized names have no ":", so the two kinds of key never collide.
    return "ext:" + external_id[:290] if external_id else norm_key(name)


def title_key(*, kind: str, title: str, year: int | None, external_id: str | None) -> str:
    if external_id:
        return "ext:" + external_id[:600]
    return f"{kind}|{norm_key(title)[:600]}|{year or ''}"


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    return value


def clean_row(line: int, raw: Any, report: ImportReport) -> CleanTitle | None:
    """Validate one record; report what is dropped; None when the row must be skipped."""
    if isinstance(raw, Exception):
        report.skip(Problem(line, None, f"not valid JSON ({raw})"))
        return None
    if not isinstance(raw, dict):
        report.skip(Problem(line, None, "not a JSON object"))
        return None
    cleaned = _without_nul(raw)
    if cleaned != raw:
        # PostgreSQL cannot store NUL in text; keep the rest of each string.
        report.warn(Problem(line, None, "NUL characters removed"))
        raw = cleaned
    name_raw = raw.get("title")
    name = _text(name_raw)
    if name is None:
        report.skip(Problem(line, None, "missing or empty title"))
        return None
    title_name = name

    def warn(reason: str) -> None:
        report.warn(Problem(line, title_name, reason))

    if not isinstance(name_raw, str):
        warn(f"title was a number; imported as {name!r}")
    if len(name) > 300:
        warn("title longer than 300 characters; truncated")
        name = name[:300]
    for unknown in sorted(set(raw) - KNOWN_FIELDS):
        warn(f"unknown field {unknown!r} ignored")

    kind_raw = raw.get("kind")
    kind = "film"
    if kind_raw is not None:
        found = KINDS.get(str(kind_raw).strip().lower())
        if found is None:
            report.skip(Problem(line, name, f"unknown kind {kind_raw!r} (film or series)"))
            return None
        kind = found

    values: dict[str, Any] = {"title": name, "kind": kind}
    original = _text(raw.get("original_title"))
    if original:
        values["original_title"] = original[:300]

    year = None
    if raw.get("year") is not None:
        year = _int(raw["year"])
        if year is None or not 1870 <= year <= 2200:
            warn(f"year {raw['year']!r} is not a year; dropped")
            year = None
    if raw.get("release_date") is not None:
        released, year_only = parse_date(raw["release_date"])
        if released is None and year_only is None:
            warn(f"release_date {raw['release_date']!r} not understood; dropped")
        elif released is not None:
            values["release_date"] = released
            if year is None:
                year = released.year
            elif year != released.year:
                warn(f"year {year} differs from release_date {released}; both kept")
        elif year is None:
            year = year_only
    if year is not None:
        values["year"] = year

    if raw.get("runtime_minutes") is not None:
        runtime = _runtime(raw["runtime_minutes"])
        if runtime is None:
            warn(f"runtime_minutes {raw['runtime_minutes']!r} is not a duration; dropped")
        else:
            values["runtime_minutes"] = runtime
    if raw.get("age_rating") is not None:
        age = _text(raw["age_rating"])
        if age is None or len(age) > 16:
            warn(f"age_rating {raw['age_rating']!r} dropped")
        else:
            values["age_rating"] = age
    if raw.get("description") is not None:
        desc = _text(raw["description"])
        if desc is None:
            warn("description is not text; dropped")
        else:
            values["description"] = desc[:20_000]
    for url_field in ("poster_url", "backdrop_url"):
        if raw.get(url_field) is not None:
            url = raw[url_field]
            if isinstance(url, str) and _URL.match(url) and len(url) <= 1000:
                values[url_field] = url
            else:
                warn(f"{url_field} is not an http(s) URL; dropped")
    if raw.get("popularity") is not None:
        pop = raw["popularity"]
        if isinstance(pop, int | float) and not isinstance(pop, bool) and 0 <= pop <= 1e9:
            values["popularity"] = float(pop)
        else:
            warn(f"popularity {pop!r} dropped")

    external = _text(raw.get("external_id"))
    row = CleanTitle(
        line=line,
        key=title_key(kind=kind, title=name, year=year, external_id=external),
        values=values,
    )
    for list_field in ("genres", "tags", "categories", "countries"):
        if list_field in raw:
            names = _names(raw[list_field])
            if names is None:
                warn(f"{list_field} must be a list of names; dropped")
            else:
                setattr(row, list_field, names)
    if "people" in raw:
        people = raw["people"]
        if not isinstance(people, list):
            warn("people must be a list; dropped")
        else:
            row.people = []
            for i, p in enumerate(people, start=1):
                if not isinstance(p, dict) or not _text(p.get("name")):
                    warn(f"people[{i}] has no name; dropped")
                    continue
                role = ROLES.get(str(p.get("role", "actor")).strip().lower())
                if role is None:
                    warn(f"people[{i}] has unknown role {p.get('role')!r}; dropped")
                    continue
                character = _text(p.get("character")) if role == "actor" else None
                row.people.append(
                    CleanCredit(
                        str(_text(p["name"]))[:300],
                        role,
                        (character or None) and character[:300],
                        _text(p.get("external_id")),
                    )
                )
    return row


class _Lookups:
    """Genres, categories, tags and countries by every name an import may use."""

    def __init__(self, *, create_genres: bool = False) -> None:
        self.genres: dict[str, int] = {}
        self.categories: dict[str, int] = {}
        self.tags: dict[str, int] = {}
        self.countries: set[str] = set()
        self.create_genres = create_genres

    async def load(self, session: AsyncSession) -> None:
        for model, target in ((Genre, self.genres), (Category, self.categories)):
            for id_, slug, name in await session.execute(select(model.id, model.slug, model.name)):
                target[slug] = id_
                target[slugify(name)] = id_
        for id_, slug in await session.execute(select(Tag.id, Tag.slug)):
            self.tags[slug] = id_
        self.countries = set((await session.scalars(select(Country.code))).all())

    async def genre(self, session: AsyncSession, name: str, report: ImportReport) -> int | None:
        """The genre this name means (its slug, a synonym, a plural), or a new one when
        genres may be created; None when unknown."""
        slug = genre_slug(name, self.genres)
        if slug is not None:
            return self.genres[slug]
        if not self.create_genres:
            return None
        slug = slugify(name)
        gid = await session.scalar(
            insert(Genre)
            .values(slug=slug, name=name.strip()[:64])
            .on_conflict_do_update(index_elements=[Genre.slug], set_={"slug": slug})
            .returning(Genre.id)
        )
        assert gid is not None
        self.genres[slug] = int(gid)
        report.genres_created.append(name.strip()[:64])
        return int(gid)


async def _write_batch(
    session: AsyncSession, rows: list[CleanTitle], lookups: _Lookups, report: ImportReport
) -> None:
    # The last occurrence of a key in the file wins; earlier ones are reported.
    by_key: dict[str, CleanTitle] = {}
    for row in rows:
        earlier = by_key.pop(row.key, None)
        if earlier is not None:
            report.warn(
                Problem(
                    earlier.line,
                    earlier.values["title"],
                    f"same title again on line {row.line}; later line wins",
                )
            )
        by_key[row.key] = row
    rows = list(by_key.values())

    columns = [
        *("kind", "title", "original_title", "description", "year", "release_date"),
        *("runtime_minutes", "age_rating", "poster_url", "backdrop_url", "popularity"),
    ]
    values = []
    for row in rows:
        v = {c: row.values.get(c) for c in columns}
        v["popularity"] = row.values.get("popularity", 0.0)
        v["import_key"] = row.key
        values.append(v)
    upsert = insert(Title).values(values)
    stmt = upsert.on_conflict_do_update(
        index_elements=[Title.import_key],
        set_={c: getattr(upsert.excluded, c) for c in columns} | {"updated_at": func.now()},
    ).returning(Title.id, Title.import_key, text("(xmax = 0) AS inserted"))
    ids: dict[str, int] = {}
    for id_, key, inserted in await session.execute(stmt):
        ids[key] = id_
        if inserted:
            report.created += 1
        else:
            report.updated += 1

    def warn(row: CleanTitle, reason: str) -> None:
        report.warn(Problem(row.line, row.values["title"], reason))

    links: dict[Any, list[dict[str, Any]]] = {
        TitleGenre: [], TitleTag: [], TitleCategory: [], TitleCountry: []
    }  # fmt: skip
    replace: dict[Any, list[int]] = {
        TitleGenre: [],
        TitleTag: [],
        TitleCategory: [],
        TitleCountry: [],
    }
    new_tags: dict[str, str] = {}
    new_countries: dict[str, str] = {}
    for row in rows:
        tid = ids[row.key]
        if row.genres is not None:
            replace[TitleGenre].append(tid)
            for g in dict.fromkeys(row.genres):
                gid = await lookups.genre(session, g, report)
                if gid is None:
                    warn(row, f"unknown genre {g!r} skipped")
                else:
                    links[TitleGenre].append({"title_id": tid, "genre_id": gid})
        if row.categories is not None:
            replace[TitleCategory].append(tid)
            for c in dict.fromkeys(row.categories):
                cid = lookups.categories.get(slugify(c))
                if cid is None:
                    warn(row, f"unknown category {c!r} skipped")
                else:
                    links[TitleCategory].append({"title_id": tid, "category_id": cid})
        if row.tags is not None:
            replace[TitleTag].append(tid)
            for t in row.tags:
                if slugify(t) not in lookups.tags:
                    new_tags[slugify(t)] = t[:64]
        if row.countries is not None:
            replace[TitleCountry].append(tid)
            for c in dict.fromkeys(row.countries):
                found = _country(c)
                if found is None:
                    warn(row, f"unknown country {c!r} skipped")
                    continue
                links[TitleCountry].append({"title_id": tid, "country_code": found[0]})
                if found[0] not in lookups.countries:
                    new_countries[found[0]] = found[1]
    if new_tags:
        created = await session.execute(
            insert(Tag)
            .values([{"slug": s, "name": n} for s, n in new_tags.items()])
            .on_conflict_do_update(
                index_elements=[Tag.slug], set_={"slug": insert(Tag).excluded.slug}
            )
            .returning(Tag.id, Tag.slug)
        )
        lookups.tags.update({slug: id_ for id_, slug in created})
    if new_countries:
        await session.execute(
            insert(Country)
            .values([{"code": c, "name": n} for c, n in new_countries.items()])
            .on_conflict_do_nothing()
        )
        lookups.countries.update(new_countries)
    for row in rows:
        if row.tags is not None:
            for t in dict.fromkeys(slugify(t) for t in row.tags):
                links[TitleTag].append({"title_id": ids[row.key], "tag_id": lookups.tags[t]})

    for model, title_ids in replace.items():
        if title_ids:
            await session.execute(delete(model).where(model.title_id.in_(title_ids)))
        link_rows = [dict(t) for t in {tuple(sorted(r.items())) for r in links[model]}]
        if link_rows:
            await session.execute(insert(model).values(link_rows).on_conflict_do_nothing())

    # People, matched by external id or normalized name, then credits replaced for rows that
    # list people.
    people: dict[str, str] = {}
    for row in rows:
        for credit in row.people or []:
            people.setdefault(credit.key, credit.name)
    person_ids: dict[str, int] = {}
    if people:
        result = await session.execute(
            insert(Person)
            .values([{"name": n, "import_key": k} for k, n in people.items()])
            .on_conflict_do_update(
                index_elements=[Person.import_key],
                set_={"import_key": insert(Person).excluded.import_key},
            )
            .returning(Person.id, Person.import_key, text("(xmax = 0) AS inserted"))
        )
        new_people = []
        for id_, key, inserted in result:
            person_ids[key] = id_
            if inserted:
                new_people.append(id_)
        await refresh_people(session, new_people)
    credit_titles = [ids[r.key] for r in rows if r.people is not None]
    if credit_titles:
        await session.execute(delete(Credit).where(Credit.title_id.in_(credit_titles)))
        credit_rows = []
        for row in rows:
            seen: set[tuple[int, str]] = set()
            for pos, credit in enumerate(row.people or []):
                pid = person_ids[credit.key]
                if (pid, credit.role) in seen:
                    warn(row, f"{credit.name!r} listed twice as {credit.role}; first kept")
                    continue
                seen.add((pid, credit.role))
                credit_rows.append(
                    {
                        "title_id": ids[row.key],
                        "person_id": pid,
                        "role": credit.role,
                        "character": credit.character,
                        "position": pos,
                    }
                )
        if credit_rows:
            await session.execute(insert(Credit).values(credit_rows))
    await refresh_titles(session, list(ids.values()))


async def import_catalog(
    sessions: async_sessionmaker[AsyncSession], path: Path, *, create_genres: bool = False
) -> ImportReport:
    """Import the file in batches, one transaction per batch."""
    report = ImportReport()
    lookups = _Lookups(create_genres=create_genres)
    async with sessions() as session:
        await lookups.load(session)
    batch: list[CleanTitle] = []

    async def flush() -> None:
        if batch:
            async with sessions() as session, session.begin():
                await _write_batch(session, batch, lookups, report)
            batch.clear()

    for line, raw in read_records(path):
        report.rows += 1
        row = clean_row(line, raw, report)
        if row is not None:
            batch.append(row)
        if len(batch) >= BATCH:
            await flush()
    await flush()
    return report
