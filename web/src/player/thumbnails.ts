// The WebVTT thumbnails track (docs/streaming.md, Thumbnails): each cue's text is
// `sprite-0001.jpg#xywh=x,y,w,h`, relative to the track's own (signed) URL.
export interface Thumb {
  startMs: number;
  endMs: number;
  url: string;
  x: number;
  y: number;
  w: number;
  h: number;
}

function ms(stamp: string): number {
  const parts = stamp.trim().split(":").map(Number);
  while (parts.length < 3) parts.unshift(0);
  const [h, m, s] = parts;
  return Math.round(((h ?? 0) * 3600 + (m ?? 0) * 60 + (s ?? 0)) * 1000);
}

export function parseThumbnails(body: string, base: string): Thumb[] {
  const out: Thumb[] = [];
  const lines = body.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const timing = /^([\d:.]+)\s+-->\s+([\d:.]+)/.exec(lines[i] ?? "");
    const cue = lines[i + 1];
    if (!timing || !cue) continue;
    const m = /^(.*)#xywh=(\d+),(\d+),(\d+),(\d+)$/.exec(cue.trim());
    if (!m) continue;
    out.push({
      startMs: ms(timing[1]!),
      endMs: ms(timing[2]!),
      url: new URL(m[1]!, base).toString(),
      x: Number(m[2]),
      y: Number(m[3]),
      w: Number(m[4]),
      h: Number(m[5]),
    });
  }
  return out;
}

export function thumbnailAt(thumbs: Thumb[], at: number): Thumb | null {
  let lo = 0;
  let hi = thumbs.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const t = thumbs[mid]!;
    if (at < t.startMs) hi = mid - 1;
    else if (at >= t.endMs) lo = mid + 1;
    else return t;
  }
  return null;
}
