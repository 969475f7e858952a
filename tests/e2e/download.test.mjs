// What a participant's phone downloads to take part (issue 16): from a
// fresh browser profile, the join page and then the board, in bytes as the
// server sent them (compressed as Chromium asked, headers included). Bytes,
// not time, so the check is exact on any machine; the throttled timings are
// measured on demand by measure-phone.mjs (BENCHMARKS.md).
//
// Run: cd tests/e2e && node --test download.test.mjs

import assert from 'node:assert/strict';
import { devices, GIULIA, launchBrowser, Phone, scenario } from './harness.mjs';

/** Issue 16's budget for the join page and the board together. */
const BUDGET_BYTES = 450_000;

scenario('a phone joining and opening the board downloads at most 450 KB, and nothing of the console', {}, async (world, t) => {
  const session = await world.server.createSession();
  world.browser ??= await launchBrowser();
  // Service workers blocked: the page's own fetches (the worker would fetch
  // the same files unseen, to keep them for offline use).
  const { defaultBrowserType: _ignored, ...device } = devices['Pixel 7'];
  const context = await world.browser.newContext({ ...device, locale: 'it-IT', serviceWorkers: 'block' });
  const phone = new Phone('fresh phone', context, await context.newPage());
  world.phones.push(phone);
  const cdp = await context.newCDPSession(phone.page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  const urls = new Map();
  const bytes = new Map();
  const encodings = new Map();
  cdp.on('Network.requestWillBeSent', (e) => urls.set(e.requestId, e.request.url));
  cdp.on('Network.responseReceived', (e) => encodings.set(e.requestId, e.response.headers['content-encoding'] ?? ''));
  cdp.on('Network.loadingFinished', (e) => bytes.set(e.requestId, e.encodedDataLength));

  // Joins and waits until the board is connected and synced.
  await phone.join(world.server.url, session.join_code, GIULIA);

  const fetched = [...bytes.entries()].map(([id, n]) => ({ url: urls.get(id) ?? id, n, encoding: encodings.get(id) }));
  const total = fetched.reduce((a, f) => a + f.n, 0);
  for (const f of fetched.sort((a, b) => b.n - a.n)) t.diagnostic(`${String(f.n).padStart(8)} ${f.encoding || '-'} ${f.url.replace(world.server.url, '')}`);
  t.diagnostic(`total ${total} bytes (budget ${BUDGET_BYTES})`);

  const wasm = fetched.find((f) => f.url.endsWith('.wasm'));
  assert.ok(wasm, 'the board fetched the wasm client');
  assert.equal(wasm.encoding, 'br', 'the wasm client came brotli-compressed');
  assert.ok(total <= BUDGET_BYTES, `the join page and the board took ${total} bytes, more than ${BUDGET_BYTES}`);
  // The console's, projector's and start page's code, texts and styles, and
  // the English texts, stay on the server.
  const names = fetched.map((f) => new URL(f.url).pathname);
  for (const chunk of ['FacilitatorPage', 'ProjectorPage', 'StartPage', 'console', 'en', 'en.console', 'QrCode', 'CopyableLink']) {
    const hit = names.find((p) => p.startsWith(`/assets/${chunk}-`));
    assert.equal(hit, undefined, `a participant's phone downloaded ${hit}`);
  }
});
