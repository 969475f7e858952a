import { defineConfig } from 'vitest/config';

// During `npm run dev` Vite serves the app and hands the API and the sync
// socket to the Tavolo server started by `scripts/run.sh` (its default address).
const server = 'http://127.0.0.1:8080';

export default defineConfig({
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
