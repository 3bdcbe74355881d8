// Precompress the build's hashed assets: `x.js` → `x.js.br` and `x.js.gz`, which `helpline serve`
// sends (Content-Encoding, Vary: Accept-Encoding) to browsers that take them. Node's own zlib
// does both codings at their strongest settings, once per build instead of once per request.
// Usage: node scripts/compress.mjs [dist]
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

const root = process.argv[2] ?? "dist";
const dir = join(root, "assets");
const COMPRESSIBLE = /\.(js|mjs|css|svg|json|html|txt|map)$/;
const MIN_BYTES = 1024; // smaller files gain nothing worth a second request path

let before = 0;
let gz = 0;
let br = 0;
for (const name of readdirSync(dir)) {
  if (!COMPRESSIBLE.test(name)) continue;
  const path = join(dir, name);
  const body = readFileSync(path);
  if (body.length < MIN_BYTES) continue;
  const gzip = gzipSync(body, { level: 9 });
  const brotli = brotliCompressSync(body, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
      [constants.BROTLI_PARAM_SIZE_HINT]: body.length,
      [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
    },
  });
  // A coding that does not make the file smaller is not worth sending.
  if (gzip.length < body.length) writeFileSync(`${path}.gz`, gzip);
  if (brotli.length < body.length) writeFileSync(`${path}.br`, brotli);
  before += body.length;
  gz += Math.min(gzip.length, body.length);
  br += Math.min(brotli.length, body.length);
}
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
console.log(`precompressed ${dir}: ${kb(before)} → gzip ${kb(gz)}, brotli ${kb(br)}`);
