"""Copy media that predates the object store (or was saved while it was off) into it.

Idempotent and resumable: a file whose key the bucket already holds with the same size is
left alone, so a second run uploads nothing and an interrupted run carries on where it
stopped (an upload cut halfway never became an object).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from models.media.storage import MediaStore

# (files done, files in all, bytes done, bytes in all): called before the first upload and
# after each file.
Progress = Callable[[int, int, int, int], None]


@dataclass(frozen=True)
class BackfillReport:
    files: int
    uploaded: int
    already_there: int
    bytes_uploaded: int


def backfill(media: MediaStore, *, progress: Progress | None = None) -> BackfillReport:
    """Every published revision, source and uploaded dub of the media folder that the object
    store lacks, uploaded under the same relative path."""
    objects = media.objects
    if objects is None:
        raise ValueError("no object store is configured (MEDIA_STORE=s3 and S3_BUCKET)")
    files = list(media.durable_files())
    there = objects.sizes(objects.key(""))
    todo = []
    for path in files:
        key = media.object_key(path)
        size = path.stat().st_size
        if there.get(key) != size:
            todo.append((path, key, size))
    total = sum(size for _, _, size in todo)
    done = sent = 0
    if progress:
        progress(0, len(todo), 0, total)
    for path, key, size in todo:
        objects.put_file(path, key)
        done, sent = done + 1, sent + size
        if progress:
            progress(done, len(todo), sent, total)
    return BackfillReport(
        files=len(files),
        uploaded=len(todo),
        already_there=len(files) - len(todo),
        bytes_uploaded=sent,
    )
