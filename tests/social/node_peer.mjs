// A DM peer on the official socket.io-client (node, from the web app's node_modules), driven by
// tests/social/test_node_peer.py over stdin/stdout, one JSON object a line.
//
//   node node_peer.mjs <server url> <access token>
//
// It connects, says {"ready": true}, prints every dm:message as {"event": ...}; on a line
// "away" from stdin it disconnects and says {"away": true}; on "back <url> <cursor>" it
// connects to <url> and asks sync:resume for the "dm" stream after <cursor>, printing the
// ack as {"resumed": ...}; on "fetch <url>" it GETs the URL and prints its status, type and
// size; on "bye" it exits.
import { createRequire } from "node:module";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const web = fileURLToPath(new URL("../../web/package.json", import.meta.url));
const { io } = createRequire(web)("socket.io-client");

const [url, token] = process.argv.slice(2);
const say = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

function connect(to) {
  const socket = io(to, { auth: { token }, transports: ["websocket"], reconnection: false });
  socket.on("dm:message", (event) => say({ event }));
  socket.on("connect_error", (err) => say({ error: String(err && err.message) }));
  return socket;
}

let socket = connect(url);
socket.once("connect", () => say({ ready: true }));

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  const [cmd, ...args] = line.trim().split(" ");
  if (cmd === "away") {
    socket.disconnect();
    say({ away: true });
  } else if (cmd === "back") {
    const [to, cursor] = args;
    socket = connect(to);
    await new Promise((resolve) => socket.once("connect", resolve));
    const ack = await socket.timeout(10000).emitWithAck("sync:resume", { cursors: { dm: Number(cursor) } });
    say({ resumed: ack });
  } else if (cmd === "fetch") {
    const r = await fetch(args[0]);
    const body = new Uint8Array(await r.arrayBuffer());
    say({ fetched: { status: r.status, type: r.headers.get("content-type"), bytes: body.length } });
  } else if (cmd === "bye") {
    socket.disconnect();
    break;
  }
}
process.exit(0);
