import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Plugin } from 'vite';
import { defineConfig } from 'vitest/config';

/**
 * Emits `sw.js` (from `sw/sw.js`) at the root of the build with the list
 * of the build's assets and a version made from their names, so a phone
 * keeps exactly this build of the app for when it has no network.
 */
function serviceWorker(): Plugin {
  return {
    name: 'tavolo-service-worker',
    apply: 'build',
    generateBundle(_options, bundle) {
      const assets = Object.keys(bundle)
        .filter((name) => name.startsWith('assets/'))
        .sort()
        .map((name) => `/${name}`);
      const version = createHash('sha256').update(assets.join('\n')).digest('hex').slice(0, 16);
      const source = readFileSync(new URL('./sw/sw.js', import.meta.url), 'utf8')
        .replace("'__TAVOLO_VERSION__'", JSON.stringify(version))
        .replace('__TAVOLO_ASSETS__', JSON.stringify(assets));
      this.emitFile({ type: 'asset', fileName: 'sw.js', source });
    },
  };
}

// During `npm run dev` Vite serves the app and hands the API and the sync
// socket to the Tavolo server started by `scripts/run.sh` (its default address).
const server = 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [serviceWorker()],
  // Vite 8 transforms TS/JSX with Oxc: point the automatic JSX runtime at
  // Preact, so no framework plugin is needed.
  oxc: {
    jsx: { runtime: 'automatic', importSource: 'preact' },
  },
  server: {
    proxy: {
      '/api': server,
      '/healthz': server,
      '/sync': { target: server, ws: true },
    },
  },
  build: {
    target: 'es2022',
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});
