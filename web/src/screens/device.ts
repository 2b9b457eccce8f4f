// This device as one of my screens: a stable device_id kept in localStorage, a kind guessed
// from the browser (phone, tablet, TV, laptop) and a name the person can change; the default
// says the kind and the browser ("Phone · Chrome").
import type { ClientEvents } from "../api/events";

export type Kind = NonNullable<ClientEvents["screen:register"]["payload"]["kind"]>;
export interface ThisScreen {
  device_id: string;
  name: string;
  kind: Kind;
}

const KEY = "cinema.screen";
const KIND_LABEL: Record<Kind, string> = {
  tv: "TV",
  phone: "Phone",
  tablet: "Tablet",
  laptop: "Computer",
  browser: "Browser",
  other: "Screen",
};

export function kindLabel(kind: string): string {
  return KIND_LABEL[kind as Kind] ?? "Screen";
}

function guessKind(ua: string): Kind {
  if (/SMART-?TV|SmartTV|\bTV\b|Tizen|Web0S|webOS.TV|CrKey|BRAVIA|AFT[A-Z]|HbbTV/i.test(ua)) return "tv";
  if (/iPad|Tablet/i.test(ua) || (/Android/i.test(ua) && !/Mobile/i.test(ua))) return "tablet";
  if (/Mobi|iPhone|Android/i.test(ua)) return "phone";
  return "laptop";
}

function guessBrowser(ua: string): string {
  if (/Edg\//.test(ua)) return "Edge";
  if (/OPR\//.test(ua)) return "Opera";
  if (/Firefox\//.test(ua)) return "Firefox";
  if (/Chrom(e|ium)\//.test(ua)) return "Chrome";
  if (/Safari\//.test(ua)) return "Safari";
  return "Browser";
}

export function defaultName(ua = navigator.userAgent): string {
  return `${kindLabel(guessKind(ua))} · ${guessBrowser(ua)}`;
}

function newId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return `web-${[...bytes].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

export function thisScreen(): ThisScreen {
  let kept: Partial<ThisScreen> = {};
  try {
    kept = JSON.parse(localStorage.getItem(KEY) ?? "{}") as Partial<ThisScreen>;
  } catch {
    kept = {};
  }
  const ua = navigator.userAgent;
  const screen: ThisScreen = {
    device_id: typeof kept.device_id === "string" && /^[A-Za-z0-9._:-]{1,64}$/.test(kept.device_id) ? kept.device_id : newId(),
    name: typeof kept.name === "string" && kept.name.trim() ? kept.name.trim().slice(0, 60) : defaultName(ua),
    kind: guessKind(ua),
  };
  if (kept.device_id !== screen.device_id) localStorage.setItem(KEY, JSON.stringify({ device_id: screen.device_id, name: kept.name }));
  return screen;
}

/** A new name for this screen (empty: back to the default). */
export function renameScreen(name: string): ThisScreen {
  const { device_id } = thisScreen();
  const trimmed = name.trim().slice(0, 60);
  localStorage.setItem(KEY, JSON.stringify(trimmed ? { device_id, name: trimmed } : { device_id }));
  return thisScreen();
}
