"""Where media lives on disk, and the few operations that must be atomic.

    media_dir/
      imports/                 operators drop files here; editors may register them by name
      sources/<item>/<file>    every source is kept (the current one at least); <item> is
                               film-<title id> or episode-<episode id>
      assets/<asset>/<rev>/    published renditions: immutable, served by signed URL
      assets/<asset>/.work-<rev>/   an encode in progress; renamed into place when done
      tracks/<asset>/<file>    uploaded dubs, kept to encode them into later revisions
      attachments/<id>/<file>  images attached to messages (in the object store when there
                               is one, not here)

A revision directory never changes once published, which is what lets a CDN (or an object
store) hold it forever; a re-run writes a new revision and switches the pointer in the
database, so viewers of the old one are not cut off mid-segment.

With an object store, published revisions, sources and uploaded dubs are also kept there under
the same relative paths (models/media/objects.py); `durable_files` lists what belongs there.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import shutil
import time
import uuid
from collections.abc import AsyncIterable, Iterator
from pathlib import Path

from models.media.objects import ObjectStore

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
_EXT = re.compile(r"^\.[a-z0-9]{1,5}$")
_FLUSH = 1024 * 1024


class TooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"the upload is larger than {limit} bytes")
        self.limit = limit


class BadImportPath(Exception):
    pass


def safe_name(name: str) -> str:
    """A file name for the disk: no directories, no leading dots, at most 100 characters."""
    base = _SAFE.sub("_", Path(name.replace("\\", "/")).name).lstrip("._")
    return base[-100:] or "source"


class MediaStore:
    """The local disk (always: the transcoder's working area) and, when configured, the
    object store that holds every published revision (models/media/objects.py)."""

    def __init__(self, root: Path, objects: ObjectStore | None = None) -> None:
        self.root = root
        self.objects = objects
        self.imports = root / "imports"
        self.sources = root / "sources"
        self.assets = root / "assets"
        self.tracks = root / "tracks"
        self.attachments = root / "attachments"

    def object_key(self, path: Path) -> str:
        """A file of the media folder's key in the object store."""
        assert self.objects is not None
        return self.objects.key(path.relative_to(self.root).as_posix())

    def durable_files(self) -> Iterator[Path]:
        """What the object store must hold: every file of the published revisions, the sources
        and the uploaded dubs (not imports, encodes in progress or unfinished uploads)."""
        if self.assets.is_dir():
            for asset in sorted(self.assets.iterdir()):
                if not asset.is_dir():
                    continue
                for revision in sorted(asset.iterdir()):
                    if revision.is_dir() and not revision.name.startswith("."):
                        yield from (f for f in sorted(revision.rglob("*")) if f.is_file())
        for folder in (self.sources, self.tracks):
            if folder.is_dir():
                for f in sorted(folder.rglob("*")):
                    if f.is_file() and not f.name.endswith(".part"):
                        yield f

    async def _keep(self, path: Path) -> None:
        """A new source or dub into the object store too, before anyone is told it is saved;
        if that fails, the local copy goes as well (nothing half-kept)."""
        if self.objects is None:
            return
        try:
            await asyncio.to_thread(self.objects.put_file, path, self.object_key(path))
        except BaseException:
            await asyncio.to_thread(path.unlink, missing_ok=True)
            raise

    def _forget(self, path: Path) -> None:
        if self.objects is not None:
            self.objects.delete(self.object_key(path))

    def ensure_local(self, path: Path) -> bool:
        """A source or dub the disk lost (a new machine) fetched back from the object store;
        False when neither has it."""
        if path.is_file():
            return True
        if self.objects is None or not path.is_relative_to(self.root):
            return False
        return self.objects.download(self.object_key(path), path)

    def new_source_path(self, item: str, filename: str) -> Path:
        ext = Path(safe_name(filename)).suffix.lower()
        ext = ext if _EXT.match(ext) else ""
        return self.sources / item / f"{uuid.uuid4().hex}{ext}"

    def new_track_path(self, asset_id: int, filename: str) -> Path:
        ext = Path(safe_name(filename)).suffix.lower()
        ext = ext if _EXT.match(ext) else ""
        return self.tracks / str(asset_id) / f"{uuid.uuid4().hex}{ext}"

    def prune_track_files(
        self, asset_id: int, *, keep: set[str], grace_s: int = 3600, now: float | None = None
    ) -> None:
        """Remove uploaded dubs no track uses any more (revisions hold their own encode);
        recent files may be uploads whose track is being made, and stay."""
        now = time.time() if now is None else now
        folder = self.tracks / str(asset_id)
        if not folder.is_dir():
            return
        for f in folder.iterdir():
            if str(f) not in keep and f.stat().st_mtime < now - grace_s:
                f.unlink(missing_ok=True)
                self._forget(f)

    def save_attachment(self, attachment: str, files: dict[str, tuple[bytes, str]]) -> None:
        """A message's image files ({name: (bytes, content type)}), all or none: in the object
        store when there is one, else on the disk (written aside, then renamed into place)."""
        if self.objects is not None:
            try:
                for name, (data, ctype) in files.items():
                    self.objects.put(
                        self.objects.attachment_key(attachment, name), data, content_type=ctype
                    )
            except BaseException:
                self.drop_attachment(attachment)
                raise
            return
        final = self.attachments / attachment
        work = self.attachments / f".work-{attachment}"
        work.mkdir(parents=True, exist_ok=True)
        try:
            for name, (data, _) in files.items():
                (work / name).write_bytes(data)
            os.replace(work, final)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise

    def attachment_path(self, attachment: str, name: str) -> Path:
        return self.attachments / attachment / name

    def drop_attachment(self, attachment: str) -> None:
        shutil.rmtree(self.attachments / attachment, ignore_errors=True)
        if self.objects is not None:
            self.objects.delete_prefix(self.objects.attachment_key(attachment))

    @property
    def location(self) -> str:
        """Which store this is (the bucket and prefix, or the folder), for work queued in the
        database that only a process configured for the same store may do."""
        if self.objects is not None:
            return self.objects.location
        return self.root.resolve().as_uri()

    def drop_attachments(self, attachments: list[str], names: tuple[str, ...]) -> None:
        """Several images' files (each folder's `names`) in one go: one request per thousand
        objects in the object store. Returns once every one is gone; one already gone is fine."""
        for attachment in attachments:
            folder = self.attachments / attachment
            shutil.rmtree(folder, ignore_errors=True)
            if folder.exists():
                raise OSError(f"could not remove {folder}")
        if self.objects is not None:
            keys = [self.objects.attachment_key(a, n) for a in attachments for n in names]
            self.objects.delete_keys(keys)

    def attachment_dirs(self, *, older_than: float) -> list[str]:
        """Names of attachment folders untouched since `older_than` (unix s): on the disk, and
        in the object store (a listing of the attachments prefix) when there is one."""
        found: set[str] = set()
        if self.attachments.is_dir():
            found |= {
                d.name
                for d in self.attachments.iterdir()
                if d.is_dir() and d.stat().st_mtime < older_than
            }
        if self.objects is not None:
            found |= set(self.objects.attachment_folders(older_than=older_than))
        return sorted(found)

    def resolve_import(self, relative: str) -> Path:
        """A file inside imports/; anything that escapes it (.., symlinks) is refused."""
        base = self.imports.resolve()
        candidate = (base / relative).resolve()
        if not candidate.is_relative_to(base) or candidate == base:
            raise BadImportPath("the path must name a file inside the media imports directory")
        if not candidate.is_file():
            raise BadImportPath(f"no file {relative!r} in the media imports directory")
        return candidate

    def work_dir(self, asset_id: int, revision: str) -> Path:
        return self.assets / str(asset_id) / f".work-{revision}"

    def revision_dir(self, asset_id: int, revision: str) -> Path:
        return self.assets / str(asset_id) / revision

    def publish(self, asset_id: int, revision: str) -> Path:
        """Put a finished revision in place (and in the object store, before any URL to it is
        handed out: the caller moves the asset's pointer after this returns)."""
        final = self.revision_dir(asset_id, revision)
        if final.exists():
            shutil.rmtree(final)
        os.replace(self.work_dir(asset_id, revision), final)
        if self.objects is not None:
            self.objects.upload_dir(final, self.objects.revision_key(asset_id, revision))
        return final

    def discard(self, asset_id: int, revision: str) -> None:
        shutil.rmtree(self.work_dir(asset_id, revision), ignore_errors=True)

    def drop_revision(self, asset_id: int, revision: str) -> None:
        shutil.rmtree(self.revision_dir(asset_id, revision), ignore_errors=True)
        if self.objects is not None:
            self.objects.delete_prefix(self.objects.revision_key(asset_id, revision))

    def prune(
        self,
        asset_id: int,
        *,
        current_revision: str,
        current_source: Path,
        grace_s: int,
        now: float | None = None,
    ) -> None:
        """Remove what nobody can still be using, after a publish (under the asset's lock).

        A replaced revision stays while URLs signed for it may be alive (`grace_s` after the
        next one was published); work directories of interrupted runs go; older sources go,
        newer files are uploads still being registered and stay.
        """
        now = time.time() if now is None else now
        base = self.assets / str(asset_id)
        dirs = [d for d in base.iterdir() if d.is_dir()] if base.is_dir() else []
        for d in dirs:
            if d.name.startswith(".work-"):
                shutil.rmtree(d, ignore_errors=True)
        revisions = sorted(
            (d for d in dirs if not d.name.startswith(".")), key=lambda d: d.stat().st_mtime
        )
        for older, newer in itertools.pairwise(revisions):
            if older.name != current_revision and newer.stat().st_mtime < now - grace_s:
                self.drop_revision(asset_id, older.name)
        if current_source.is_file():
            keep_from = current_source.stat().st_mtime
            for f in current_source.parent.glob("*"):
                if f.name != current_source.name and f.stat().st_mtime < keep_from:
                    f.unlink(missing_ok=True)
                    if not f.name.endswith(".part"):
                        self._forget(f)

    def prune_orphans(
        self, *, asset_ids: set[int], item_keys: set[str], grace_s: int, now: float | None = None
    ) -> list[Path]:
        """Remove media whose film, episode or asset row is gone (deleted from the catalog).

        Sources are written before their asset row exists, so only folders untouched for
        `grace_s` go.
        """
        now = time.time() if now is None else now
        removed: list[Path] = []
        for folder in (self.assets, self.tracks):
            if not folder.is_dir():
                continue
            for d in folder.iterdir():
                if d.is_dir() and d.name.isdigit() and int(d.name) not in asset_ids:
                    shutil.rmtree(d, ignore_errors=True)
                    if self.objects is not None:
                        self.objects.delete_prefix(self.object_key(d))
                    removed.append(d)
        if self.sources.is_dir():
            for d in self.sources.iterdir():
                if not d.is_dir() or d.name in item_keys:
                    continue
                newest = max((f.stat().st_mtime for f in d.iterdir()), default=d.stat().st_mtime)
                if newest < now - grace_s:
                    shutil.rmtree(d, ignore_errors=True)
                    if self.objects is not None:
                        self.objects.delete_prefix(self.object_key(d))
                    removed.append(d)
        return removed

    async def save_stream(self, chunks: AsyncIterable[bytes], dest: Path, *, max_bytes: int) -> int:
        """Write a request body to `dest` without holding it in memory; refuse past max_bytes.

        The bytes go to a `.part` file renamed into place at the end, so a broken or refused
        upload never leaves something that looks like a source.
        """
        dest.parent.mkdir(parents=True, exist_ok=True)
        part = dest.with_name(dest.name + ".part")
        size = 0
        buf = bytearray()
        f = await asyncio.to_thread(open, part, "wb")
        try:
            async for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise TooLarge(max_bytes)
                buf += chunk
                if len(buf) >= _FLUSH:
                    await asyncio.to_thread(f.write, bytes(buf))
                    buf.clear()
            if buf:
                await asyncio.to_thread(f.write, bytes(buf))
            await asyncio.to_thread(f.close)
            os.replace(part, dest)
        except BaseException:
            f.close()
            part.unlink(missing_ok=True)
            raise
        await self._keep(dest)
        return size

    async def copy_in(self, src: Path, dest: Path) -> int:
        """Bring a local file in as a source (a hard link when on the same filesystem)."""
        dest.parent.mkdir(parents=True, exist_ok=True)

        def _copy() -> int:
            try:
                os.link(src, dest)
            except OSError:
                shutil.copyfile(src, dest)
            return dest.stat().st_size

        size = await asyncio.to_thread(_copy)
        await self._keep(dest)
        return size
