// The cinema web app: built into dist/, which the server serves at / (http_api/webapp.py).
// `npm run dev` serves the sources with hot reload and proxies the server's paths to
// CINEMA_URL (default http://127.0.0.1:8000, where `make run` listens).
import { defineConfig } from "vite";

const server = process.env.CINEMA_URL ?? "http://127.0.0.1:8000";
const proxied = ["/api", "/media", "/docs", "/openapi.json", "/asyncapi.json", "/static", "/healthz"];

export default defineConfig({
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: {
    outDir: "dist",
    assetsDir: "assets", // hashed names: the server caches /assets/ for a year
    modulePreload: { polyfill: false }, // every browser we support has modulepreload
    target: "es2020",
    sourcemap: false,
    rollupOptions: {
      // The service worker (src/sw.ts) is an entry of its own at /sw.js: a fixed name at the
      // root, so its scope is the whole app; the server revalidates it like index.html.
      input: { index: "index.html", sw: "src/sw.ts" },
      output: { entryFileNames: (chunk) => (chunk.name === "sw" ? "sw.js" : "assets/[name]-[hash].js") },
    },
  },
  server: {
    proxy: {
      ...Object.fromEntries(proxied.map((p) => [p, { target: server, changeOrigin: false }])),
      // The server allows its own origin for sockets: the dev page's is another, so say ours.
      "/socket.io": {
        target: server,
        ws: true,
        configure: (proxy) => proxy.on("proxyReqWs", (req) => req.setHeader("origin", new URL(server).origin)),
      },
    },
  },
});
