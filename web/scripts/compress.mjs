// Writes a .gz and a .br next to every file of the build the server sends
// precompressed (tower-http's ServeDir picks by the browser's
// Accept-Encoding). Brotli at its best setting takes the wasm client from
// 609 KB (gzip -9) to 450 KB; a phone on venue Wi-Fi feels the difference.
//
//   node scripts/compress.mjs dist

import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const EXTENSIONS = ['.js', '.css', '.wasm', '.svg', '.html'];

function* files(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* files(path);
    else if (EXTENSIONS.some((ext) => name.endsWith(ext))) yield path;
  }
}

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node scripts/compress.mjs <dist dir>');
  process.exit(2);
}
let raw = 0;
let gz = 0;
let br = 0;
for (const path of files(dir)) {
  const data = readFileSync(path);
  const gzipped = gzipSync(data, { level: 9 });
  const brotli = brotliCompressSync(data, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
      [constants.BROTLI_PARAM_LGWIN]: constants.BROTLI_MAX_WINDOW_BITS,
      [constants.BROTLI_PARAM_SIZE_HINT]: data.length,
    },
  });
  writeFileSync(`${path}.gz`, gzipped);
  writeFileSync(`${path}.br`, brotli);
  raw += data.length;
  gz += gzipped.length;
  br += brotli.length;
}
const kb = (n) => `${(n / 1000).toFixed(0)} KB`;
console.log(`compressed ${dir}: ${kb(raw)} → gzip ${kb(gz)}, brotli ${kb(br)}`);
