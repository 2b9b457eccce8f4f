// The watch page's script (a file of its own: the Content-Security-Policy allows no inline script).
import { SocketIOLite, PartyClient, targetPosition } from "/static/party-client.js";

const q = new URLSearchParams(location.hash.slice(1));
const video = document.getElementById("video");
const status = document.getElementById("status");
const chat = document.getElementById("chat");
video.src = q.get("video") || "";

function line(text, cls) {
  const div = document.createElement("div");
  div.textContent = text;
  if (cls) div.className = cls;
  chat.append(div);
  chat.scrollTop = chat.scrollHeight;
}

const socket = new SocketIOLite(location.origin, { auth: { token: q.get("token") || "" } });
let party;
let connects = 0;
let left = null;
socket.on("connect", () => connects++);
window.partyDebug = () => {
  const s = party && party.state;
  const serverNow = party ? party.serverNow() : null;
  return {
    connected: socket.connected,
    connects,
    left,
    joined: Boolean(party && party.partyId && s), // its join answered, not just a broadcast heard
    version: s ? s.version : null,
    phase: s ? s.phase : null,
    serverNow,
    targetMs: s ? targetPosition(s, serverNow) : null,
    videoMs: video.currentTime * 1000,
    paused: video.paused,
    playbackRate: video.playbackRate,
    readyState: video.readyState,
    networkState: video.networkState,
    error: video.error ? video.error.code : null,
    clockOffsetMs: party && party.clock.ready ? party.clock.offsetMs : null,
    rttMs: party && party.clock.ready ? party.clock.rttMs : null,
    members: party ? party.members.length : 0,
    catchingUp: party ? party.catchingUp : false,
  };
};
// Rewind and catch up without anyone waiting (what a "replay 10 s" button does).
window.partyCatchUp = (backMs) => party.catchUp({ backMs });

async function main() {
  await socket.connect();
  party = new PartyClient({
    socket,
    video,
    onChat: (m) => line(`${m.username}: ${m.text}`),
    onReaction: (r) => line(r.emoji, "reaction"),
    onLeft: (e) => {
      left = e.reason;
      line(`(left the party: ${e.reason})`);
    },
  });
  if (q.get("invite")) await party.join({ invite_code: q.get("invite") });
  else if (q.get("party")) await party.join({ party_id: q.get("party") });
  else if (q.get("title")) await party.create({ title_id: Number(q.get("title")) });
  const err = (e) => line(`(${e.code || "error"}: ${e.message})`);
  document.getElementById("play").onclick = () => party.play().catch(err);
  document.getElementById("pause").onclick = () => party.pause().catch(err);
  const jump = (ms) => party.seek(Math.max(0, targetPosition(party.state, party.serverNow()) + ms)).catch(err);
  document.getElementById("back").onclick = () => jump(-10000);
  document.getElementById("fwd").onclick = () => jump(30000);
  document.getElementById("react").onclick = () => party.react("🎉").catch(err);
  document.getElementById("say").onsubmit = (e) => {
    e.preventDefault();
    const input = document.getElementById("text");
    party.chat(input.value).then(() => (input.value = "")).catch(err);
  };
  setInterval(() => {
    const d = window.partyDebug();
    const drift = d.targetMs === null ? "" : ` drift ${(d.videoMs - d.targetMs).toFixed(1)} ms`;
    status.textContent = `v${d.version} ${d.phase} members ${d.members} rtt ${d.rttMs} ms${drift}`;
  }, 250);
}
main().catch((e) => (status.textContent = `error: ${e.message}`));
