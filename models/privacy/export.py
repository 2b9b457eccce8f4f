"""Building an export: every row that points at the account (found in the metadata, secrets
left out), the profile and the live sessions, as JSON files in one zip."""

from __future__ import annotations

import base64
import io
import uuid
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.accounts.sessions import Session
from models.privacy.footprint import is_secret, references
from models.tables import metadata

README = """Everything this account holds on {site}, exported {when}.

profile.json   the account (no password: only a one-way hash of it is kept, and not exported)
sessions.json  the devices signed in at the time of the export
data/*.json    one file per kind of record that names the account: ratings, comments,
               playlists, favorites, likes, follows, viewing history, direct messages sent
               and received, watch parties, notifications, preferences, friends, blocks,
               passkeys (names only) and more; ids of titles and people are the catalog's.
Times are UTC (ISO 8601). Bytes are base64.
"""


# Rows that belong to the account through a record it owns rather than by naming it:
# child table -> (its column naming the parent, the parent table).
CONTENTS = {
    "playlist_items": ("playlist_id", "playlists"),
    "playlist_shares": ("playlist_id", "playlists"),
}


def _default(value: Any) -> Any:
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, set | frozenset):
        return sorted(value)
    return str(value)


def _dump(value: Any) -> bytes:
    return orjson.dumps(
        value, default=_default, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS
    )


async def collect(session: AsyncSession, *, user_id: uuid.UUID) -> dict[str, list[dict[str, Any]]]:
    """Per table, the rows in which any column names the account (secrets left out)."""
    by_table: dict[str, list[Any]] = {}
    for ref in references():
        by_table.setdefault(ref.table.name, []).append(ref)
    out: dict[str, list[dict[str, Any]]] = {}
    for name, refs in by_table.items():
        table = refs[0].table
        columns = [c for c in table.columns if not is_secret(c.name)]
        query = select(*columns).where(or_(*(r.column == user_id for r in refs)))
        pk = list(table.primary_key.columns)
        rows = (await session.execute(query.order_by(*pk))).mappings().all()
        if name == "users":
            rows = [r for r in rows if r["id"] != user_id]  # the profile is profile.json
        if rows:
            out[name] = [dict(r) for r in rows]
    # What the account's own records hold: a playlist's titles and whom it is shared with.
    for child, (column, parent) in CONTENTS.items():
        table = metadata.tables[child]
        parent_ids = [r["id"] for r in out.get(parent, [])]
        if not parent_ids:
            continue
        query = select(*table.columns).where(table.columns[column].in_(parent_ids))
        rows = (await session.execute(query)).mappings().all()
        if rows:
            merged = {orjson.dumps(dict(r), default=_default): dict(r) for r in rows}
            for r in out.get(child, []):
                merged.setdefault(orjson.dumps(r, default=_default), r)
            out[child] = list(merged.values())
    return out


def write_zip(
    path: Path,
    *,
    site: str,
    when: datetime,
    profile: dict[str, Any],
    sessions: list[Session],
    data: dict[str, list[dict[str, Any]]],
) -> int:
    """Write the zip next to its final name and move it there (never half a file); its size."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("README.txt", README.format(site=site, when=when.isoformat()))
        z.writestr("profile.json", _dump(profile))
        z.writestr(
            "sessions.json",
            _dump(
                [
                    {
                        "created_at": s.created,
                        "last_seen_at": datetime.fromtimestamp(s.last_seen, s.created.tzinfo),
                        "user_agent": s.user_agent,
                        "ip": s.ip,
                    }
                    for s in sessions
                ]
            ),
        )
        for name, rows in sorted(data.items()):
            z.writestr(f"data/{name}.json", _dump(rows))
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    partial.write_bytes(buffer.getvalue())
    partial.replace(path)
    return len(buffer.getvalue())
