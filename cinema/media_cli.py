"""`cinema media-backfill`: the media folder's durable files into the object store."""

from __future__ import annotations

import argparse
import sys
import time

from cinema.catalog_cli import TerminalProgress
from models.core.settings import Settings


class _FilesProgress(TerminalProgress):
    """Files, percent, rate and ETA on one line of a terminal; silent when piped."""

    def __call__(self, done: int, total: int, sent: int, size: int) -> None:  # type: ignore[override]
        if not self.live:
            return
        elapsed = self.elapsed()
        share = min(sent / size, 1.0) if size else (1.0 if done >= total else 0.0)
        self.show(
            f"\rbackfill: {done:,}/{total:,} files, {share:.0%},"
            f" {sent / elapsed / 1e6:,.1f} MB/s, ETA {self.eta(share, elapsed)}"
        )


def media_backfill_command(settings: Settings, args: argparse.Namespace) -> int:
    from models.media.backfill import backfill
    from models.media.service import objects_for
    from models.media.storage import MediaStore

    objects = objects_for(settings)
    if objects is None:
        print("error: set MEDIA_STORE=s3 and S3_BUCKET (and S3_* as needed)", file=sys.stderr)
        return 2
    progress = _FilesProgress()
    started = time.monotonic()
    try:
        report = backfill(MediaStore(settings.media_dir, objects), progress=progress)
    finally:
        progress.end()
    print(
        f"backfill: {report.files} files, {report.uploaded} uploaded"
        f" ({report.bytes_uploaded / 1e6:,.1f} MB), {report.already_there} already there,"
        f" in {time.monotonic() - started:.1f} s"
    )
    return 0
