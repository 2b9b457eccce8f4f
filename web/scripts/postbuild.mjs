// After `vite build`:
// 1. The API docs page (/docs) uses Swagger UI 5 (it reads OpenAPI 3.1) from npm, copied into
//    the build so the server serves it from its own origin (no CDN; the CSP allows no other).
// 2. Text files are gzipped beside themselves (name.gz); the server sends those to browsers
//    that accept gzip (http_api/webapp.py), so it never compresses per request.
import { copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { constants, gzipSync } from "node:zlib";

const web = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(web, "dist");
const swagger = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
mkdirSync(join(dist, "docs"), { recursive: true });
for (const name of ["swagger-ui-bundle.js", "swagger-ui.css"]) copyFileSync(join(swagger, name), join(dist, "docs", name));

let packed = 0;
function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (/\.(js|css|svg|html|json|map)$/.test(name) && statSync(path).size >= 512) {
      writeFileSync(`${path}.gz`, gzipSync(readFileSync(path), { level: constants.Z_BEST_COMPRESSION }));
      packed += 1;
    }
  }
}
walk(dist);
console.log(`postbuild: Swagger UI copied to dist/docs, ${packed} files gzipped`);
