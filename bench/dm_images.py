"""What checking a message image costs: models/social/messages/images.check_image per upload.

    .venv/bin/python -m bench.dm_images [--rounds 5] [--cores 0]

Synthetic photos (a gradient with noise, so JPEG has work to do) and a screenshot-like PNG,
each checked as an upload is: sniffed, its header read, decoded, EXIF orientation applied,
re-encoded (scaled to fit 2560 px) and thumbnailed. The same-run bare baseline is Pillow
decoding the same bytes and nothing else, so the ratio is what re-encoding adds. Prints the
median milliseconds per image of each, the ratio, and uploads a core can check per second.
Pinned to one core (`--cores`; empty for none).
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from collections.abc import Callable

from PIL import Image

from bench.common import machine, pin_self
from models.social.messages import images


def _photo(width: int, height: int) -> bytes:
    noise = Image.effect_noise((width, height), 24)
    gradient = Image.linear_gradient("L").resize((width, height))
    img = Image.merge("RGB", (noise, gradient, gradient.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=80)
    return buf.getvalue()


def _screenshot(width: int, height: int) -> bytes:
    img = Image.new("RGB", (width, height), (30, 30, 36))
    for y in range(0, height, 24):
        img.paste((200, 200, 210), (40, y + 6, width // 2 + (y * 7) % (width // 3), y + 14))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def _median_ms(fn: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def _bound(fn: Callable[..., object], *args: object) -> Callable[[], object]:
    return lambda: fn(*args)


def _decode(data: bytes) -> None:
    with Image.open(io.BytesIO(data)) as img:
        img.load()


def main(rounds: int) -> None:
    cases = {
        "photo 1 MP JPEG": (_photo(1200, 900), "image/jpeg"),
        "photo 12 MP JPEG": (_photo(4000, 3000), "image/jpeg"),
        "photo 24 MP JPEG": (_photo(6000, 4000), "image/jpeg"),
        "screenshot 5 MP PNG": (_screenshot(2880, 1800), "image/png"),
    }
    print(f"dm_images: {machine()}, median of {rounds}")
    print(f"{'case':<22}{'bytes':>10}{'check ms':>10}{'bare ms':>9}{'ratio':>7}{'per s':>7}")
    for name, (data, ctype) in cases.items():
        if len(data) > images.MAX_BYTES:
            print(f"{name:<22}{len(data):>10}  over the upload limit, skipped")
            continue
        check = _median_ms(_bound(images.check_image, data, ctype), rounds)
        bare = _median_ms(_bound(_decode, data), rounds)
        print(
            f"{name:<22}{len(data):>10}{check:>10.1f}{bare:>9.1f}"
            f"{check / bare:>7.1f}{1000 / check:>7.1f}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cores", default="0", help="cpu list to pin to; empty: no pinning")
    args = parser.parse_args()
    pin_self(args.cores)
    main(args.rounds)
